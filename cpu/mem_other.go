//go:build !linux

package cpu

// hostMemory returns 0: the memory size is read only on Linux.
func hostMemory() int64 { return 0 }
