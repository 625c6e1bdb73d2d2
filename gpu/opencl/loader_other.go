//go:build cgo && !noopencl && !linux

package opencl

// On systems other than Linux, go-opencl links the OpenCL library (the
// OpenCL framework on macOS, OpenCL.lib on Windows) at build time, so an
// implementation is always there once the program has started.
func haveLoader() bool { return true }
