// Package vulkan is the Vulkan compute backend of dropout, built on
// vulkan-go (github.com/vulkan-go/vulkan) and the GLSL shaders of package
// kernels, compiled to SPIR-V and embedded.
//
// The backend is the shared GPU executor (gpu/internal/exec) on a Vulkan
// device: the executor validates calls, stages host tensors, splits calls
// into launches, makes noise-shape masks, handles p = 0 and p = 1, copies,
// and keeps track of buffers and of the device memory they take. This
// package supplies device discovery, the executor's Device and Queue (the
// executor's kernels as compute pipelines, memory as Vulkan buffers), the
// validation layer's reports, and the vkx layer over vulkan-go.
//
// # Devices
//
// Driver loads the Vulkan loader by its runtime name, libvulkan.so.1 (Debian
// libvulkan1), so no development package is needed at run time. Devices are
// listed best first: discrete GPUs, integrated, virtual, others, and CPU
// implementations such as Mesa lavapipe last (DeviceInfo.Emulated).
// Options.Device picks one by the rule of driver.SelectDevice: "" for the
// first, a decimal index in that order, or a case-insensitive substring of
// the device's name, its driver (DeviceInfo.Platform, "llvmpipe"), its
// vendor ("nvidia", "mesa") or its type ("cpu", "discrete gpu"). Without a
// loader or a device, Driver reports a *dropout.UnavailableError that says
// what to install. Building with CGO_ENABLED=0 or the novulkan tag gives a
// Driver that always reports unavailable.
//
// DeviceInfo.Caps, from Driver.Devices as from Backend.Device: float32,
// float16 and bfloat16 (packed two to a 32-bit word: no 16-bit storage
// feature needed), and float64 where the device has shaderFloat64
// (lavapipe does; elsewhere float64 is dropout.ErrDType); every mask
// format; noise shapes; alpha dropout; the fused bias + dropout + residual
// (ForwardFused); regions; the program's own Vulkan objects through the
// Pipelines API below. MaxElements is 0: calls of
// any size are split into launches; only noise-shape calls (at most 9
// canonical axes) and region word maps (at most 5 canonical axes) are
// bounded, with dropout.ErrUnsupported.
//
// # Conventions
//
// One Backend owns a Vulkan instance, a logical device with one compute
// queue, and the compute pipelines, each built (compiled, on lavapipe) the
// first time a call needs it rather than at Open. Calls are synchronous
// (the Pipelines API below adds recorded and asynchronous ones):
// each records its commands into a command buffer, submits them and waits
// on a fence. Per-launch values (seed, offset, threshold, scale, bases,
// broadcast dims) travel in push constants; 64-bit offsets as two 32-bit
// words. Host tensors go through a host-visible staging area (uploads are
// copied into it at once, downloads copied out after the fence) and the
// executor's device-local staging buffers; Buffers from Alloc are
// device-local and used in place. A call staging host tensors in several
// chunks alternates two queues: each chunk's
// commands are submitted without a wait (Flush) while the host copies the
// next chunk into the other queue's staging area, and a queue waits on its
// fence only before it takes its next chunk. The submissions go to the one
// compute queue in order, each starting after the commands before it (its
// leading barrier), so what overlaps is the host's staging with the
// device's work, not two chunks on the device; a dedicated transfer queue
// is not used. Every VkResult is checked in one place
// (vkx's check): errors name the Vulkan function and the result, and
// VK_ERROR_OUT_OF_HOST_MEMORY, VK_ERROR_OUT_OF_DEVICE_MEMORY and
// VK_ERROR_OUT_OF_POOL_MEMORY wrap dropout.ErrOutOfMemory, once.
//
// # Host tensors in place
//
// On lavapipe, whose device memory is host memory and which has
// VK_EXT_external_memory_host, a synchronous call uses large host
// tensors in place: a tensor of at least exec.MinMapBytes (64 KiB) that
// starts on exec.MapAlign (128) bytes is imported as device memory
// (VkImportMemoryHostPointerInfoEXT over the whole pages of
// minImportedHostPointerAlignment, 4096 bytes, around it) with a storage
// buffer bound at the tensor's offset in the import, so that the shaders
// see its bytes and no others; the call then runs as on Buffers, with one
// submission, no staging and no copy, and its submission ends with a
// barrier to host reads. The executor keeps the memory pinned until the
// import is freed after the call's fence. Not in place: smaller tensors
// and tensors off 128 bytes (staged as above; Go allocates large slices
// on page boundaries), masks whose last 32-bit word the kernels write is
// not wholly theirs (staged), and 16-bit data of odd length, whose last
// 32-bit word (the shaders write 16-bit data in whole words) is half
// another object's (staged: the executor's rule for WordData devices);
// asynchronous and recorded calls, which take Buffers only; GPUs, whose
// device-local memory is not the host's; and a backend on a caller's
// device (NewBackend), where the extension may not be enabled. The
// import and its buffer are made and destroyed per call.
//
// # Concurrency
//
// A Backend, its Buffers and the Driver are safe for concurrent use by
// multiple goroutines. Calls run side by side; what is serialised:
//
//   - queue submission: vkQueueSubmit (and vkDeviceWaitIdle at Close) take
//     a per-device mutex, held only for the submission itself, not while
//     the work runs or is waited for;
//   - workers: each call in flight (Forward, Backward, Copy, Alloc's zero
//     fill, Buffer.Read and Write) takes one of the executor's queues for
//     its duration: its own command pool, command buffer, fence,
//     descriptor pool, staging area and staging buffers. There are at most
//     GOMAXPROCS of them (2 to 8, Info.Queues), made on demand, and further
//     calls wait for one to come back;
//   - building a pipeline: the first calls that need one wait for it
//     (different pipelines build side by side);
//   - a Buffer's Release marks it released at once (calls that start
//     after it get an error wrapping dropout.ErrReleased) and frees it
//     when the last call using it ends;
//   - Close waits for every call in flight, then destroys everything;
//     later calls, and calls on the backend's buffers, get
//     dropout.ErrClosed, and Release stays harmless.
//
// Calls that write the same tensor at the same time race on its contents,
// as they would on a slice. With Options.Debug, a validation message goes
// to whichever call in flight checks first.
//
// # Memory
//
// The executor counts the device memory the backend holds (buffers and
// staging buffers) against the device's memory and its largest allocation,
// and on a CPU implementation such as lavapipe, whose device memory is
// host memory, against the memory the machine and the process's cgroups
// can still give (internal/memlimit). The device also counts, per memory
// heap, everything it allocates, staging areas included, against the
// heap's size and, where the device has VK_EXT_memory_budget, the heap's
// budget; staging areas are host memory and are checked against the
// machine's too. An allocation beyond any of them fails with an error
// wrapping dropout.ErrOutOfMemory that names the bytes wanted and
// available, instead of being handed out until the kernel's OOM killer
// ends the process; idle queues' staging buffers and staging areas are
// freed first to make room.
//
// # Kernels
//
// The executor's kernels map onto the shaders of kernels/glsl: GenNone,
// GenBits and GenBytes are dropout.comp in modes 0, 1 and 2, ReadBits and
// ReadBytes modes 3 and 4, MaskBits and MaskBytes mask.comp, ApplyBits and
// ApplyBytes apply.comp (the canonical dims and broadcast bits in push
// constants; a region's word map too, for mask.comp), Copy vkCmdCopyBuffer
// and Zero vkCmdFillBuffer. The call's kind is specialization constants,
// so the hot path tests none of it: p = 1 is the flag F_DROPALL (T = 2^32
// does not fit 32 bits), p = 0 with a mask F_COPY, alpha dropout F_ALPHA,
// the fused bias and residual F_BIAS and F_RESID, and the data type
// (float32, float16, bfloat16) constant 2; each combination is a pipeline
// built on first use. Except when writing a bit mask, invocation t owns
// elements 4t .. 4t+3: a quad of float32 (two words of
// 16-bit data), read and written as one 16-byte access where the
// dispatch's window bases are multiples of 4 elements and element by
// element otherwise (views, and wrapped buffers, start at any element of
// their memory; the test is uniform over the dispatch), one word of a byte mask, and the Philox block of its
// stream words (two blocks when the offset is not a multiple of 4). With a
// bit mask, on a CPU implementation (lavapipe) an invocation owns 32
// elements (one mask word); on a GPU it owns a quad, as without a mask, and
// 8 neighbouring invocations assemble each mask word (subgroup shuffles
// where the device has them with a subgroup size of 8 to 64, shared memory
// and a barrier otherwise), which one of them writes. No two invocations
// write the same word; 16-bit data views start on a whole
// 32-bit word (exec.Info.WordData: the executor stages other 16-bit views
// through scratch buffers with copies), and a launch that ends inside a
// word keeps the word's other half. 16-bit values are widened and rounded to nearest even with integer
// operations (kernels/glsl/elem.glsl); alpha dropout's product is rounded
// before its add (precise: no fused multiply-add). The shaders loop over their items with a grid stride, so
// a dispatch uses no more invocations than fill the device (a few hundred
// work groups on a CPU implementation, where each one costs). Stream words
// are 64-bit and wrap modulo 2^64, so Philox block counters wrap modulo
// 2^62: every shader steps through blocks with blockAt
// (kernels/glsl/common.glsl), so a call at offset 2^64-6 uses block
// 2^62-1 and then block 0, as the reference does. Float32 products and
// sums whose operand or result may be subnormal (an exponent test, off
// the hot path) are computed exactly with integer arithmetic or scaled by
// 2^64, so devices that flush subnormals still match the reference;
// float64 relies on the device (lavapipe keeps float64 subnormals).
//
// # Large tensors
//
// The executor splits a call into launches of whole 32-element groups (so
// a bit-mask word or a byte-mask word is written by one invocation) of at
// most 2^30 elements, whose views each span at most the device's
// maxStorageBufferRange (128 MiB on lavapipe) less its storage offset
// alignment, and at most Options.MaxChunkBytes (64 MiB when 0); each view
// is bound as a window of its buffer that starts at an aligned offset. The
// stream contract makes the split invisible in the result. Noise-shape
// calls first write the mask (to the mask tensor or a scratch bit mask),
// then apply it with the canonical broadcast of driver.Plan; they need
// fewer than 2^32 elements, at most 12 canonical axes and a mask that fits
// one storage buffer range (dropout.ErrUnsupported beyond that).
//
// # Pipelines
//
// A program with its own Vulkan device, queue and command buffers (a
// training loop whose matmuls are its own shaders) puts dropout between
// two of its own steps with no copy to the host and no host wait:
//
//   - NewBackend(External{Instance, PhysicalDevice, Device, QueueFamily,
//     Queue, Float64}, opts) makes a backend on the program's device. It
//     owns none of them: Close destroys only what the backend created
//     (pipelines, layouts, descriptor pools, command pools, fences, its
//     own buffers and their memory) and waits only for its own
//     submissions. The device needs nothing beyond Vulkan 1.1 core
//     (shaderFloat64 enabled, and External.Float64 set, for float64
//     data); the queue family must have compute. Options.Device and
//     Options.Debug must be zero: the validation layer is the program's
//     (enable it on its instance, where it reports).
//
//   - The queue: the backend submits to External.Queue only inside its
//     own calls (synchronous calls, Buffer.Read/Write, Alloc, Copy, and
//     the asynchronous calls), under its own mutex. vkQueueSubmit needs
//     the queue externally synchronized, so the program must not submit
//     to that queue (nor wait on it idle) while a call of the backend
//     runs: submit from the same goroutine, or under a lock of its own
//     that it also holds around the backend's calls.
//
//   - Backend.Wrap(buf, size, off, dt, n) makes n elements of dt of the
//     program's VkBuffer buf (size bytes), from byte offset off, a Buffer
//     used in place wherever a Buffer is. off needs only to be a
//     multiple of the element size: windows are bound at the device's
//     minStorageBufferOffsetAlignment and the element offset goes to the
//     shaders. buf needs the usages STORAGE_BUFFER, TRANSFER_SRC and
//     TRANSFER_DST, memory bound, and must stay alive while the Buffer is
//     in use (Release and Close never destroy it).
//
//   - Backend.NativeBuffer(t) hands out the VkBuffer of a Buffer of the
//     backend (Alloc'd, wrapped or a view) and the byte offset of its
//     element 0, valid until its root is released or the backend closes.
//
//   - RecordForward, RecordBackward, RecordForwardFused and RecordCopy
//     record a call into the program's command buffer (recording, of a
//     pool of a queue family with compute) and return; the program
//     submits it when it likes. Every tensor must be a Buffer of the
//     backend; calls that would need scratch device memory are
//     dropout.ErrUnsupported, naming why: a noise shape, or a region
//     whose mask is not one run of the stream, without a mask tensor; a
//     mask view that does not start on a whole 32-bit word; 16-bit data
//     (packed two to a word) that starts off a whole word or ends inside
//     one before the end of its memory. Between its own commands the
//     backend records global memory barriers (compute-shader and transfer
//     writes before, compute-shader and transfer reads and writes after).
//     The program records, as global memory barriers (VkMemoryBarrier;
//     the backend's commands also bind a small placeholder buffer of its
//     own, which buffer barriers would miss):
//
//     before each Record call, from the stages of the program's earlier
//     accesses of the call's buffers (its writes, and its reads where
//     the call writes what it read) to
//     VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT
//     with dstAccessMask VK_ACCESS_SHADER_READ_BIT |
//     VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
//     VK_ACCESS_TRANSFER_WRITE_BIT (two dependent Record calls need this
//     barrier between them too);
//
//     after it, from VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT |
//     VK_PIPELINE_STAGE_TRANSFER_BIT with srcAccessMask
//     VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT (and the
//     read bits, where the program then overwrites what the call read)
//     to the stages and accesses of the program's next use (to
//     VK_PIPELINE_STAGE_HOST_BIT and VK_ACCESS_HOST_READ_BIT before it
//     reads mapped memory after its fence).
//
//     Synchronization validation reports nothing for this pattern
//     (Example_pipeline, TestInterop). Lifetimes: the pipelines,
//     layouts and descriptor sets a recorded command buffer uses stay
//     valid until Close; so the program closes the backend only after
//     its command buffers that hold recorded calls have completed (or
//     are never submitted again), and releases a buffer only after the
//     work that uses it has completed. A descriptor set is written once,
//     when it is made for one combination of bindings, and never updated
//     or freed before Close (each combination a program records with
//     keeps one, a few hundred bytes); one goroutine at a time may record
//     into a command buffer, as Vulkan requires.
//
//   - ForwardAsync, BackwardAsync, ForwardFusedAsync and CopyAsync record
//     the call into a command buffer of the backend's, submit it to the
//     queue and return a *Pending without waiting: Pending.Wait waits on
//     its fence, Pending.Done polls it. Each submission starts with a
//     barrier after everything submitted before it to the queue, so
//     asynchronous and synchronous calls of the backend run in the order
//     they were made, and a Buffer.Read after an asynchronous call reads
//     its result. At most 64 are in flight: a further call waits for the
//     oldest; command buffers and fences are recycled once their fences
//     are signalled. The operands are Buffers, as for the Record calls,
//     and must not be released before the call completes.
//
// BenchmarkPipelineCalls compares 1,000 forward calls of 4096 float32
// elements made synchronously, asynchronously and recorded into one
// command buffer. On lavapipe the device's work per dispatch, not the
// host's wait, bounds the rate, so asynchronous calls gain little there;
// on a GPU they save the submit-and-wait round trip of every call.
//
// # Validation
//
// With Options.Debug the backend enables VK_LAYER_KHRONOS_validation with
// synchronization validation (VK_EXT_validation_features) and collects its
// errors and warnings through a debug-report callback: a call during which
// the layer reported anything returns an error wrapping ErrValidation, and
// Backend.ValidationMessages returns everything reported so far. The tests
// run with Debug on and fail on any message.
package vulkan
