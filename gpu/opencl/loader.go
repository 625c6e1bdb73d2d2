//go:build cgo && !noopencl && linux

package opencl

// The OpenCL ICD loader is found at run time, not linked: loader_stubs.c
// defines every OpenCL function go-opencl calls, each forwarding to the
// implementation that loader_dl.c finds on first use: one already in the
// process (such as Oclgrind's, which LD_PRELOAD interposes), else
// libOpenCL.so.1 opened with dlopen (or the library DROPOUT_OPENCL_LIBRARY
// names). With those definitions in the program, the linker's --as-needed
// drops go-opencl's link-time dependency on libOpenCL, so a program that
// includes this backend starts, and runs its other backends, on a machine
// without OpenCL; the opencl backend then reports itself unavailable.
//
// loader_dl.c also serialises clGetPlatformIDs, clGetDeviceIDs and
// clCreateContext for the whole program: implementations initialise their
// devices inside them, and PoCL does so unsafely when two threads make
// their first calls at once (see the comment there).

// #cgo LDFLAGS: -Wl,--as-needed -ldl
// #include "loader.h"
import "C"

// haveLoader reports whether an OpenCL implementation can be found.
func haveLoader() bool { return C.dropout_cl_available() != 0 }
