package npy

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/gpudropout/dropout"
)

// File is an output being written. An output whose path names a regular
// file, or nothing yet, is written to a temporary file in the directory of
// the file it replaces (symbolic links followed: the link stays, its
// target is replaced), which Commit syncs and renames into place, so that
// no partial file ever has the output's name, and which Abort removes. The
// replacement keeps the mode (and, where permitted, the owner) of the file
// it replaces; a new file gets mode 0666 less the umask. Any other output
// (a character device such as /dev/null, a FIFO, standard output) is
// written in place as a stream: it cannot be taken back.
type File struct {
	Path   string // the path as given
	target string // the file replaced: Path with symbolic links followed
	tmp    *os.File
	old    os.FileInfo // the file replaced, nil for a new one
	w      *bufio.Writer
	stream io.Closer // a stream's file, closed by Commit and Abort
	isStrm bool
	done   bool
}

// Create starts writing the output at path.
func Create(path string) (*File, error) {
	target, err := resolve(path)
	if err != nil {
		return nil, fileErr(path, err)
	}
	st, err := os.Stat(target)
	switch {
	case err == nil && st.IsDir():
		return nil, fmt.Errorf("%s: is a directory", path)
	case err == nil && !st.Mode().IsRegular():
		// A device, a FIFO: write in place. Opening a FIFO waits for
		// its reader.
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return nil, fileErr(path, err)
		}
		return &File{Path: path, target: target, w: bufio.NewWriterSize(f, 1<<16), stream: f, isStrm: true}, nil
	case err == nil:
		if err := writable(target); err != nil {
			return nil, fileErr(path, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fileErr(path, err)
	default:
		st = nil
	}
	dir := dirOf(target)
	if dst, err := os.Stat(dir); err != nil || !dst.IsDir() {
		return nil, fmt.Errorf("%s: directory %s does not exist", path, dir)
	}
	// A new file is created 0666 less the umask, as the kernel applies
	// it; the replacement of an existing file stays private until
	// Commit gives it the old file's mode.
	perm := os.FileMode(0o666)
	if st != nil {
		perm = 0o600
	}
	tmp, err := live.create(dir, "."+filepath.Base(target)+".tmp-", perm)
	if err != nil {
		return nil, fileErr(path, err)
	}
	return &File{Path: path, target: target, tmp: tmp, old: st, w: bufio.NewWriterSize(tmp, 1<<16)}, nil
}

// NewStream returns an output that writes to w in place (standard
// output); name names it in messages. Commit flushes it; nothing closes w.
func NewStream(w io.Writer, name string) *File {
	return &File{Path: name, target: name, w: bufio.NewWriterSize(w, 1<<16), isStrm: true}
}

// IsStream reports whether the output is written in place.
func (f *File) IsStream() bool { return f.isStrm }

// resolve follows the symbolic links of the last element of path: the
// file a write to path would reach. A path that does not exist (or a link
// to one) resolves to where the file would be created.
func resolve(path string) (string, error) {
	p := path
	for i := 0; ; i++ {
		fi, err := os.Lstat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return p, nil
			}
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		if i == 40 {
			return "", &fs.PathError{Op: "open", Path: path, Err: syscall.ELOOP}
		}
		t, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(t) {
			// Relative to the link's directory, as the kernel reads it:
			// no lexical cleaning, which would get .. wrong across
			// linked directories.
			t = dirOf(p) + string(filepath.Separator) + t
		}
		p = t
	}
}

// dirOf returns the directory part of p without cleaning it.
func dirOf(p string) string {
	p = strings.TrimRight(p, string(filepath.Separator))
	i := strings.LastIndexByte(p, filepath.Separator)
	switch {
	case i < 0:
		return "."
	case i == 0:
		return string(filepath.Separator)
	}
	return p[:i]
}

// live holds the names of the temporary files of this process that are
// neither committed nor aborted, so that RemoveTemps can remove them when
// the process is interrupted. Signals are process-wide, and so is this set.
var live = tempSet{names: map[string]bool{}}

type tempSet struct {
	mu      sync.Mutex
	names   map[string]bool
	stopped bool // RemoveTemps ran: no new temporary files
}

// create makes a temporary file named prefix plus a random suffix in dir
// with mode perm (less the umask) and records it, under the lock, so that
// RemoveTemps either sees it or runs before it exists; after RemoveTemps
// it fails without making a file.
func (s *tempSet) create(dir, prefix string, perm os.FileMode) (*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, errors.New("interrupted")
	}
	for range 100 {
		var r [6]byte
		rand.Read(r[:])
		name := filepath.Join(dir, prefix+hex.EncodeToString(r[:]))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.names[f.Name()] = true
		return f, nil
	}
	return nil, errors.New("cannot create a temporary file")
}

