//go:build unix

package main

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/internal/memlimit"
)

var runArgs = []string{"run", "--p", "0.5", "--seed", "1", "--backend", "cpu"}

func args(extra ...string) []string { return append(slices.Clone(runArgs), extra...) }

// noTemps fails if dir holds a temporary file.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

// nullDevice returns a null character device: one made in dir (as root),
// or /dev/null, whose replacement the cleanup detects and repairs.
func nullDevice(t *testing.T, dir string) string {
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

// TestOutputKinds writes outputs of every kind: a device stays a device, a
// FIFO gets the data, "-" writes to stdout (and the summary moves to
// stderr), a symbolic link stays and its target is replaced, an existing
// file keeps its mode.
func TestOutputKinds(t *testing.T) {
	dir := t.TempDir()
	x := dropouttest.Data(dropout.Float32, 1000, 3)
	put(t, dir, "x.npy", []int{10, 100}, x)
	ref := filepath.Join(dir, "ref.npy")
	if r := cli(t, dir, args("--in", "x.npy", "--out", ref, "--mask-out", "refm.npy")...); r.err != nil {
		t.Fatal(r.err)
	}
	want, _ := os.ReadFile(ref)
	wantMask, _ := os.ReadFile(filepath.Join(dir, "refm.npy"))

	// A character device.
	null := nullDevice(t, dir)
	if r := cli(t, dir, args("--in", "x.npy", "--out", null, "--mask-out", "m1.npy")...); r.err != nil {
		t.Fatal(r.err)
	}
	if fi, err := os.Stat(null); err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a character device: %v %v", null, fi.Mode(), err)
	}
	noTemps(t, filepath.Dir(null))

	// A FIFO, read as the command writes it.
	fifo := filepath.Join(dir, "out.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
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
	if r := cli(t, dir, args("--in", "x.npy", "--out", "out.fifo")...); r.err != nil {
		t.Fatal(r.err)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Errorf("the FIFO's reader got %d bytes, want %d", len(b), len(want))
	}
	if fi, _ := os.Lstat(fifo); fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v", fi.Mode())
	}

	// Standard output: the array there, the summary on stderr.
	r := cli(t, dir, args("--in", "x.npy", "--out", "y.npy", "--mask-out", "-")...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.stdout != string(wantMask) || !strings.Contains(r.stderr, "wrote -: bits mask") {
		t.Errorf("stdout holds %d bytes (want the mask's %d), stderr %q", len(r.stdout), len(wantMask), r.stderr)
	}

	// A symbolic link, to a file that keeps its mode.
	os.Mkdir(filepath.Join(dir, "data"), 0o755)
	target := filepath.Join(dir, "data", "y.npy")
	os.WriteFile(target, []byte("old"), 0o600)
	os.Symlink("data/y.npy", filepath.Join(dir, "link.npy"))
	if r := cli(t, dir, args("--in", "x.npy", "--out", "link.npy")...); r.err != nil {
		t.Fatal(r.err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "link.npy")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("link.npy is no longer a link: %v", err)
	}
	b, _ := os.ReadFile(target)
	if fi, _ := os.Stat(target); !bytes.Equal(b, want) || fi.Mode().Perm() != 0o600 {
		t.Errorf("the link's target: %d bytes, mode %v; want %d bytes, 0600", len(b), fi.Mode().Perm(), len(want))
	}
	noTemps(t, dir)
	noTemps(t, filepath.Join(dir, "data"))
}

// TestStreamInputs reads the input from stdin ("-") and from a FIFO.
func TestStreamInputs(t *testing.T) {
	dir := t.TempDir()
	put(t, dir, "x.npy", []int{10, 100}, dropouttest.Data(dropout.Float32, 1000, 3))
	if r := cli(t, dir, args("--in", "x.npy", "--out", "ref.npy")...); r.err != nil {
		t.Fatal(r.err)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "ref.npy"))
	x, _ := os.ReadFile(filepath.Join(dir, "x.npy"))

	old := stdin
	stdin = bytes.NewReader(x)
	r := cli(t, dir, args("--in", "-", "--out", "y.npy")...)
	stdin = old
	if r.err != nil {
		t.Fatal(r.err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "y.npy")); !bytes.Equal(b, want) {
		t.Error("output from stdin differs")
	}
	// The gradient from stdin, the mask from a file.
	if r := cli(t, dir, args("--in", "x.npy", "--out", "y2.npy", "--mask-out", "m.npy")...); r.err != nil {
		t.Fatal(r.err)
	}
	stdin = bytes.NewReader(x)
	r = cli(t, dir, "backward", "--grad", "-", "--mask", "m.npy", "--out", "-", "--p", "0.5", "--backend", "cpu")
	stdin = old
	if r.err != nil || !bytes.Equal([]byte(r.stdout), want) {
		t.Errorf("backward from stdin to stdout: %v, %d bytes", r.err, len(r.stdout))
	}

	fifo := filepath.Join(dir, "in.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	feed := func(b []byte) {
		go func() {
			f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err == nil {
				f.Write(b)
				f.Close()
			}
		}()
	}
	feed(x)
	if r := cli(t, dir, args("--in", "in.fifo", "--out", "z.npy")...); r.err != nil {
		t.Fatal(r.err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "z.npy")); !bytes.Equal(b, want) {
		t.Error("output from a FIFO differs")
	}
	feed(x[:len(x)-128])
	if r := cli(t, dir, args("--in", "in.fifo", "--out", "z2.npy")...); r.err == nil || !strings.Contains(r.err.Error(), "truncated data (3872 of 4000 bytes") {
		t.Errorf("truncated FIFO: %v", r.err)
	}
}

