package exec

import (
	"fmt"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/internal/memlimit"
)

// Device is what a GPU backend implements: memory and queues. Its methods
// are safe for concurrent use; the executor frees no memory a queue still
// uses and closes the device last, after every Mem is freed and every
// Queue released.
type Device interface {
	// Info describes the device and its limits. It does not change.
	Info() Info
	// Alloc returns size bytes of device memory, size > 0 and a multiple
	// of 4, contents undefined. The executor has checked size against
	// Info's Memory and MaxAlloc; a refusal by the driver for lack of
	// memory is an error wrapping dropout.ErrOutOfMemory.
	Alloc(size int64) (Mem, error)
	// Free frees memory from Alloc.
	Free(Mem)
	// NewQueue returns a new queue. The executor makes at most
	// Info.Queues of them and keeps them until Close.
	NewQueue() (Queue, error)
	// Close releases the device.
	Close() error
}

// Queue runs operations in order, as an in-order OpenCL command queue or
// a Vulkan command sequence does. One goroutine uses a Queue at a time.
//
// Operations may run asynchronously until Wait: Upload may return before
// the copy runs (src may be reused as soon as Upload returns), Download's
// dst is written by the time Wait returns, and an operation sees the
// effects of every operation queued before it. After an error from any
// method the executor calls Wait once more to drain or discard what is
// queued, and ignores that Wait's error.
type Queue interface {
	// Upload copies the host bytes src to dst. Into a staging buffer
	// len(src) is a multiple of 4 (the executor pads the last chunk of a
	// byte mask with zeros); straight into a buffer (Copy to a buffer or
	// a view of one) it is any length at any byte offset, and no byte
	// outside [dst.Off, dst.Off+len(src)) may change.
	Upload(dst View, src []byte) error
	// Download copies len(dst) bytes from src into dst.
	Download(dst []byte, src View) error
	// Launch queues kernel k over a.N elements (see Kernel and Args). The
	// device maps the views to its bindings, under its own alignment and
	// window rules, and splits the launch if its dispatch limits need it.
	// a is the caller's: Launch must not keep it (nor a.Dims) once it
	// returns.
	Launch(k Kernel, a *Args) error
	// Wait waits for everything queued.
	Wait() error
	// Release frees the queue.
	Release() error
}

// Flusher is implemented by a Queue that holds what is queued until it is
// told to start it (a Vulkan command sequence is submitted at Wait; an
// OpenCL queue may batch commands until clFlush). Flush starts what is
// queued and returns without waiting for it; Wait still waits for it, and
// Download's dst is written then. On an Info.Overlap device the executor
// flushes each chunk of a call it spreads over two queues.
type Flusher interface {
	Flush() error
}

// HostMapper is implemented by a Device whose memory is the host's
// (Info.HostMemory) and that can use host memory in place as device memory
// (OpenCL's CL_MEM_USE_HOST_PTR on PoCL). The executor then runs a call on
// large host tensors as on buffers: no staging, no chunks, no copies.
type HostMapper interface {
	// MapHost returns device memory over the host bytes b (len(b) > 0,
	// starting on a multiple of MapAlign bytes), which the executor keeps
	// alive and unmoved (runtime.Pinner) until UnmapHost.
	MapHost(b []byte) (Mem, error)
	// UnmapHost ends the executor's use of m, after a Wait of q (the queue
	// whose commands used it): the device makes what they wrote visible in
	// the host bytes, and releases m.
	UnmapHost(q Queue, m Mem) error
}

// Mem is a device's handle of one allocation, such as a cl_mem or a
// VkBuffer with its memory: a comparable value (a pointer), since the
// executor compares views. It only hands a Mem back to the device that
// made it.
type Mem any

// View is device memory from a byte offset on.
type View struct {
	Mem Mem
	Off int64 // bytes
}

// At returns the view off bytes further on.
func (v View) At(off int64) View { return View{v.Mem, v.Off + off} }

