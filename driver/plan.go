package driver

import "github.com/gpudropout/dropout"

// Plan is a validated call: what a backend needs to run it.
type Plan struct {
	DType     dropout.DType
	N         int                // tensor elements
	MaskN     int                // mask elements (stream words used)
	Mask      dropout.MaskFormat // format of the mask tensor
	Seed      uint64
	Offset    uint64
	Threshold uint64  // keep iff word >= Threshold
	Scale32   float32 // scale for float32 and 16-bit data
	Scale64   float64 // scale for float64 data
	Copy      bool    // p == 0: the output is a bit-exact copy
	// DropAll is p == 1: nothing is kept (Threshold is 2^32).
	DropAll bool

	// Alpha is alpha dropout (Params.Alpha), with its coefficients rounded
	// once to float32 (float32 and 16-bit data) and float64: forward gives
	// keep ? A·x + B : D (the product rounded before the add), backward
	// keep ? A·dy : 0. With p = 0 the output is a bit copy (Copy), with p =
	// 1 it is +0 everywhere (DropAll), whatever the coefficients.
	Alpha              bool
	AlphaA32, AlphaB32 float32
	AlphaD32           float32
	AlphaA64, AlphaB64 float64
	AlphaD64           float64

	// Fused calls (NewFusedPlan) only: whether a bias (BiasLen elements,
	// broadcast along the last axis: tensor element i adds bias[i %
	// BiasLen]) and a residual are present.
	Fused    bool
	HasBias  bool
	BiasLen  int
	Residual bool

	// Words maps mask elements to stream words for a region whose mask is
	// not one contiguous run of the stream (nil otherwise: mask element j
	// uses word Offset + j, and Offset already includes the region's
	// start).
	Words *WordMap

	// Dims and Bcast describe the noise-shape broadcast in canonical form:
	// the tensor's shape with adjacent axes merged so that no two neighbours
	// have the same broadcast flag. Bcast[i] is true where the mask is
	// broadcast along Dims[i]. Nil when the mask covers the tensor one to one.
	Dims  []int
	Bcast []bool
}

// WordMap is where a region's mask elements lie in the stream: mask
// element k, with coordinates c in Dims (row-major), uses stream word
// Offset + Σ c[d]·Strides[d], all modulo 2^64. Dims are canonical: no
// axis of size 1, and no two neighbours that one axis could replace (so
// Strides[len-1] may be 1 while the mask's rows are not adjacent in the
// stream). Dims' product is MaskN.
type WordMap struct {
	Dims    []int
	Strides []uint64
}

// Word returns the stream word of mask element j: the plain, slow
// definition that kernels compute incrementally.
func (pl *Plan) Word(j int) uint64 {
	if pl.Words == nil {
		return pl.Offset + uint64(j)
	}
	g := pl.Offset
	for d := len(pl.Words.Dims) - 1; d >= 0; d-- {
		n := pl.Words.Dims[d]
		g += uint64(j%n) * pl.Words.Strides[d]
		j /= n
	}
	return g
}

// Broadcast reports whether the mask is broadcast over the tensor.
func (pl *Plan) Broadcast() bool { return pl.Dims != nil }

// MaskIndex returns the mask element that tensor element i uses. It is the
// plain, slow definition; kernels compute the same thing incrementally.
func (pl *Plan) MaskIndex(i int) int {
	if pl.Dims == nil {
		return i
	}
	j, stride := 0, 1
	for d := len(pl.Dims) - 1; d >= 0; d-- {
		c := i % pl.Dims[d]
		i /= pl.Dims[d]
		if !pl.Bcast[d] {
			j += c * stride
			stride *= pl.Dims[d]
		}
	}
	return j
}

// NewPlan validates a forward or backward call (dropout.Params.CheckCall,
// then CheckOverlap of dst, src and the mask a mask format uses) and
// returns the plan the backend runs.
func NewPlan(dst, src, mask dropout.Tensor, p dropout.Params) (Plan, error) {
	if err := p.CheckCall(dst, src, mask); err != nil {
		return Plan{}, err
	}
	if p.Mask == dropout.MaskNone {
		mask = nil
	}
	if err := CheckOverlap([]string{"dst", "src", "mask"}, []dropout.Tensor{dst, src, mask}); err != nil {
		return Plan{}, err
	}
	return newPlan(src, p), nil
}

