// Package opencl is the OpenCL backend of dropout ("opencl" in the
// registry), built on github.com/jgillich/go-opencl. It runs on any OpenCL
// 1.2 device: NVIDIA, AMD and Intel GPUs, and CPUs through PoCL.
//
// # Devices
//
// Driver.Devices lists every device of every platform, GPUs first, then
// accelerators, then CPU devices; DeviceInfo.Index is the position in that
// list. Options.Device selects a device by that index or by a
// case-insensitive substring of the device's name, its platform's name or
// its platform's vendor: "pocl" selects PoCL's CPU device (whose name is
// the CPU's), "oclgrind" the Oclgrind simulator. CPU devices and simulators
// are marked Emulated, so dropout.Registry.Open("auto") never picks them.
//
// Open creates one context and one in-order queue on the device, builds the
// kernels (kernels.OpenCL) once, and keeps them until Close. A failed build
// returns the compiler's log inside the error. Close releases every OpenCL
// object the backend made, buffers from Alloc included; closing twice is
// harmless and every other call after Close returns dropout.ErrClosed.
//
// # Conventions
//
// Tensors are host slices or Buffers from this backend's Alloc, mixed
// freely in one call. Host tensors go through staging buffers on the
// device and back, chunk by chunk; Buffers are used in place, with no host
// copy. A Buffer of another backend is dropout.ErrForeignBuffer. A mask
// Buffer is a Uint8 buffer of Mask.Bytes(n) bytes, in the format the
// Params name; Alloc rounds every buffer up to whole 32-bit words because
// the kernels write bit masks a word at a time.
//
// float32 runs on every device; float64 needs cl_khr_fp64 (Backend.DTypes
// says which), and is otherwise dropout.ErrDType. 16-bit types and alpha
// dropout are not implemented (ErrDType, ErrUnsupported).
//
// Every OpenCL call's status is checked in one place, and a failure is an
// error that names the call and the status code, such as
// "opencl: clEnqueueNDRangeKernel: CL_OUT_OF_RESOURCES (-5)". Allocation
// failures, and buffers larger than CL_DEVICE_MAX_MEM_ALLOC_SIZE, match
// dropout.ErrOutOfMemory. No call panics on bad input.
//
// # Kernels and chunks
//
// The kernels implement the stream contract of the root package exactly:
// one Philox4x32-10 block per four consecutive stream words, vector loads
// and stores where a block's four elements are aligned, a select (never a
// multiply by the mask) for the keep decision, 64-bit element indices and
// offsets, and separate copying kernels for p = 0, so that output is a bit
// copy. One work-item serves one unit of work (a Philox block, a mask
// word), and kernels are launched in pieces of at most 2^24 work-items from
// a global offset, so any size fits the device's dispatch limits. A call is
// processed in chunks of at most Options.MaxChunkBytes (64 MiB when
// 0, and never more than CL_DEVICE_MAX_MEM_ALLOC_SIZE) of one tensor; chunks
// start at multiples of 32 elements, so bit-mask bytes are never split, and
// the stream contract makes the chunking invisible in the result. A noise
// shape's mask must fit one allocation.
//
// # Building
//
// Building needs cgo and the OpenCL headers and loader library (Debian's
// ocl-icd-opencl-dev and opencl-headers). On Linux the program does not
// link libOpenCL, though go-opencl asks for it: this package defines the
// OpenCL functions go-opencl calls (loader_stubs.c), each forwarding to the
// implementation found at run time (loader_dl.c): one already in the
// process, such as Oclgrind's runtime that LD_PRELOAD interposes, else
// libOpenCL.so.1 through dlopen, or the library the environment variable
// DROPOUT_OPENCL_LIBRARY names; the linker's --as-needed then drops the
// library from the program's dependencies. A program with this backend so
// starts, and runs its other backends, on a machine without OpenCL, where
// Devices and Open return a *dropout.UnavailableError that says what to
// install. With the loader but no driver they do the same. The build tag
// noopencl, or CGO_ENABLED=0, builds a stand-in Driver instead that reports
// the backend unavailable and needs no OpenCL at all, not even to build.
//
// # Testing
//
// The tests run the conformance suite (dropouttest) on PoCL, once with the
// default chunks and once with 4 KiB chunks, check the kernels' Philox
// against the Random123 known-answer vectors, and run a subset of the
// checks under Oclgrind with its API, data-race and uninitialized-value
// checkers (TestOclgrind runs the test binary again under oclgrind). A
// missing PoCL or Oclgrind skips them, or fails them when
// DROPOUT_REQUIRE_DEVICES is set, as `make test` does. BenchmarkForward and
// BenchmarkCopy measure dropout against the device's own buffer copy.
package opencl
