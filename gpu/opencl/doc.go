// Package opencl is the OpenCL backend of dropout ("opencl" in the
// registry), built on github.com/jgillich/go-opencl. It runs on any OpenCL
// 1.2 device: NVIDIA, AMD and Intel GPUs, and CPUs through PoCL.
//
// The work of a call (operands, staging, chunks, masks, broadcasting,
// special cases, memory accounting, the queue pool) is the shared GPU
// executor's, gpu/internal/exec; this package is its OpenCL device:
// device discovery, the program build, memory, command queues and the
// mapping of the executor's kernels onto kernels.OpenCL (exec.go).
//
// # Devices
//
// Driver.Devices lists every device of every platform, GPUs first, then
// accelerators, then CPU devices; DeviceInfo.Index is the position in that
// list. Options.Device selects a device under driver.SelectDevice's rule:
// "" the first, a decimal index, or a case-insensitive substring of the
// device's name, its platform's name or its platform's vendor: "pocl"
// selects PoCL's CPU device (whose name is the CPU's), "oclgrind" the
// Oclgrind simulator. CPU devices and simulators are marked Emulated, so
// dropout.Registry.Open("auto") never picks them.
//
// Open creates one context on the device, builds the kernels
// (kernels.OpenCL) once, and keeps them until Close. A failed build returns
// the compiler's log inside the error. Close releases every OpenCL object
// the backend made, buffers from Alloc included; closing twice is harmless
// and every other call after Close returns dropout.ErrClosed, for the
// backend and for its buffers alike.
//
// # Concurrency
//
// A Driver, a Backend and its Buffers are safe for concurrent use by many
// goroutines; share one Backend as you would an *sql.DB. Each call (Forward,
// Backward, Copy, Alloc, Buffer.Read and Buffer.Write) runs on one of the
// executor's queues: here an in-order command queue with its own kernel
// objects (a kernel's arguments are state) and its own staging buffers for
// host tensors. A backend makes up to 4 queues on demand and keeps them
// until Close, so up to 4 calls run side by side on the device; further
// calls wait for a free queue. What is serialised:
//
//   - the calls that share one queue: one call at a time per queue;
//   - the executor's bookkeeping (the queue pool, its buffers, the device
//     memory it holds), under one mutex held only briefly;
//   - a buffer's pin count, under a mutex of the buffer;
//   - process-wide, device enumeration (Devices, and the device lookup of
//     Open) and context creation: clGetPlatformIDs, clGetDeviceIDs and
//     clCreateContext. OpenCL implementations initialise their devices
//     inside these calls, and PoCL (3.1 at least) does so unsafely: a
//     second thread entering while the first initialises gets devices whose
//     fields are still unset, and crashed in clGetDeviceInfo or found "no
//     usable device". The loader shim (loader_dl.c) wraps the three
//     functions for every caller in the program.
//
// Close waits for the calls in flight and makes the calls that have not
// started return dropout.ErrClosed. Buffer.Release during a call that uses
// the buffer marks it released at once (later calls get
// dropout.ErrReleased) and frees its memory when that call ends. Calls
// that write the same tensor at the same time race on its contents, as
// they would on a slice; the result is then one of the writes or a mix,
// never a crash.
//
// # Conventions
//
// Tensors are host slices or Buffers from this backend's Alloc, mixed
// freely in one call. Host tensors go through staging buffers on the
// device and back, chunk by chunk (on a GPU, a call of several chunks
// alternates two queues, with non-blocking reads, so that the host
// stages one chunk while the device computes and returns the other; on
// PoCL and Oclgrind, whose memory is the host's, host tensors of 64 KiB
// or more that start on 128 bytes are used in place instead, as
// CL_MEM_USE_HOST_PTR buffers, and smaller or misaligned ones are staged
// on one queue: two ran slower there, BenchmarkStaged); Buffers are used
// in place, with no host
// copy, and Copy, Buffer.Read and Buffer.Write move a buffer's bytes in
// one clEnqueueCopyBuffer, clEnqueueWriteBuffer or clEnqueueReadBuffer. A
// Buffer of another backend is dropout.ErrForeignBuffer. A mask Buffer is
// a Uint8 buffer of Mask.Bytes(n) bytes, in the format the Params name;
// Alloc rounds every buffer up to whole 32-bit words because the kernels
// write bit masks a word at a time.
//
// float32, float16 and bfloat16 run on every device (16-bit data is
// storage only: vload_half/vstore_half_rte, core OpenCL 1.2, and integer
// operations for bfloat16, computed in float32); float64 needs cl_khr_fp64
// (Backend.DTypes says which), and is otherwise dropout.ErrDType (a buffer
// of any type can still be allocated and copied). Alpha dropout, the fused
// bias + dropout + residual op (Backend implements dropout.Fuser) and
// regions (Params.Global) run on every device; the kernels are compiled
// with FP_CONTRACT OFF, so alpha dropout's A·x + B rounds the product.
//
// Every OpenCL call's status is checked in one place, and a failure is an
// error that names the call and the status code, such as
// "opencl: clEnqueueNDRangeKernel: CL_OUT_OF_RESOURCES (-5)";
// CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_OUT_OF_RESOURCES and
// CL_OUT_OF_HOST_MEMORY wrap dropout.ErrOutOfMemory. No call panics on
// bad input. A released Buffer, used as an operand or through Read or
// Write, is an error wrapping dropout.ErrReleased.
//
// Memory: every allocation (Alloc, and the staging buffers of host
// tensors) is checked before it is made, and refused with an error
// wrapping dropout.ErrOutOfMemory that names the bytes wanted and the
// bytes available when it is larger than CL_DEVICE_MAX_MEM_ALLOC_SIZE,
// than CL_DEVICE_GLOBAL_MEM_SIZE less what the backend already holds (its
// buffers and staging buffers; idle queues' staging buffers are released
// first to make room), or, on a device whose memory is host memory (PoCL,
// Oclgrind: marked Emulated), than the memory the machine and the
// process's cgroups can still give (internal/memlimit), since such devices
// allocate lazily and the kernel's OOM killer would answer instead of an
// error. Element counts whose size overflows are the same error.
//
// # Pipelines
//
// A program with its own OpenCL objects (a context, a device, an in-order
// command queue, its buffers and kernels) embeds dropout between its own
// steps, with no copy through the host and no host wait, as CLBlast's
// routines do (Example_pipeline shows it whole):
//
//   - NewBackend(ctx, dev, q, opts) makes a backend over the caller's
//     context, device and queue. It refuses an out-of-order queue
//     (CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE: dropout.ErrUnsupported), a
//     device that is not one of ctx's and a queue of another context or
//     device (ErrMismatch). It retains ctx, dev and q, so the caller may
//     release its references whenever it likes; it builds its program and
//     kernels in ctx. A backend from Open has the same API: Context,
//     CLDevice and Queue hand out its objects (Queue makes its
//     asynchronous queue on first use).
//   - Wrap(m, off, dt, n) makes n elements of dt from byte offset off of
//     the caller's cl_mem m a dropout.Buffer, without a copy: usable in
//     every call, synchronous or not, as a view (Slice) of it is. m must
//     be a buffer of the backend's context (ErrMismatch otherwise, an
//     image dropout.ErrUnsupported), and off a multiple of dt's size, with
//     off + n·size at most m's CL_MEM_SIZE (dropout.ErrLength otherwise).
//     Nothing else is asked of the offset: the kernels take data at any
//     element offset (views and wrapped buffers whose offset is a
//     multiple of 4 elements use vector accesses, others the kernels'
//     _u forms with vload4/vstore4, which need only the element's
//     alignment; CL_DEVICE_MEM_BASE_ADDR_ALIGN never applies, since no
//     sub-buffer is made). A bit or byte mask view that does not start on
//     a 32-bit word, or does not own the whole words the kernels write, is
//     staged through a scratch buffer by synchronous calls and refused
//     (dropout.ErrUnsupported, naming the rule) by asynchronous ones. The
//     backend neither retains nor releases m: keep it alive while the
//     Buffer is in use. Buffers over one cl_mem are one memory to the
//     backend: operands that overlap there are dropout.ErrOverlap.
//   - Mem(t) returns the cl_mem of a Buffer of this backend (from Alloc,
//     Wrap or Slice) and the byte offset of its element 0, for the
//     caller's kernels and copies: the caller's own cl_mem for a wrapped
//     buffer, otherwise the backend's, which the caller must not release
//     and which stays valid until the buffer it was allocated as is
//     released or the backend closes.
//   - ForwardAsync, BackwardAsync, ForwardFusedAsync and CopyAsync take
//     Buffers of this backend only (a host tensor is
//     dropout.ErrUnsupported: nothing is staged) and an event wait list.
//     They validate as the synchronous calls do, enqueue on Queue (the
//     caller's queue for a backend from NewBackend) a barrier with the
//     wait list (none when it is empty: the queue is in order), then the
//     call's commands, and return the event of the last one, or of a
//     marker when the call has no command: it completes when the call's
//     commands, and everything enqueued on the queue before them, have.
//     Nothing waits on the host: no clFinish, no clWaitForEvents, no
//     blocking transfer. The caller owns the event (a *cl.Event of
//     go-opencl: cl.WaitForEvents, a wait list of its own commands,
//     Release; a finalizer releases it otherwise). A call that needs
//     scratch device memory (a noise shape, a region whose mask is not one
//     run of the stream with MaskNone, a mask view off whole words) is
//     dropout.ErrUnsupported; use the synchronous call. On an error no
//     event is returned, and what was enqueued before the error (the
//     barrier) stays enqueued.
//   - Ordering: the caller's commands enqueued on the same queue before an
//     asynchronous call run before it, and those after it run after it,
//     as on any in-order queue; on other queues, order with the events.
//     The synchronous calls (Forward, Copy, Buffer.Read and Write ...) run
//     on the backend's own queues, not on the caller's: they see the
//     results of asynchronous calls only once their events completed, so
//     wait for those first (the synchronous calls themselves return once
//     their work is done).
//   - Concurrency: the asynchronous calls of one backend share its queue
//     and its kernel objects under a mutex, so any number of goroutines
//     may make them; each call's commands are contiguous on the queue.
//   - Release and Close: Buffer.Release and Close return without waiting
//     for enqueued device work, which completes (OpenCL frees memory and
//     objects once the commands using them are done). Close waits only
//     for calls being enqueued; after it every call is dropout.ErrClosed.
//     It releases what the backend made (program, kernels, its queues,
//     buffers from Alloc) and its references to the caller's context,
//     device and queue, never the caller's own references or cl_mems.
//
// # Kernels and chunks
//
// The kernels implement the stream contract of the root package exactly,
// word indices modulo 2^64 included (the block counter wraps from 2^62 - 1
// to 0): one Philox4x32-10 block per four consecutive stream words, vector
// loads and stores (16 bytes for float32) one work-item apart, data loaded
// before Philox runs, a select (never a multiply by the mask) for the keep
// decision, 32-bit indices within a launch (64-bit stream words and tensor
// positions), and separate copying kernels for p = 0, so that output is a
// bit copy. One work-item serves four elements (one Philox block, two when
// the stream offset is not a multiple of 4); a bit-mask word is assembled
// in local memory from the nibbles of 8 neighbouring work-items. On a GPU
// the program is built with -DGRID_STRIDE and each launch is one enqueue
// of a grid sized to the device (compute units × 2048 work-items) looping
// over the units; on other devices (PoCL) one work-item per unit, which
// its compiler handles better, in enqueues from a global offset (see
// exec.go). A launch covers at most 2^30 elements. Calls on Buffers only
// are one launch per kernel up to that; with host tensors the executor
// stages a call in chunks of at most Options.MaxChunkBytes (64 MiB when
// 0, and never more than CL_DEVICE_MAX_MEM_ALLOC_SIZE) of one tensor;
// chunks start at multiples of 32 elements, so bit-mask bytes are never
// split, and the stream contract makes the chunking invisible in the
// result. No command of a synchronous call makes an event (a call waits
// with clFinish), and a queue's kernel objects keep their arguments, which
// are set only when they change. A noise shape's mask must fit one allocation, and is written even
// over an empty tensor (a noise shape [3 1 4] over a [3 0 4] tensor draws
// 12 mask elements).
//
// # Building
//
// Building needs cgo and the OpenCL headers and loader library (Debian's
// ocl-icd-opencl-dev and opencl-headers). On Linux the program does not
// link libOpenCL, though go-opencl asks for it: this package defines the
// OpenCL functions go-opencl calls (loader_stubs.c, which internal/genstubs
// generates from go-opencl and CL/cl.h), each forwarding to the
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
// The tests run the conformance suite (dropouttest) on PoCL with the
// default chunks, with 4 KiB chunks and with small launches, check the
// kernels' Philox against the Random123 known-answer vectors
// (internal/philox/kat.txt) and across the wrap of the block counter,
// check calls whose stream words wrap modulo 2^64 against the reference,
// share backends between goroutines (calls, Close and Release during
// calls, and concurrent Open, Close and Devices as the first OpenCL calls
// of a fresh process), check misuse and memory limits, run a subset of the
// checks, and Example_pipeline, under Oclgrind with its API, data-race and
// uninitialized-value checkers (TestOclgrind runs the test binary again
// under oclgrind), and
// check that loader_stubs.c is what internal/genstubs makes (the OpenCL
// functions of go-opencl and of this package). Run them with
// -race. TestOps checks 16-bit data, alpha dropout, the fused op and
// regions against the reference (exectest.CheckOps), with flat and
// grid-stride launches. A missing PoCL or Oclgrind skips them, or fails
// them when DROPOUT_REQUIRE_DEVICES is set, as `make test` does.
// TestWrapOffsets, TestMem, TestNewBackendChecks, TestAsync and
// TestAsyncConcurrent check the pipeline API on the test's own context and
// queue, and TestConformance runs the suite on wrapped cl_mems
// (dropouttest.Config.Wrap) and on a backend from NewBackend.
// BenchmarkForward and BenchmarkCopy measure dropout against the device's
// own buffer copy, BenchmarkMasks each mask format, BenchmarkSmall the
// rate of small synchronous calls and BenchmarkEmptyKernel its floor;
// BenchmarkPipeline 1,000 asynchronous calls against 1,000 synchronous
// ones.
package opencl

//go:generate go run ./internal/genstubs -o loader_stubs.c
