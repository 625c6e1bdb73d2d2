//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"fmt"
	"math"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// limits are what a dispatch may cover on the device.
type limits struct {
	maxRange   uint64 // maxStorageBufferRange: the most bytes one binding sees
	align      uint64 // where a binding's window may start (minStorageBufferOffsetAlignment, at least 16 for 16-byte loads)
	maxInv     uint64 // the most invocations of one dispatch
	invCap     uint64 // the invocations a dispatch uses at most: enough to fill the device
	chunkBytes uint64 // Options.MaxChunkBytes, 0 for none
}

func newLimits(d vkx.PhysicalDevice, maxInv uint64, chunkBytes int64) limits {
	l := limits{
		maxRange: uint64(d.Limits.MaxStorageBufferRange),
		align:    max(d.Limits.MinStorageOffsetAlign, 16),
		maxInv:   maxInv,
	}
	if chunkBytes > 0 {
		l.chunkBytes = uint64(chunkBytes)
	}
	// A GPU wants many resident invocations; a CPU implementation such as
	// lavapipe pays per work group and per invocation, so it gets a few
	// hundred work groups, each looping over many items.
	l.invCap = min(maxInv, 1<<22)
	if d.Type == vkx.CPU {
		l.invCap = 256 * vkx.WorkGroup
	}
	return l
}

// chunk returns the most elements of es bytes one dispatch processes with
// a mask in format f: a multiple of 32, so that no bit-mask or byte-mask
// word is shared by two dispatches, and at least 32.
func (l limits) chunk(es int, f dropout.MaskFormat) int {
	r := l.maxRange - l.align // a window starts up to align bytes before its data
	c := r / uint64(es)
	switch f {
	case dropout.MaskBytes:
		c = min(c, r)
	case dropout.MaskBits:
		c = min(c, r*8)
	}
	if l.chunkBytes > 0 {
		c = min(c, l.chunkBytes/uint64(es))
	}
	c = min(c, l.maxInv, 1<<30)
	return int(max(c/32*32, 32))
}

// view is a tensor's storage on the device: a buffer and the byte offset
// of the part a dispatch sequence works on.
type view struct {
	buf *vkx.Buffer
	off uint64
}

// window returns the binding for bytes [lo, hi) of v, relative to v.off,
// and the index of byte lo inside it in units of unit bytes. The window
// starts at an aligned offset and reaches as far as the device allows.
func (l limits) window(v view, lo, hi, unit uint64) (vkx.Range, uint32, error) {
	lo, hi = v.off+lo, v.off+hi
	start := lo / l.align * l.align
	if hi > v.buf.Size {
		return vkx.Range{}, 0, fmt.Errorf("vulkan: internal error: bytes [%d, %d) of a %d-byte buffer", lo, hi, v.buf.Size)
	}
	size := min(l.maxRange, v.buf.Size-start)
	if hi-start > size {
		return vkx.Range{}, 0, fmt.Errorf("vulkan: internal error: bytes [%d, %d) do not fit one storage buffer range", lo, hi)
	}
	return vkx.Range{Buf: v.buf, Offset: start, Size: size}, uint32((lo - start) / unit), nil
}

// push holds the push constants of one call (kernels/glsl/common.glsl).
type push [vkx.PushWords]uint32

const (
	pcCount = iota
	pcXBase
	pcYBase
	pcMBase
	pcOffLo
	pcOffHi
	pcSeedLo
	pcSeedHi
	pcThresh
	pcFlags
	pcScaleLo
	pcScaleHi
	pcI0
	pcNDims
	pcBMask
	pcDims
)

const (
	flagDropAll = 1
	flagCopy    = 2
	maxDims     = vkx.PushWords - pcDims
)

// newPush returns the push constants every dispatch of the call shares.
func newPush(pl *dropout.Plan) push {
	var pc push
	pc[pcSeedLo], pc[pcSeedHi] = uint32(pl.Seed), uint32(pl.Seed>>32)
	if pl.Threshold > math.MaxUint32 {
		pc[pcFlags] |= flagDropAll
	} else {
		pc[pcThresh] = uint32(pl.Threshold)
	}
	if pl.Copy {
		pc[pcFlags] |= flagCopy
	}
	if pl.DType == dropout.Float64 {
		s := math.Float64bits(pl.Scale64)
		pc[pcScaleLo], pc[pcScaleHi] = uint32(s), uint32(s>>32)
	} else {
		pc[pcScaleLo] = math.Float32bits(pl.Scale32)
	}
	for i, d := range pl.Dims {
		pc[pcDims+i] = uint32(d)
		if pl.Bcast[i] {
			pc[pcBMask] |= 1 << i
		}
	}
	pc[pcNDims] = uint32(len(pl.Dims))
	return pc
}

// setOffset sets the stream word of the dispatch's element 0.
func (pc *push) setOffset(g uint64) { pc[pcOffLo], pc[pcOffHi] = uint32(g), uint32(g>>32) }

// dispatch records one dispatch over inv work items on w's sequence,
// followed by a barrier, submitting first when the submission has no
// descriptor sets left. The shaders loop over their items with a grid
// stride, so a dispatch runs at most limits.invCap invocations.
func (b *Backend) dispatch(w *worker, a *vkx.Algorithm, r [vkx.Bindings]vkx.Range, pc *push, inv uint64) error {
	set, err := w.seq.Bind(r)
	if errors.Is(err, vkx.ErrSetsFull) {
		if err = w.seq.Submit(); err == nil {
			set, err = w.seq.Bind(r)
		}
	}
	if err != nil {
		return err
	}
	if err := w.seq.Dispatch(a, set, (*[vkx.PushWords]uint32)(pc), min(inv, b.lim.invCap)); err != nil {
		return err
	}
	w.seq.Barrier()
	return nil
}
