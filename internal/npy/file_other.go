//go:build !unix

package npy

import "os"

func chown(f *os.File, fi os.FileInfo) {}

func writable(path string) error { return nil }

// Avail returns -1: the free space is not known here.
func (f *File) Avail() int64 { return -1 }
