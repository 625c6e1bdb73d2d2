//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"fmt"
	"math"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// This file maps the executor's kernels onto the shaders of kernels/glsl:
//
//	GenNone, GenBits, GenBytes   dropout(_f64) mode 0, 1, 2; GenBits on a
//	                             GPU whose subgroups have shuffles (limits.subgroup):
//	                             dropout(_f64)_sg mode 1
//	ReadBits, ReadBytes          dropout(_f64) mode 3, 4
//	MaskBits, MaskBytes          mask mode 1, 2; no data; Args.Words in push constants
//	ApplyBits, ApplyBytes        apply(_f64) mode 1, 2; the dims in the push
//	                             constants, bmask bit d set where Dims[d].Stride is 0
//	Copy                         vkCmdCopyBuffer
//	Zero                         vkCmdFillBuffer
//
// Args.CopyKept is F_COPY, Args.DropAll F_DROPALL, Alpha F_ALPHA, HasBias
// F_BIAS and HasResid F_RESID (specialization constant 1, with the data
// type as constant 2); each view is bound
// as a window of its buffer that starts at an aligned offset (limits.window),
// and the index of the view's first element in it goes to xBase, yBase or
// mBase. Commands are ordered by a barrier before each but the first of a
// submission (vkx.Sequence), none after a dispatch.

// launch records kernel k over a into r (see dispatch for full). Copy
// launches take any byte offsets and sizes (vkCmdCopyBuffer does).
func (d *vkDevice) launch(r recorder, k exec.Kernel, a *exec.Args, full func() error) error {
	switch k {
	case exec.Copy:
		return r.Copy(memOf(a.Y), uint64(a.Y.Off), memOf(a.X), uint64(a.X.Off), uint64(a.N))
	case exec.Zero:
		return r.Fill(memOf(a.Y), uint64(a.Y.Off), uint64(a.N), 0)
	}
	return d.dispatch(r, k, a, full)
}

// recorder is where dispatch records: a queue's vkx.Sequence, or a
// vkx.Recorder into a caller's or an asynchronous call's command buffer.
type recorder interface {
	Bind(r [vkx.Bindings]vkx.Range) (vkx.Set, error)
	Dispatch(a *vkx.Algorithm, set vkx.Set, pc *[vkx.PushWords]uint32, invocations uint64) error
	Copy(dst *vkx.Buffer, dstOff uint64, src *vkx.Buffer, srcOff, size uint64) error
	Fill(dst *vkx.Buffer, off, size uint64, v uint32) error
}