// Info describes a device to the executor.
type Info struct {
	// DeviceInfo is what Backend.Device reports; its Memory and MaxAlloc
	// (0: unknown) bound what the executor allocates.
	dropout.DeviceInfo
	// DTypes are the data types the kernels take (Float32, Float64).
	DTypes []dropout.DType
	// Queues is the most queues, so calls running side by side (at least 1).
	Queues int
	// HostMemory is set where device memory is host memory (PoCL,
	// lavapipe): allocations are also checked against the memory the
	// machine and the process's cgroups can still give.
	HostMemory bool
	// WordData is set where kernels read and write 16-bit data in whole
	// 32-bit words (Vulkan without 16-bit storage): the executor then
	// stages 16-bit buffers that start off a word, or end mid-word before
	// their allocation's padding, through staging buffers with Copy
	// launches, so that such kernels only see 16-bit views on whole words
	// they own. Without it, data views of any type may start at any
	// element and kernels write exactly their elements.
	WordData bool
	// Overlap is set where the operations of different queues run side by
	// side, with each other and with the host (OpenCL's in-order queues:
	// Upload returns once src is copied, Download and Launch run as the
	// device goes; a Vulkan queue once flushed, Flusher). A call that stages host tensors in more than one chunk
	// then alternates two queues, each with its own staging buffers, so
	// that the host stages chunk k+1 on one while the device computes and
	// downloads chunk k on the other.
	Overlap bool
	// DirectCopy is set where Upload, Download and Copy launches move any
	// number of bytes at once, straight between host memory and device
	// memory (OpenCL's clEnqueueWriteBuffer, clEnqueueReadBuffer and
	// clEnqueueCopyBuffer): Backend.Copy of a buffer is then one Upload,
	// Download or Copy launch, not one per chunk.
	DirectCopy bool
	// HostLimit, if set, replaces memlimit.System as the memory the
	// machine can still give a HostMemory device (tests fake a small one).
	HostLimit func() memlimit.Limit
	// MaxLaunchBytes is the most bytes one view of a launch may span (a
	// Vulkan binding window: maxStorageBufferRange less the offset
	// alignment); 0 for no limit, otherwise at least 256.
	MaxLaunchBytes int64
	// MaxLaunchElems is the most elements (Args.N) of one kernel launch;
	// 0 for no limit, otherwise at least 32.
	MaxLaunchElems int64
	// ApplyMaxDims and ApplyMaxElems bound noise-shape calls: the most
	// canonical axes (len(Args.Dims)) and the most tensor or mask elements
	// (Apply kernels index with 32 bits on Vulkan); 0 for no limit.
	ApplyMaxDims  int
	ApplyMaxElems int64
}

// Kernel is an operation a Launch runs. Every kernel computes, for each of
// its N elements i, y[i] = keep ? x[i]·s : +0 (a select: a dropped NaN is
// +0; with Args.CopyKept a kept x[i] is copied bit for bit), where keep
// comes from the stream (Gen, Mask: element i uses stream word G0+i, kept
// iff word >= Thresh and not DropAll) or from a mask (Read, Apply).
//
// Mask views start on a 32-element boundary of the mask: bits hold element
// i at bit i%32 of the little-endian 32-bit word i/32 of M, bytes hold one
// 0/1 byte per element (nonzero reads as kept). Writers store whole 32-bit
// words with zero padding, and readers may load whole words: the executor
// makes every mask view hold MaskWords(format, n) bytes.
type Kernel uint8

// The kernels.
const (
	GenNone   Kernel = iota + 1 // y from x, keep from the stream; no mask (forward without mask, backward regenerated)
	GenBits                     // as GenNone, and writes the keep bits to M
	GenBytes                    // as GenNone, and writes the keep bytes to M
	ReadBits                    // y from x, keep read from the bits in M (backward)
	ReadBytes                   // y from x, keep read from the bytes in M (backward)
	MaskBits                    // writes N keep bits to M from the stream; no data
	MaskBytes                   // writes N keep bytes to M from the stream; no data
	// ApplyBits and ApplyBytes broadcast a mask over the tensor (a noise
	// shape): element i is tensor element I0+i and reads mask element
	// j = Σ_d c_d·Dims[d].Stride, c the coordinates of I0+i in the sizes
	// Dims[d].Size (row-major). M is the whole mask, MaskLen elements.
	ApplyBits
	ApplyBytes
	Copy // copies N bytes from X to Y (distinct memory; any byte offsets, any N)
	Zero // zeroes N bytes of Y (N and Y.Off multiples of 4)
)

var kernelNames = [...]string{GenNone: "GenNone", GenBits: "GenBits", GenBytes: "GenBytes",
	ReadBits: "ReadBits", ReadBytes: "ReadBytes", MaskBits: "MaskBits", MaskBytes: "MaskBytes",
	ApplyBits: "ApplyBits", ApplyBytes: "ApplyBytes", Copy: "Copy", Zero: "Zero"}

func (k Kernel) String() string {
	if int(k) < len(kernelNames) && kernelNames[k] != "" {
		return kernelNames[k]
	}
	return fmt.Sprintf("Kernel(%d)", uint8(k))
}

// Format returns the mask format k reads or writes, MaskNone for none.
func (k Kernel) Format() dropout.MaskFormat {
	switch k {
	case GenBits, ReadBits, MaskBits, ApplyBits:
		return dropout.MaskBits
	case GenBytes, ReadBytes, MaskBytes, ApplyBytes:
		return dropout.MaskBytes
	}
	return dropout.MaskNone
}

