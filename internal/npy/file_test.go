//go:build unix

package npy

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/gpudropout/dropout"
)

// npyBytes is the file WriteFile writes for shape and data.
func npyBytes(t *testing.T, shape []int, data dropout.Tensor) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, shape, data); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// noTemps fails if dir holds a temporary file of ours.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

// TestWriteThroughSymlink writes to symbolic links: the link stays, the
// file it points to is replaced (in its own directory), and a dangling
// link creates its target.
func TestWriteThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "data", "real.npy")
	os.Mkdir(filepath.Dir(real), 0o755)
	if err := os.WriteFile(real, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.npy")
	if err := os.Symlink("data/real.npy", link); err != nil {
		t.Fatal(err)
	}
	link2 := filepath.Join(dir, "link2.npy") // a link to a link
	if err := os.Symlink("link.npy", link2); err != nil {
		t.Fatal(err)
	}
	x := dropout.Float32s{1, 2, 3}
	if err := WriteFile(link2, []int{3}, x); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{link, link2} {
		if fi, err := os.Lstat(l); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symbolic link: %v %v", l, fi.Mode(), err)
		}
	}
	fi, err := os.Stat(real)
	if b, _ := os.ReadFile(real); err != nil || !bytes.Equal(b, npyBytes(t, []int{3}, x)) || fi.Mode().Perm() != 0o640 {
		t.Errorf("the link's target was not replaced in place: %q, mode %v", b, fi.Mode())
	}
	noTemps(t, dir)
	noTemps(t, filepath.Dir(real))

	// A dangling link: the file it names is created, the link stays.
	dangling := filepath.Join(dir, "dangling.npy")
	os.Symlink("data/new.npy", dangling)
	if err := WriteFile(dangling, []int{3}, x); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(dangling); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("dangling link replaced: %v", err)
	}
	if a, err := ReadFile(filepath.Join(dir, "data", "new.npy")); err != nil || a.Data.Len() != 3 {
		t.Errorf("dangling link's target: %v %v", a, err)
	}
	// A loop is an error, not a hang.
	loop := filepath.Join(dir, "loop.npy")
	os.Symlink("loop.npy", loop)
	if err := WriteFile(loop, []int{3}, x); err == nil {
		t.Error("writing through a symlink loop succeeded")
	}
}

// TestWriteKeepsMode checks the modes of replaced and new files: an
// existing file keeps its mode, a new one gets 0666 less the umask.
func TestWriteKeepsMode(t *testing.T) {
	dir := t.TempDir()
	private := filepath.Join(dir, "private.npy")
	if err := os.WriteFile(private, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	x := dropout.Float64s{1}
	if err := WriteFile(private, []int{1}, x); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(private); fi.Mode().Perm() != 0o600 {
		t.Errorf("a 0600 file became %v", fi.Mode().Perm())
	}
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	fresh := filepath.Join(dir, "fresh.npy")
	if err := WriteFile(fresh, []int{1}, x); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o640 {
		t.Errorf("a new file under umask 027 has mode %v, want 0640", fi.Mode().Perm())
	}
	syscall.Umask(0)
	fresh2 := filepath.Join(dir, "fresh2.npy")
	if err := WriteFile(fresh2, []int{1}, x); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(fresh2); fi.Mode().Perm() != 0o666 {
		t.Errorf("a new file under umask 0 has mode %v, want 0666", fi.Mode().Perm())
	}
}

// TestWriteFIFO writes to a FIFO: in place, as a stream, to its reader.
func TestWriteFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "out.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	x := dropout.Float32s{1, 2, 3, 4}
	got := make(chan []byte)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- b
	}()
	if err := WriteFile(fifo, []int{2, 2}, x); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, npyBytes(t, []int{2, 2}, x)) {
		t.Errorf("the FIFO's reader got %q", b)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", fi.Mode(), err)
	}
	noTemps(t, dir)
}

// charDevice returns a character device to write to: a null device made
// in dir (as root), or /dev/null, whose replacement (by a broken writer)
// the caller's cleanup detects and repairs.
func charDevice(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "null")
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err == nil {
		return p
	}
	t.Cleanup(func() {
		if fi, err := os.Lstat("/dev/null"); err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
			t.Errorf("/dev/null was replaced (%v, %v); restoring it", fi.Mode(), err)
			os.Remove("/dev/null")
			syscall.Mknod("/dev/null", syscall.S_IFCHR|0o666, 1<<8|3)
			os.Chmod("/dev/null", 0o666)
		}
	})
	return "/dev/null"
}