// dispatch records kernel k over a's elements into r. When r's
// descriptor sets are used up (vkx.ErrSetsFull), full, if not nil, runs
// what is recorded so that the sets can be used again.
func (d *vkDevice) dispatch(r recorder, k exec.Kernel, a *exec.Args, full func() error) error {
	n := uint64(a.N)
	es := uint64(a.DType.Size())
	f64 := ""
	if a.DType == dropout.Float64 {
		f64 = "_f64"
	}
	key := algKey{dt: dtCode(a.DType)}
	var inv uint64 // work items: the shaders loop over them with a grid stride
	data, mlen := true, n
	switch k {
	case exec.GenNone, exec.GenBits, exec.GenBytes, exec.ReadBits, exec.ReadBytes:
		key.module, key.mode, inv = "dropout"+f64, dropoutModes[k], runs((n+3)/4, d.lim.run) // quads
		switch {
		case k == exec.GenBits && d.lim.run > 1:
			inv = (n + 31) / 32 // mask words
		case k == exec.GenBits && d.lim.subgroup:
			key.module += "_sg"
		}
	case exec.MaskBits, exec.MaskBytes:
		key.module, key.mode, key.dt, inv, data = "mask", modeBits, 0, (n+31)/32, false
		if k == exec.MaskBytes {
			key.mode, inv = modeBytes, runs((n+3)/4, d.lim.run)
		}
	case exec.ApplyBits, exec.ApplyBytes:
		if len(a.Dims) > maxDims {
			return fmt.Errorf("vulkan: internal error: %d broadcast axes (at most %d)", len(a.Dims), maxDims)
		}
		key.module, key.mode, inv, mlen = "apply"+f64, modeBits, runs((n+3)/4, d.lim.run), uint64(a.MaskLen)
		if k == exec.ApplyBytes {
			key.mode = modeBytes
		}
	default:
		return fmt.Errorf("vulkan: internal error: kernel %v", k)
	}
	pc, err := newPush(k, a)
	if err != nil {
		return err
	}
	key.flags = pc.flags
	dummy := vkx.Range{Buf: d.dummy, Size: d.dummy.Size}
	rg := [vkx.Bindings]vkx.Range{dummy, dummy, dummy, dummy, dummy}
	if data {
		if rg[0], pc.w[pcXBase], err = d.lim.window(memOf(a.X), uint64(a.X.Off), n*es, es); err != nil {
			return err
		}
		if rg[1], pc.w[pcYBase], err = d.lim.window(memOf(a.Y), uint64(a.Y.Off), n*es, es); err != nil {
			return err
		}
		if a.HasBias {
			if rg[3], pc.w[pcBBase], err = d.lim.window(memOf(a.B), uint64(a.B.Off), uint64(a.BiasLen)*es, es); err != nil {
				return err
			}
		}
		if a.HasResid {
			if rg[4], pc.w[pcRBase], err = d.lim.window(memOf(a.R), uint64(a.R.Off), n*es, es); err != nil {
				return err
			}
		}
		if es == 2 && (pc.w[pcXBase]|pc.w[pcYBase])&1 != 0 {
			return fmt.Errorf("vulkan: internal error: 16-bit data views at odd elements of their windows (%d, %d)", pc.w[pcXBase], pc.w[pcYBase])
		}
	}
	if f := k.Format(); f != dropout.MaskNone {
		if rg[2], pc.w[pcMBase], err = d.lim.window(memOf(a.M), uint64(a.M.Off), uint64(exec.MaskWords(f, int64(mlen))), 4); err != nil {
			return err
		}
	}
	alg, err := d.alg(key)
	if err != nil {
		return err
	}
	set, err := r.Bind(rg)
	if errors.Is(err, vkx.ErrSetsFull) && full != nil {
		// The submission's descriptor sets are used up: run what is
		// recorded (the staging area stays reserved until Wait).
		if err = full(); err == nil {
			set, err = r.Bind(rg)
		}
	}
	if err != nil {
		return err
	}
	return r.Dispatch(alg, set, &pc.w, min(inv, d.lim.invCap))
}

// dropoutModes are the modes of dropout.comp by kernel.
var dropoutModes = map[exec.Kernel]uint32{
	exec.GenNone: modeGenNone, exec.GenBits: modeGenBits, exec.GenBytes: modeGenBytes,
	exec.ReadBits: modeReadBits, exec.ReadBytes: modeReadBytes,
}

// runs returns the work items of n quads in runs of run.
func runs(n uint64, run uint32) uint64 { return (n + uint64(run) - 1) / uint64(run) }

// dtCode returns the data shaders' specialization constant DT of dt.
func dtCode(dt dropout.DType) uint32 {
	switch dt {
	case dropout.Float16:
		return dtF16
	case dropout.BFloat16:
		return dtBF16
	}
	return dtF32
}

// limits are what a dispatch may cover on the device.
type limits struct {
	maxRange uint64 // maxStorageBufferRange: the most bytes one binding sees
	align    uint64 // where a binding's window may start (minStorageBufferOffsetAlignment, at least 16 for 16-byte loads)
	invCap   uint64 // the invocations a dispatch uses at most: enough to fill the device
	run      uint32 // quads per work item (the shaders' RUN)
	// subgroup: GEN_BITS with RUN = 1 assembles mask words with subgroup
	// operations (dropout_sg), not in shared memory.
	subgroup bool
}

