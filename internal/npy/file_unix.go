//go:build unix

package npy

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// chown gives f the owner and group of fi, where this process may.
func chown(f *os.File, fi os.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		f.Chown(int(st.Uid), int(st.Gid))
	}
}

// writable reports an existing file this process may not write: replacing
// it would clobber what its owner protected.
func writable(path string) error {
	if err := unix.Access(path, unix.W_OK); err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	return nil
}

// Avail returns the bytes free to this process on the file system a
// replacement output is written to, or -1 for a stream or when unknown.
func (f *File) Avail() int64 {
	if f.tmp == nil {
		return -1
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.tmp.Fd()), &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
