// Package vulkan is the Vulkan compute backend of dropout, built on
// vulkan-go (github.com/vulkan-go/vulkan) and the GLSL shaders of package
// kernels, compiled to SPIR-V and embedded.
//
// # Devices
//
// Driver loads the Vulkan loader by its runtime name, libvulkan.so.1 (Debian
// libvulkan1), so no development package is needed at run time. Devices are
// listed best first: discrete GPUs, integrated, virtual, others, and CPU
// implementations such as Mesa lavapipe last (DeviceInfo.Emulated). Options.
// Device picks one by index in that order or by a case-insensitive
// substring of its name. Without a loader or a device, Driver reports a
// *dropout.UnavailableError that says what to install. Building with
// CGO_ENABLED=0 or the novulkan tag gives a Driver that always reports
// unavailable.
//
// # Conventions
//
// One Backend owns a Vulkan instance, a logical device with one compute
// queue, and the compute pipelines, each built (compiled, on lavapipe) the
// first time a call needs it rather than at Open. Calls are synchronous:
// each records its commands, submits them and waits on a fence. Per-call
// values (seed, offset, threshold, scale, bases) travel in push constants;
// 64-bit offsets as two 32-bit words. Host tensors go through host-visible
// staging buffers into device-local scratch buffers, which are kept for
// later calls; Buffers from Alloc are device-local and used in place.
// Every VkResult is checked; errors name the Vulkan function and the
// result, and out of memory wraps dropout.ErrOutOfMemory (once).
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
//     fill, Buffer.Read and Write) takes a worker for its duration, its own
//     command pool, command buffer, fence, descriptor pool and scratch and
//     staging buffers; there are at most GOMAXPROCS of them (2 to 8), made
//     on demand, and further calls wait for one to come back;
//   - building a pipeline: the first calls that need one wait for it
//     (different pipelines build side by side);
//   - a Buffer's Release waits for the calls using it, then frees it;
//     calls that start after it get an error wrapping dropout.ErrReleased;
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
// The backend counts the device memory it holds (buffers, scratch and
// staging) against the size of the memory heap it comes from and, where
// the device has VK_EXT_memory_budget, against the heap's budget; on a CPU
// implementation such as lavapipe, whose device memory is host memory, and
// for staging buffers, also against the memory the machine and the
// process's cgroups can still give (internal/memlimit). An allocation
// beyond any of them fails with an error wrapping dropout.ErrOutOfMemory
// that names the bytes wanted and available, instead of being handed out
// until the kernel's OOM killer ends the process; idle workers' scratch is
// freed first to make room.
//
// Float32 is always supported; float64 where the device has shaderFloat64
// (lavapipe does), else dropout.ErrDType; 16-bit types and alpha dropout are
// not implemented (dropout.ErrDType, dropout.ErrUnsupported).
//
// # Kernels
//
// Without a mask (and for backward by regeneration) invocation t of a
// dispatch owns Philox block t of the call's stream, so there is exactly one
// Philox call per 4 stream words whatever the offset; when the offset is a
// multiple of 4 the block's words are a whole, 16-byte aligned quad of
// elements, loaded and stored as one vector. With a bit mask an invocation
// owns 32 elements (one mask word), with a byte mask 4 (one word of 4
// bytes), so no two invocations write the same word; p = 1 is a flag (T =
// 2^32 does not fit 32 bits) and p = 0 without a mask is a buffer copy. The
// shaders loop over their items with a grid stride, so a dispatch uses no
// more invocations than fill the device (a few hundred work groups on a CPU
// implementation, where each one costs). Stream words are 64-bit and wrap
// modulo 2^64, so Philox block counters wrap modulo 2^62: every shader
// steps through blocks with blockAt (kernels/glsl/common.glsl), so a call
// at offset 2^64-6 uses block 2^62-1 and then block 0, as the reference
// does. Subnormal float32 inputs are
// multiplied exactly in integer arithmetic, so devices that flush
// subnormals still match the reference; float64 relies on the device
// (lavapipe keeps float64 subnormals).
//
// # Large tensors
//
// A tensor is processed in dispatches of whole 32-element groups (so a bit
// mask word or a byte-mask word is written by one invocation) that fit the
// device's maxStorageBufferRange (128 MiB on lavapipe) and work-group grid,
// or Options.MaxChunkBytes when set (rounded down to whole groups, at least
// one); descriptors bind windows of the buffers at aligned offsets. Host
// tensors are staged in pieces of at most 256 MiB. The stream contract makes
// the split invisible in the result.
// Noise-shape calls first write the mask (to the mask tensor or a scratch
// bit mask), then apply it with the canonical broadcast of dropout.Plan;
// they need fewer than 2^32 elements, at most 12 canonical axes and a mask
// that fits one storage buffer range, and stage host tensors whole
// (dropout.ErrUnsupported or dropout.ErrOutOfMemory beyond that).
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