// TestSameFiles refuses outputs that are the same file as each other or as
// an input, through links, before writing anything.
func TestSameFiles(t *testing.T) {
	dir := t.TempDir()
	put(t, dir, "x.npy", []int{10}, dropouttest.Data(dropout.Float32, 10, 3))
	x, _ := os.ReadFile(filepath.Join(dir, "x.npy"))
	os.Mkdir(filepath.Join(dir, "o"), 0o755)
	os.Symlink("o", filepath.Join(dir, "o2"))
	os.Link(filepath.Join(dir, "x.npy"), filepath.Join(dir, "hard.npy"))
	os.Symlink("x.npy", filepath.Join(dir, "xlink.npy"))
	put(t, dir, "m.npy", []int{2}, dropout.Bytes{0, 0})
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{args("--in", "x.npy", "--out", "o/a.npy", "--mask-out", "o2/a.npy"), "--mask-out o2/a.npy is the same file as --out o/a.npy"},
		{args("--in", "x.npy", "--out", "y.npy", "--mask-out", "x.npy"), "--mask-out x.npy is the same file as --in x.npy"},
		{args("--in", "x.npy", "--out", "hard.npy"), "--out hard.npy is the same file as --in x.npy"},
		{args("--in", "xlink.npy", "--out", "x.npy"), "--out x.npy is the same file as --in xlink.npy"},
		{args("--in", "x.npy", "--out", "-", "--mask-out", "-"), "--mask-out - is the same file as --out -"},
		{[]string{"backward", "--grad", "x.npy", "--mask", "m.npy", "--out", "./m.npy", "--p", "0.5"}, "--out ./m.npy is the same file as --mask m.npy"},
		{[]string{"backward", "--grad", "-", "--mask", "-", "--out", "dx.npy", "--p", "0.5"}, "--grad - and --mask - both read standard input"},
		{[]string{"bench", "--json", "b.json", "--csv", "./b.json"}, "--csv ./b.json is the same file as --json b.json"},
	} {
		before := files(t, dir)
		r := cli(t, dir, tc.args...)
		if r.err == nil || !strings.Contains(r.err.Error(), tc.msg) {
			t.Errorf("%v: got %v, want %q", tc.args, r.err, tc.msg)
		}
		if after := files(t, dir); !slices.Equal(after, before) {
			t.Errorf("%v: files %v after, %v before", tc.args, after, before)
		}
		if es, _ := os.ReadDir(filepath.Join(dir, "o")); len(es) != 0 {
			t.Errorf("%v: wrote into o: %v", tc.args, es)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "x.npy")); !bytes.Equal(b, x) {
			t.Fatalf("%v: the input was overwritten", tc.args)
		}
	}
}

