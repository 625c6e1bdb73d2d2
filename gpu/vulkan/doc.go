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
// (ForwardFused); regions; no foreign objects. MaxElements is 0: calls of
// any size are split into launches; only noise-shape calls (at most 9
// canonical axes) and region word maps (at most 5 canonical axes) are
// bounded, with dropout.ErrUnsupported.
//
// # Conventions
//
// One Backend owns a Vulkan instance, a logical device with one compute
// queue, and the compute pipelines, each built (compiled, on lavapipe) the
// first time a call needs it rather than at Open. Calls are synchronous:
// each records its commands into a command buffer, submits them and waits
// on a fence. Per-launch values (seed, offset, threshold, scale, bases,
// broadcast dims) travel in push constants; 64-bit offsets as two 32-bit
// words. Host tensors go through a host-visible staging area (uploads are
// copied into it at once, downloads copied out after the fence) and the
// executor's device-local staging buffers; Buffers from Alloc are
// device-local and used in place. Every VkResult is checked in one place
// (vkx's check): errors name the Vulkan function and the result, and
// VK_ERROR_OUT_OF_HOST_MEMORY, VK_ERROR_OUT_OF_DEVICE_MEMORY and
// VK_ERROR_OUT_OF_POOL_MEMORY wrap dropout.ErrOutOfMemory, once.
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
// elements 4t .. 4t+3: a 16-byte aligned quad of float32 (two words of
// 16-bit data), one word of a byte mask, and the Philox block of its
// stream words (two blocks when the offset is not a multiple of 4). With a
// bit mask an invocation owns 32 elements (one mask word). No two
// invocations write the same word; 16-bit data views start on an even
// element, and a launch that ends inside a word keeps the word's other
// half. 16-bit values are widened and rounded to nearest even with integer
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
// # Validation
//
// With Options.Debug the backend enables VK_LAYER_KHRONOS_validation with
// synchronization validation (VK_EXT_validation_features) and collects its
// errors and warnings through a debug-report callback: a call during which
// the layer reported anything returns an error wrapping ErrValidation, and
// Backend.ValidationMessages returns everything reported so far. The tests
// run with Debug on and fail on any message.
package vulkan