// newPlan returns the plan of a valid call over src.
func newPlan(src dropout.Tensor, p dropout.Params) Plan {
	n, m := src.Len(), p.MaskLen(src.Len())
	A, B, D := dropout.AlphaCoefficients(p.P)
	pl := Plan{
		DType:     src.DType(),
		N:         n,
		MaskN:     m,
		Mask:      p.Mask,
		Seed:      p.Seed,
		Offset:    p.Offset,
		Threshold: dropout.Threshold(p.P),
		Scale32:   dropout.Scale32(p.P),
		Scale64:   dropout.Scale64(p.P),
		Copy:      p.P == 0,
		DropAll:   p.P == 1,
		Alpha:     p.Alpha,
	}
	if p.Alpha {
		pl.AlphaA32, pl.AlphaB32, pl.AlphaD32 = float32(A), float32(B), float32(D)
		pl.AlphaA64, pl.AlphaB64, pl.AlphaD64 = A, B, D
	}
	noise := p.NoiseShape
	if p.IsRegion() {
		noise = p.MaskShape()
		pl.Offset, pl.Words = regionWords(p)
	}
	if noise != nil && m != n {
		shape := p.Shape
		if shape == nil {
			shape = []int{n}
		}
		for i, d := range shape {
			b := noise[i] == 1 && d != 1
			if d == 1 {
				continue // size-1 axes merge with anything
			}
			if k := len(pl.Dims); k > 0 && pl.Bcast[k-1] == b {
				pl.Dims[k-1] *= d
				continue
			}
			pl.Dims = append(pl.Dims, d)
			pl.Bcast = append(pl.Bcast, b)
		}
	}
	return pl
}

// NewFusedPlan validates a fused call (dropout.Params.CheckFused, then
// CheckOverlap of all its tensors) and returns its plan: NewPlan's, with
// Fused, HasBias, BiasLen and Residual set.
func NewFusedPlan(dst, x, bias, residual, mask dropout.Tensor, p dropout.Params) (Plan, error) {
	if err := p.CheckFused(dst, x, bias, residual, mask); err != nil {
		return Plan{}, err
	}
	if p.Mask == dropout.MaskNone {
		mask = nil
	}
	if err := CheckOverlap([]string{"dst", "x", "bias", "residual", "mask"}, []dropout.Tensor{dst, x, bias, residual, mask}); err != nil {
		return Plan{}, err
	}
	pl := newPlan(x, p)
	pl.Fused = true
	pl.HasBias = bias != nil
	pl.BiasLen = p.BiasLen(x.Len())
	pl.Residual = residual != nil
	return pl, nil
}

// regionWords returns the stream word of a region's mask element 0 and,
// unless its mask is one contiguous run of the stream, the map of the
// others (dropout.Params.Global; p is valid).
func regionWords(p dropout.Params) (uint64, *WordMap) {
	global := p.Global
	if p.NoiseShape != nil {
		global = p.NoiseShape
	}
	mshape := p.MaskShape()
	// strides of the global mask, and the block's first word
	r := len(global)
	strides := make([]uint64, r)
	g0 := p.Offset
	st := uint64(1)
	for d := r - 1; d >= 0; d-- {
		strides[d] = st
		if global[d] != 1 {
			g0 += uint64(p.Start[d]) * st
		}
		st *= uint64(global[d])
	}
	// canonical form: drop size-1 axes, merge neighbours that are one run
	var w WordMap
	for d := 0; d < r; d++ {
		if mshape[d] == 1 {
			continue
		}
		if k := len(w.Dims) - 1; k >= 0 && w.Strides[k] == strides[d]*uint64(mshape[d]) {
			w.Dims[k] *= mshape[d]
			w.Strides[k] = strides[d]
			continue
		}
		w.Dims = append(w.Dims, mshape[d])
		w.Strides = append(w.Strides, strides[d])
	}
	if len(w.Dims) == 0 || len(w.Dims) == 1 && w.Strides[0] == 1 {
		return g0, nil
	}
	for _, n := range w.Dims {
		if n == 0 {
			return g0, nil // an empty mask uses no words
		}
	}
	return g0, &w
}