// layoutKnob is a test knob (config.layout) that overrides what
// newLimits chooses from the device's type.
type layoutKnob int

const (
	layoutDevice layoutKnob = iota // what the device is: a GPU or a CPU implementation
	layoutGPU                      // a GPU's: RUN = 1, subgroups where the device has them
	layoutShared                   // a GPU's, with GEN_BITS words assembled in shared memory
)

// subgroupBits reports whether the device's subgroups can assemble
// GEN_BITS mask words (dropout_sg): shuffles in compute shaders, and
// subgroups of 8k invocations that tile the 64-invocation work groups.
func subgroupBits(s vkx.Subgroup) bool {
	const need = vkx.SubgroupBasic | vkx.SubgroupShuffle
	return s.Compute && s.Operations&need == need && s.Size >= 8 && s.Size <= vkx.WorkGroup && vkx.WorkGroup%s.Size == 0 && s.Size%8 == 0
}

func newLimits(d vkx.PhysicalDevice, maxInv uint64, knob layoutKnob) limits {
	l := limits{
		maxRange: uint64(d.Limits.MaxStorageBufferRange),
		align:    max(d.Limits.MinStorageOffsetAlign, 16),
	}
	// A GPU wants many resident invocations; a CPU implementation such as
	// lavapipe pays per work group and per invocation, so it gets a few
	// hundred work groups, each looping over many items.
	//
	// A GPU gives each invocation one quad of elements (RUN = 1), so that
	// neighbouring invocations access neighbouring 16 bytes. lavapipe runs a
	// work group as a SIMD loop over its invocations and pays for every
	// grid-stride step and its branches, so there an invocation covers 8
	// consecutive quads per step: with one quad per step, forward without a
	// mask (one Philox block per step) ran at half the speed of a bit mask
	// (32 elements per step).
	//
	// GEN_BITS on a GPU also gives each invocation one quad, and 8
	// neighbouring invocations assemble a mask word from their nibbles (32
	// elements per invocation would put neighbouring invocations' 16-byte
	// accesses 128 bytes apart); lavapipe's invocations own whole words.
	l.invCap, l.run = min(maxInv, 1<<22), 1
	l.subgroup = knob != layoutShared && subgroupBits(d.Subgroup)
	if d.Type == vkx.CPU && knob == layoutDevice {
		l.invCap, l.run = 256*vkx.WorkGroup, 8
	}
	return l
}

// window returns the binding for the n bytes of buf from byte off, and the
// index of byte off inside it in units of unit bytes. The window starts at
// an aligned offset and reaches as far as the device allows.
func (l limits) window(buf *vkx.Buffer, off, n, unit uint64) (vkx.Range, uint32, error) {
	start := off / l.align * l.align
	if off+n > buf.Size {
		return vkx.Range{}, 0, fmt.Errorf("vulkan: internal error: bytes [%d, %d) of a %d-byte buffer", off, off+n, buf.Size)
	}
	size := min(l.maxRange, buf.Size-start)
	if off+n-start > size {
		return vkx.Range{}, 0, fmt.Errorf("vulkan: internal error: bytes [%d, %d) do not fit one storage buffer range", off, off+n)
	}
	return vkx.Range{Buf: buf, Offset: start, Size: size}, uint32((off - start) / unit), nil
}

// push holds the push constants of one dispatch (kernels/glsl/common.glsl
// for the data shaders, mask.comp's block for the mask shader) and the
// flags, which go to the data shaders as specialization constant 1.
type push struct {
	w     [vkx.PushWords]uint32
	flags uint32
}

// Words of the data shaders' block.
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
	_
	pcScaleLo
	pcScaleHi
	pcAlphaBLo
	pcAlphaBHi
	pcAlphaDLo
	pcAlphaDHi
	pcBBase
	pcRBase
	pcBiasLen
	pcBias0
	pcI0
	pcNDims
	pcBMask
	pcDims
)

