// Package dropout applies dropout to tensors on GPUs (OpenCL, Vulkan) and
// CPUs, with the same mask on every device for the same seed.
//
// # The stream contract
//
// Every random decision derives from one counter-based keystream,
// Philox4x32-10 keyed by a 64-bit seed: word g of the stream is lane g&3 of
// philox4x32_10(ctr = (lo32(g>>2), hi32(g>>2), 0, 0), key = (lo32(seed),
// hi32(seed))). A call over n mask elements at Params.Offset uses words
// Offset … Offset+n-1; mask element j (row-major over the mask's shape) is
// kept iff its word is >= floor(p·2^32). Kept elements are multiplied by
// float32(1/(1-p)) (float64 data: the float64 value) and dropped ones become
// +0: y = keep ? x*s : 0. A mask therefore depends only on (seed, offset,
// element index), never on the backend, device, chunking or thread count.
// See Word, Threshold, Scale32 and Scale64.
//
// # Backends
//
// A Backend runs dropout on one device. Backends live in their own packages
// (cpu, gpu/opencl, gpu/vulkan) and are found through a Registry of Drivers;
// the package github.com/gpudropout/dropout/backends holds the registry of
// every backend in this module, so most programs call backends.Open("auto").
// The "reference" backend is the oracle every other backend matches bit for
// bit; "cpu" is the fast multi-core one.
//
// # Conventions
//
// The destination comes first in every signature: Forward(dst, x, mask, p).
// Tensors are host slices (Float32s, Float64s, Bytes …) or device-resident
// Buffers made by Backend.Alloc, and views of those (Buffer.Slice, from any
// element); host tensors and buffers mix in one call, and Backend.Copy
// moves data between the host and a buffer either way. A call never keeps
// a reference to a host slice after it returns. Tensors of one call share
// no memory unless they are the same tensor (dst as x, in place): partly
// overlapping ones are ErrOverlap. The GPU backends' packages also wrap a
// program's own OpenCL or Vulkan objects and run calls asynchronously
// inside its pipeline (their "Pipelines" docs). A mask is a Bytes tensor in the format Params.Mask
// names: MaskBits (ceil(n/8) bytes, element j at bit j%8 of byte j/8) or
// MaskBytes (one 0/1 byte per element). Shapes are row-major; a NoiseShape
// has 1s on the axes the mask is broadcast over.
//
// Errors wrap the sentinel values of this package (ErrP, ErrLength,
// ErrShape, ErrDType, …) so callers can test them with errors.Is. No
// function panics on bad input.
//
// Use a Generator to advance the offset from call to call, as PyTorch's
// (seed, offset) state does, and pass the Params a forward call returned to
// the matching backward call.
package dropout
