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