// Words of mask.comp's block after the common ones (count … thresh).
const (
	pcWNDims = 10
	pcWords  = 12 // 4 words per axis: size, coordinate of I0, stride lo, hi
	maxWords = (vkx.PushWords - pcWords) / 4
)

// Specialization constants of the data shaders (kernels/glsl/common.glsl).
const (
	flagDropAll = 1 // F_DROPALL
	flagCopy    = 2 // F_COPY
	flagAlpha   = 4 // F_ALPHA
	flagBias    = 8 // F_BIAS
	flagResid   = 16

	dtF32  = 0
	dtF16  = 1
	dtBF16 = 2

	maxDims = vkx.PushWords - pcDims
)

// newPush returns the push constants of a launch of k over a, bases aside.
func newPush(k exec.Kernel, a *exec.Args) (push, error) {
	var pc push
	w := &pc.w
	w[pcCount] = uint32(a.N)
	w[pcOffLo], w[pcOffHi] = uint32(a.G0), uint32(a.G0>>32)
	w[pcSeedLo], w[pcSeedHi] = uint32(a.Seed), uint32(a.Seed>>32)
	w[pcThresh] = a.Thresh
	if a.DropAll {
		pc.flags |= flagDropAll
	}
	if a.CopyKept {
		pc.flags |= flagCopy
	}
	if k == exec.MaskBits || k == exec.MaskBytes {
		if len(a.Words) > maxWords {
			return pc, fmt.Errorf("vulkan: a region word map of %d axes (at most %d): %w", len(a.Words), maxWords, dropout.ErrUnsupported)
		}
		w[pcWNDims] = uint32(len(a.Words))
		i0 := uint64(a.I0)
		for d := len(a.Words) - 1; d >= 0; d-- {
			wd, o := a.Words[d], pcWords+4*d
			size := uint64(wd.Size)
			if size == 0 || size > math.MaxUint32 {
				return pc, fmt.Errorf("vulkan: internal error: word map axis of %d elements", wd.Size)
			}
			w[o], w[o+1] = uint32(size), uint32(i0%size)
			w[o+2], w[o+3] = uint32(wd.Stride), uint32(wd.Stride>>32)
			i0 /= size
		}
		return pc, nil
	}
	scale, b, d := a.Scale64, a.B64, a.D64
	if a.Alpha {
		pc.flags |= flagAlpha
		scale = a.A64
	}
	if a.DType == dropout.Float64 {
		for i, v := range []float64{scale, b, d} {
			bits := math.Float64bits(v)
			w[pcScaleLo+2*i], w[pcScaleLo+2*i+1] = uint32(bits), uint32(bits>>32)
		}
	} else {
		s32 := a.Scale32
		if a.Alpha {
			s32 = a.A32
		}
		w[pcScaleLo] = math.Float32bits(s32)
		w[pcAlphaBLo] = math.Float32bits(a.B32)
		w[pcAlphaDLo] = math.Float32bits(a.D32)
	}
	if a.HasBias {
		if a.BiasLen <= 0 || a.BiasLen >= 1<<31 {
			return pc, fmt.Errorf("vulkan: a bias of %d elements (at most 2^31-1): %w", a.BiasLen, dropout.ErrUnsupported)
		}
		pc.flags |= flagBias
		w[pcBiasLen] = uint32(a.BiasLen)
		w[pcBias0] = uint32(a.I0 % a.BiasLen)
	}
	if a.HasResid {
		pc.flags |= flagResid
	}
	w[pcI0] = uint32(a.I0)
	w[pcNDims] = uint32(len(a.Dims))
	for i, dm := range a.Dims {
		w[pcDims+i] = uint32(dm.Size)
		if dm.Stride == 0 {
			w[pcBMask] |= 1 << i
		}
	}
	return pc, nil
}

func roundUp(n, m uint64) uint64 { return (n + m - 1) / m * m }