// TestBadFlagValues checks strict numbers and one-line flag errors: no
// usage text.
func TestBadFlagValues(t *testing.T) {
	dir := t.TempDir()
	put(t, dir, "x.npy", []int{10}, dropouttest.Data(dropout.Float32, 10, 3))
	base := []string{"run", "--in", "x.npy", "--out", "y.npy", "--p", "0.5", "--seed", "1", "--backend", "cpu"}
	for _, extra := range [][]string{
		{"--seed", "1_0"}, {"--seed", "010"}, {"--seed", "0b11"}, {"--seed", "0o7"}, {"--seed", "+5"}, {"--seed", " 5"},
		{"--offset", "0x_f"}, {"--p", "0.1_0"}, {"--p", "0x1p-1"}, {"--p", "half"}, {"--noise-shape", "+10"},
	} {
		r := cli(t, dir, append(slices.Clone(base), extra...)...)
		if r.err == nil || strings.Contains(r.err.Error(), "\n") || r.stderr != "" || r.stdout != "" {
			t.Errorf("%v: error %v, stderr %q", extra, r.err, r.stderr)
		}
	}
	for _, a := range [][]string{{"bench", "--iters", "1_0"}, {"bench", "--iters", "0x10"}, {"bench", "--sizes", "+1K"}, {"bench", "--sizes", "1_0K"}} {
		r := cli(t, dir, a...)
		if r.err == nil || r.stderr != "" {
			t.Errorf("%v: error %v, stderr %q", a, r.err, r.stderr)
		}
	}
	// What is valid stays valid: hex seeds, decimal p in any form.
	for _, extra := range [][]string{{"--seed", "0x1F"}, {"--seed", "0"}, {"--seed", "18446744073709551615"}, {"--p", ".5"}, {"--p", "5e-1"}, {"--p", "1"}} {
		a := append(slices.Clone(base), extra...)
		if extra[0] == "--p" {
			a = append(a, "--seed", "1")
		}
		if r := cli(t, dir, a...); r.err != nil {
			t.Errorf("%v: %v", extra, r.err)
		}
	}
	// --seed 10 is 10, not 8 or 16.
	r1 := cli(t, dir, append(slices.Clone(base), "--seed", "10", "--out", "a.npy")...)
	r2 := cli(t, dir, append(slices.Clone(base), "--seed", "0xa", "--out", "b.npy")...)
	if r1.err != nil || r2.err != nil {
		t.Fatal(r1.err, r2.err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "a.npy"))
	b, _ := os.ReadFile(filepath.Join(dir, "b.npy"))
	if !bytes.Equal(a, b) {
		t.Error("--seed 10 and --seed 0xa differ")
	}
	// -h still prints the usage.
	if r := cli(t, dir, "run", "-h"); !strings.Contains(r.stderr, "usage: dropout run") || !strings.Contains(r.stderr, "-seed") {
		t.Errorf("run -h: %q", r.stderr)
	}
}

// withMemLimit makes the command see only n bytes of memory available.
func withMemLimit(t *testing.T, n int64) {
	old := memLimit
	memLimit = func() memlimit.Limit { return memlimit.Limit{Bytes: n, Source: "test limit"} }
	t.Cleanup(func() { memLimit = old })
}

// TestMemoryCheck runs run and backward with less memory available than
// input, output and mask need: one line naming both numbers, and no file.
func TestMemoryCheck(t *testing.T) {
	dir := t.TempDir()
	put(t, dir, "x.npy", []int{1000}, dropouttest.Data(dropout.Float32, 1000, 3))
	if r := cli(t, dir, args("--in", "x.npy", "--out", "y.npy", "--mask-out", "m.npy")...); r.err != nil {
		t.Fatal(r.err)
	}
	inputs := files(t, dir)
	// 4000 in + 4000 out + 125 mask.
	withMemLimit(t, 8124)
	for _, a := range [][]string{
		args("--in", "x.npy", "--out", "y2.npy", "--mask-out", "m2.npy"),
		{"backward", "--grad", "x.npy", "--mask", "m.npy", "--out", "dx.npy", "--p", "0.5", "--backend", "cpu"},
	} {
		r := cli(t, dir, a...)
		if !errors.Is(r.err, dropout.ErrOutOfMemory) || strings.Contains(r.err.Error(), "\n") ||
			!strings.Contains(r.err.Error(), "out of memory: x.npy (float32 (1000,)) with its output and mask needs 7.9 KiB (8125 bytes), but only 7.9 KiB (8124 bytes) available (test limit)") {
			t.Errorf("%s: %v", a[0], r.err)
		}
		if got := files(t, dir); !slices.Equal(got, inputs) {
			t.Errorf("%s: files %v", a[0], got)
		}
	}
	withMemLimit(t, 8125)
	if r := cli(t, dir, args("--in", "x.npy", "--out", "y2.npy", "--mask-out", "m2.npy")...); r.err != nil {
		t.Errorf("8125 bytes in 8125: %v", r.err)
	}
}