// TestWriteCharDevice writes to a character device (a null device) and
// through a symbolic link to one: it stays a device.
func TestWriteCharDevice(t *testing.T) {
	dir := t.TempDir()
	dev := charDevice(t, dir)
	link := filepath.Join(dir, "null-link")
	os.Symlink(dev, link)
	for _, p := range []string{dev, link} {
		if err := WriteFile(p, []int{2}, dropout.Float32s{1, 2}); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
			t.Fatalf("%s is no longer a character device: %v %v", p, fi.Mode(), err)
		}
	}
	noTemps(t, dir)
	noTemps(t, filepath.Dir(dev))
}

// TestReadStream reads .npy data from a FIFO and from a pipe, where the
// size is not known in advance.
func TestReadStream(t *testing.T) {
	dir := t.TempDir()
	x := dropout.Float64s{1, -2, 3.5, 4, 5, 6}
	file := npyBytes(t, []int{3, 2}, x)
	fifo := filepath.Join(dir, "in.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	feed := func(b []byte) {
		go func() {
			f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			f.Write(b)
			f.Close()
		}()
	}
	feed(file)
	a, err := ReadFile(fifo)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Shape, []int{3, 2}) || !slices.Equal([]float64(a.Data.(dropout.Float64s)), []float64(x)) {
		t.Errorf("read %v %v", a.Shape, a.Data)
	}
	feed(file[:len(file)-5])
	if _, err := ReadFile(fifo); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "truncated data (43 of 48 bytes") {
		t.Errorf("truncated stream: %v", err)
	}
	feed(append(slices.Clone(file), 1, 2, 3))
	if _, err := ReadFile(fifo); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "3 bytes of unexpected data") {
		t.Errorf("trailing data: %v", err)
	}
	// A pipe (standard input) through OpenReader, a mask too.
	r, w, _ := os.Pipe()
	go func() { w.Write(npyBytes(t, []int{1}, dropout.Bytes{0x3f})); w.Close() }()
	in, err := OpenReader(r, "-")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := in.ReadMask(dropout.MaskBits, []int{2, 3}); err != nil || m[0] != 0x3f {
		t.Errorf("mask from a pipe: %v %v", m, err)
	}
}

// TestSameFile identifies files through symbolic links, hard links and
// linked directories, existing or not.
func TestSameFile(t *testing.T) {
	dir := t.TempDir()
	o := filepath.Join(dir, "o")
	os.Mkdir(o, 0o755)
	os.Symlink("o", filepath.Join(dir, "o2"))
	a := filepath.Join(o, "a.npy")
	os.WriteFile(a, nil, 0o644)
	os.Link(a, filepath.Join(dir, "hard.npy"))
	os.Symlink("o/a.npy", filepath.Join(dir, "sym.npy"))
	os.Symlink("o/new.npy", filepath.Join(dir, "dangling.npy"))
	id := func(p string) ID {
		t.Helper()
		i, err := IDOf(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	for _, pair := range [][2]string{
		{"o/a.npy", "o2/a.npy"}, {"o/a.npy", "hard.npy"}, {"o/a.npy", "sym.npy"}, {"o/a.npy", "o/../o/a.npy"},
		{"o/new.npy", "o2/new.npy"}, {"o/new.npy", "dangling.npy"}, {"o2/b.npy", "./o/b.npy"},
	} {
		if !id(pair[0]).Same(id(pair[1])) {
			t.Errorf("%s and %s are not the same file", pair[0], pair[1])
		}
	}
	for _, pair := range [][2]string{{"o/a.npy", "o/b.npy"}, {"o/a.npy", "o/new.npy"}, {"o/b.npy", "o/c.npy"}} {
		if id(pair[0]).Same(id(pair[1])) {
			t.Errorf("%s and %s are the same file", pair[0], pair[1])
		}
	}
	f, _ := os.Open(filepath.Join(dir, "hard.npy"))
	defer f.Close()
	if fid, err := FileID(f); err != nil || !fid.Same(id("o2/a.npy")) {
		t.Errorf("an open file is not the file it opened: %v", err)
	}
}

// TestWriteReadOnly refuses to replace a file its owner made read-only.
func TestWriteReadOnly(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may write any file")
	}
	p := filepath.Join(t.TempDir(), "ro.npy")
	os.WriteFile(p, []byte("keep"), 0o444)
	if err := WriteFile(p, []int{1}, dropout.Float32s{1}); err == nil {
		t.Error("replaced a read-only file")
	}
	if b, _ := os.ReadFile(p); string(b) != "keep" {
		t.Errorf("read-only file now holds %q", b)
	}
}