func (s *tempSet) remove(name string) {
	s.mu.Lock()
	delete(s.names, name)
	s.mu.Unlock()
}

// RemoveTemps removes every temporary file that Create made and that was
// not yet committed or aborted, and returns how many it removed; from then
// on Create fails. A program calls it when interrupted (SIGINT, SIGTERM,
// SIGHUP), before it exits, so that no partial output is left behind even
// under a hidden name.
func RemoveTemps() int {
	live.mu.Lock()
	defer live.mu.Unlock()
	live.stopped = true
	n := 0
	for name := range live.names {
		if os.Remove(name) == nil {
			n++
		}
		delete(live.names, name)
	}
	return n
}

// Write writes the array to the output.
func (f *File) Write(shape []int, data dropout.Tensor) error {
	return f.WriteOrder(shape, data, false)
}

// WriteOrder writes the array, row-major data of the given shape, to the
// output in Fortran order when fortran is true (see the function
// WriteOrder).
func (f *File) WriteOrder(shape []int, data dropout.Tensor, fortran bool) error {
	if f.done {
		return fmt.Errorf("%s: already closed", f.Path)
	}
	if err := WriteOrder(f.w, shape, data, fortran); err != nil {
		return fileErr(f.Path, err)
	}
	return nil
}

// Raw returns the output's writer, for writing something other than an
// array (a table, a plot) with the same commit-or-abort discipline.
func (f *File) Raw() io.Writer { return f.w }

// Commit completes the output: a stream is flushed (and its file closed);
// a replacement is flushed, synced, given the mode of the file it
// replaces, renamed over it, and its directory synced.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("%s: already closed", f.Path)
	}
	f.done = true
	if f.tmp == nil {
		err := f.w.Flush()
		if f.stream != nil {
			if cerr := f.stream.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fileErr(f.Path, err)
		}
		return nil
	}
	tmp := f.tmp
	f.tmp = nil
	name := tmp.Name()
	defer live.remove(name)
	err := f.w.Flush()
	if err == nil && f.old != nil {
		chown(tmp, f.old) // where permitted; before chmod, which chown may undo
		err = tmp.Chmod(f.old.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky))
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, f.target)
	}
	if err != nil {
		os.Remove(name)
		return fileErr(f.Path, err)
	}
	if err := syncDir(dirOf(f.target)); err != nil {
		return fileErr(f.Path, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return err
	}
	return nil
}

// Abort removes a temporary file; a stream is closed, its bytes written so
// far cannot be taken back. Abort is harmless after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	if f.stream != nil {
		f.stream.Close()
	}
	if f.tmp == nil {
		return
	}
	name := f.tmp.Name()
	f.tmp.Close()
	os.Remove(name)
	live.remove(name)
	f.tmp = nil
}

// WriteFile writes data with the given shape to path, atomically when path
// is (or will be) a regular file.
func WriteFile(path string, shape []int, data dropout.Tensor) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	if err := f.Write(shape, data); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

// ID identifies a file, to tell whether two paths lead to the same one.
type ID struct {
	fi   os.FileInfo // an existing file (symbolic links followed)
	path string      // a file not there yet: where it would be created
}

// IDOf identifies the file at path: the file it leads to, or for a file
// that does not exist yet, the absolute path it would be created at, its
// directory's symbolic links followed.
func IDOf(path string) (ID, error) {
	target, err := resolve(path)
	if err != nil {
		return ID{}, fileErr(path, err)
	}
	fi, err := os.Stat(target)
	if err == nil {
		return ID{fi: fi}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return ID{}, fileErr(path, err)
	}
	dir := dirOf(target)
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	if d, err := filepath.Abs(dir); err == nil {
		dir = d
	}
	return ID{path: filepath.Join(dir, filepath.Base(target))}, nil
}

// FileID identifies an open file (standard input or output).
func FileID(f *os.File) (ID, error) {
	fi, err := f.Stat()
	if err != nil {
		return ID{}, err
	}
	return ID{fi: fi}, nil
}

// Same reports whether a and b are the same file.
func (a ID) Same(b ID) bool {
	switch {
	case a.fi != nil && b.fi != nil:
		return os.SameFile(a.fi, b.fi)
	case a.fi == nil && b.fi == nil:
		return a.path != "" && a.path == b.path
	}
	return false
}