// command runs the test binary as the dropout command in dir.
func command(t *testing.T, dir string, a ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, a...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DROPOUT_TEST_MAIN=1")
	return cmd
}

// TestHugeInputFailsCleanly reads a sparse file whose header declares
// 4 TiB of data, and benchmarks a size that needs terabytes, in a
// process of their own: each fails with one line naming what is needed
// and what is available, status 1, and no output file; nothing is
// allocated (the kernel would refuse, or kill).
func TestHugeInputFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	hdr := rawNpy("<f4", false, []int{1 << 40}, nil)
	f, err := os.Create(filepath.Join(dir, "huge.npy"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write(hdr)
	err = f.Truncate(int64(len(hdr)) + 4<<40)
	f.Close()
	if err != nil {
		t.Skip("no sparse files here:", err)
	}
	if l := memlimit.System(); l.Bytes < 0 || l.Bytes > 1<<40 {
		t.Skipf("cannot tell the memory available, or more than 1 TiB is: %v", l)
	}
	for _, a := range [][]string{
		{"run", "--in", "huge.npy", "--out", "y.npy", "--p", "0.5", "--seed", "1", "--mask-out", "m.npy", "--backend", "cpu"},
		{"bench", "--backend", "cpu", "--sizes", "1K,1024G", "--iters", "1", "--json", "b.json"},
	} {
		cmd := command(t, dir, a...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		var ee *exec.ExitError
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		// run streams a file that does not fit in memory: it needs 8 TiB
		// of disk for its outputs instead.
		want := "out of memory"
		if a[0] == "run" {
			want = "not enough disk space"
		}
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || len(lines) != 1 ||
			!strings.Contains(lines[0], want) || !strings.Contains(lines[0], "TiB") || !strings.Contains(lines[0], "free") && !strings.Contains(lines[0], "available (") {
			t.Errorf("%s: %v after %v, stderr (%d lines):\n%s", a[0], err, time.Since(start), len(lines), stderr.String())
		}
		if got := files(t, dir); !slices.Equal(got, []string{"huge.npy"}) {
			t.Errorf("%s: files %v", a[0], got)
		}
	}
}

// TestSignalsRemoveTemps interrupts the command while it writes: with
// one output complete in its temporary file, it waits to open a FIFO no
// one reads. SIGINT, SIGTERM and SIGHUP all remove the temporary file and
// exit with 128 plus the signal's number.
func TestSignalsRemoveTemps(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			put(t, dir, "x.npy", []int{1000}, dropouttest.Data(dropout.Float32, 1000, 3))
			if err := syscall.Mkfifo(filepath.Join(dir, "m.fifo"), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := command(t, dir, args("--in", "x.npy", "--out", "y.npy", "--mask-out", "m.fifo")...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			deadline := time.Now().Add(60 * time.Second)
			for {
				if m, _ := filepath.Glob(filepath.Join(dir, ".y.npy.tmp-*")); len(m) > 0 {
					break
				}
				select {
				case err := <-done:
					t.Fatalf("the command ended before writing (%v): %s", err, stderr.String())
				case <-time.After(10 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatal("no temporary file appeared")
				}
			}
			time.Sleep(50 * time.Millisecond) // the writer is now blocked on the FIFO
			cmd.Process.Signal(sig)
			var err error
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatal("the command did not exit")
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) || !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("exit %v, stderr %q; want status %d", err, stderr.String(), 128+int(sig))
			}
			if got := files(t, dir); !slices.Equal(got, []string{"m.fifo", "x.npy"}) {
				t.Errorf("files after %v: %v", sig, got)
			}
		})
	}
}