// ReadsMask reports whether k reads keep decisions from M.
func (k Kernel) ReadsMask() bool {
	return k == ReadBits || k == ReadBytes || k == ApplyBits || k == ApplyBytes
}

// Args are a launch's arguments. Views are device memory with byte
// offsets: data views start on a multiple of 32 elements of their tensor,
// which may itself start at any element of its memory (a view made by
// Slice, or a wrapped buffer), so their offsets are multiples of the
// element size only (of 4 bytes for 16-bit data on a WordData device);
// mask views start on a multiple of 4 bytes. Y and X are either the same
// view (in place) or disjoint. Unused views are zero.
type Args struct {
	Y, X, M View
	// N is the elements of the launch: tensor elements, mask elements for
	// MaskBits and MaskBytes, bytes for Copy and Zero. Never 0.
	N       int64
	DType   dropout.DType // Float32, Float64, Float16 or BFloat16 (Info.DTypes)
	Seed    uint64        // Philox key (lo32(Seed), hi32(Seed))
	G0      uint64        // stream word of element 0; words wrap modulo 2^64
	Thresh  uint32        // keep iff word >= Thresh
	DropAll bool          // p = 1: keep nothing (T = 2^32 does not fit Thresh)
	// CopyKept (p = 0) makes kept elements bit copies of x, not x·1.
	CopyKept bool
	Scale32  float32 // s for Float32, Float16 and BFloat16 data
	Scale64  float64 // s for Float64 data
	// 16-bit data (Float16, BFloat16) is widened to float32 exactly,
	// computed as float32 data is, and rounded once to nearest-even back
	// to 16 bits (a NaN stays a NaN; a dropped element is +0).

	// Alpha (forward kernels with data only: Gen*, Read*, Apply*) makes a
	// kept element A·x + B, the product rounded to the compute type before
	// the add (no fused multiply-add), and a dropped one D, instead of x·s
	// and +0 (16-bit data: A·x + B in float32, rounded once to 16 bits).
	// Backward alpha dropout needs no flag: it is plain dropout with Scale
	// A. The executor never sets Alpha with CopyKept or DropAll (p = 0
	// copies, p = 1 gives +0: it launches Copy or Zero, or the plain
	// kernels with those flags when there is a mask to write).
	Alpha         bool
	A32, B32, D32 float32 // Float32 and 16-bit data
	A64, B64, D64 float64 // Float64 data

	// Fused bias + dropout + residual (Gen* and Apply* kernels, forward;
	// never with Alpha): with HasBias, t = x + B[(I0+i) % BiasLen]
	// (rounded to the data type) replaces x; with HasResid, y = R[i] + u
	// (rounded) where u is the dropout of t (CopyKept: u = t; DropAll: u =
	// +0, so y = R[i] + +0). B is a view of the whole bias (BiasLen
	// elements, from element 0, starting on a word), R a view that starts
	// where X does in its own tensor (on 32 elements, as X); R may be the
	// same view as Y (in place) or X, and B may be memory of Y or X, never
	// overlapping Y otherwise.
	B, R     View
	HasBias  bool
	HasResid bool
	BiasLen  int64

	// I0 is, for Apply kernels and Gen kernels with a bias, the tensor
	// element of Y[0] and X[0]; for MaskBits and MaskBytes with Words, the
	// mask element of M's element 0 (launch element i is mask element
	// I0+i; a multiple of 32, and M starts on that element).
	I0 int64
	// Apply kernels only:
	MaskLen int64 // mask elements in M, from its element 0
	Dims    []Dim // canonical axes, outermost first
	// Words (MaskBits and MaskBytes only; nil otherwise) maps a region's
	// mask elements to stream words: mask element k = I0+i, with
	// coordinates c in the sizes Words[d].Size (row-major), uses stream
	// word G0 + Σ c[d]·Words[d].Stride, modulo 2^64
	// (driver.WordMap); G0 is then the word of mask element 0 of the
	// whole map, the same for every chunk. The executor then reads the
	// mask through Apply kernels (with a single axis {N, 1} for a region
	// without a noise shape).
	Words []WordDim
}

// WordDim is one axis of a region's word map: its size, and the stream
// words one step along it advances.
type WordDim struct {
	Size   int64
	Stride uint64
}

// Dim is one canonical axis of a noise-shape broadcast: its size, and the
// mask stride of its coordinate (0 on an axis the mask is broadcast along).
type Dim struct{ Size, Stride int64 }

// MaskWords returns the bytes a kernel touches for n mask elements in
// format f: whole 32-bit words.
func MaskWords(f dropout.MaskFormat, n int64) int64 {
	switch f {
	case dropout.MaskBits:
		return (n + 31) / 32 * 4
	case dropout.MaskBytes:
		return roundUp4(n)
	}
	return 0
}

func roundUp4(n int64) int64 { return (n + 3) &^ 3 }
