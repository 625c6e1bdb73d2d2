// Package exec is the executor the GPU backends share: it plans and runs
// Forward, Backward, Copy, Alloc and Buffer.Read/Write over a small
// Device interface, so that a backend (gpu/opencl, gpu/vulkan) implements
// only that interface, its driver and device discovery. It follows
// Kompute's split (a Manager that allocates, Algorithms, a Sequence that
// records and waits: here Device, Kernel, Queue) and tinygrad's "a backend
// supplies an allocator and a program".
//
// # What the executor does
//
//   - validation, with driver.NewPlan (driver.NewFusedPlan for
//     ForwardFused, the dropout.Fuser op); data types outside Info.DTypes
//     are ErrDType, and alpha dropout, the fused op and regions are
//     ErrUnsupported where Info.Caps says no;
//   - 16-bit data (Float16, BFloat16, where Info.DTypes lists them):
//     2-byte elements, chunked by 32 elements as any other type (data
//     views on 64 bytes); a Zero launch covers the buffer's last word;
//   - alpha dropout: forward launches with Args.Alpha and the plan's
//     coefficients, backward the plain kernels with Scale A; p = 0 and
//     p = 1 as for plain dropout (Copy, Zero, CopyKept, DropAll);
//   - the fused op: the bias is put on the device whole, once (a buffer in
//     place, or uploaded to a staging buffer); the residual is an operand
//     like x, staged chunk by chunk; Gen and Apply kernels take them
//     (Args.B, Args.R). p = 0 and p = 1 still launch the kernels (y = r +
//     (x + b), y = r + 0 are no copies);
//   - regions: a region whose mask is one run of the stream is a call at
//     a shifted Offset (driver.NewPlan does that); otherwise (Plan.Words)
//     the mask is made first by MaskBits/MaskBytes with Args.Words, into
//     the stored mask or a scratch bit mask, and the data read it through
//     Apply kernels, as for a noise shape;
//   - operands: host tensors (host slices and driver.NewHostBuffer
//     buffers) are staged through the queue's staging buffers; Buffers of
//     this backend are used in place, pinned for the call; a released
//     Buffer is ErrReleased, a Buffer of another backend or any other
//     tensor ErrForeignBuffer, and everything after Close ErrClosed;
//   - buffers are memory the backend allocated (Alloc), memory of the
//     caller's it wraps (Wrap: never freed here), or views of either
//     (Buffer.Slice) from any element on. Kernels address a view through
//     its byte offset, a multiple of the element size; where a kernel
//     would touch whole 32-bit words that are not the view's (a mask view
//     off a word, or whose last word is another view's; 16-bit data off
//     a word on an Info.WordData device), the call stages the view
//     through a staging buffer with Copy launches in and out. Operands
//     that share memory must be the same tensor or disjoint, otherwise
//     ErrOverlap: driver.CheckOverlap, which sees buffers through their
//     Extent (the same Mem and bytes for views and wraps of one memory);
//   - asynchronous calls (ForwardOn, BackwardOn, ForwardFusedOn, CopyOn)
//     queue a call on a Queue the device made over the caller's own queue
//     or command buffer and return without a Wait: buffers only, no
//     staging (what would need it is ErrUnsupported, naming why);
//   - chunks: a call runs in chunks of a multiple of 32 elements (so a bit
//     mask byte or word is never split), at most Info.MaxLaunchBytes bytes
//     and Info.MaxLaunchElems elements and, when a tensor of the call is
//     on the host, at most Options.MaxChunkBytes (DefaultChunkBytes when
//     0) and MaxAlloc bytes; a call on device buffers only is otherwise
//     one launch per kernel. Chunk c of the mask starts at byte lo/8
//     (bits) or lo (bytes) and its stream at word Offset+lo. On an
//     Info.Overlap device, a call staging host data in several chunks
//     takes a second queue when one is free (and the device has room for
//     its staging buffers) and alternates the two, each finishing its
//     chunk k-2 before it takes chunk k and flushing chunk k once queued
//     (Flusher: a Vulkan queue submits it then, an OpenCL queue calls
//     clFlush): the host stages one chunk while the device computes and
//     downloads the other;
//   - noise shapes: the whole mask is made first (MaskBits/MaskBytes into
//     the mask tensor, or into a scratch bit mask without one) or, for
//     backward, uploaded; then Apply kernels read it through the canonical
//     dims of the plan with their mask strides. An empty tensor with a
//     non-empty noise shape still has its stored mask written;
//   - special cases: p = 0 without a mask is a Copy of the data and p = 1
//     without a mask a Zero; with a mask, Args.CopyKept (p = 0) and
//     Args.DropAll (p = 1) go to the kernels;
//   - Copy in all four directions: between buffers a Copy launch, between
//     the host and a buffer an upload or download straight into or out of
//     the buffer, and between host tensors a round trip through the device;
//   - memory: every allocation, staging buffers included, is checked
//     against Info.MaxAlloc and Info.Memory less what the backend holds
//     (idle queues' staging buffers are freed first to make room), and for
//     Info.HostMemory against the machine's and cgroups' memory; a refusal
//     is an error wrapping ErrOutOfMemory that names the bytes wanted and
//     available. New buffers are zeroed with a Zero launch;
//   - concurrency: a Backend and its Buffers are safe for concurrent use.
//     Each call takes a queue of its own (up to Info.Queues, made on
//     demand; a device with one queue, such as Vulkan's one sequence,
//     serialises calls) with its own staging buffers. Close waits for calls
//     in flight; Release during a call frees the memory when the call ends.
//
// # Conventions
//
// Every offset the executor hands a device is a byte offset in a View.
// Data views start on a multiple of 32 elements of their tensor (whose
// element 0 may be anywhere in its memory: any multiple of the element
// size), mask views on a multiple of 4 bytes, and Apply's mask view at
// the mask's element 0; every allocation and staging buffer is a whole
// number of 32-bit words, and a mask view is one whose whole words are
// its own, so kernels may load and store masks a word at a time. Uploads
// into staging buffers are whole words (the last chunk of a byte mask is
// padded with zeros); uploads straight into a buffer (Copy) are exact. A
// queue sees at most one chunk of host data between two Waits: the
// executor waits after each chunk that moved host data (before the queue
// takes its next chunk, on an Overlap device), and once at the end of a
// call on device buffers.
//
// Errors wrap exactly one sentinel of package dropout; errors of the device
// are returned as the device made them.
//
// Package exectest is a pure-Go Device on which the tests run the
// conformance suite (dropouttest.Run), the statistical checks and the API
// fuzzer through the executor, with no driver at all.
package exec
