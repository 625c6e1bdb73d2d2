package dropouttest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gpudropout/dropout"
)

// copyAt sets dst[di] = src[si] for tensors of one type, bit for bit.
func copyAt(dst dropout.Tensor, di int, src dropout.Tensor, si int) {
	switch d := dst.(type) {
	case dropout.Float32s:
		d[di] = src.(dropout.Float32s)[si]
	case dropout.Float64s:
		d[di] = src.(dropout.Float64s)[si]
	case dropout.Float16s:
		d[di] = src.(dropout.Float16s)[si]
	case dropout.BFloat16s:
		d[di] = src.(dropout.BFloat16s)[si]
	case dropout.Bytes:
		d[di] = src.(dropout.Bytes)[si]
	default:
		panic(fmt.Sprintf("dropouttest: copyAt into %T", dst))
	}
}

// blockIndex calls fn(i, g) for every element of the block of the given
// shape at start in a row-major tensor of shape global: i is the element's
// index in the block, g in the global tensor.
func blockIndex(global, start, shape []int, fn func(i, g int)) {
	c := make([]int, len(shape))
	for i := range prod(shape) {
		unravel(c, i, shape)
		g := 0
		for k := range c {
			g = g*global[k] + start[k] + c[k]
		}
		fn(i, g)
	}
}

// Block returns a copy of the block of the given shape at start of t, a
// host tensor of row-major shape global.
func Block(t dropout.Tensor, global, start, shape []int) dropout.Tensor {
	b := Zeros(t.DType(), prod(shape))
	blockIndex(global, start, shape, func(i, g int) { copyAt(b, i, t, g) })
	return b
}

// PutBlock copies b, the block of the given shape at start, into t, a host
// tensor of row-major shape global.
func PutBlock(t dropout.Tensor, global, start, shape []int, b dropout.Tensor) {
	blockIndex(global, start, shape, func(i, g int) { copyAt(t, g, b, i) })
}

// MaskBlock returns what a region call stores in format f: the block of the
// global call's stored mask (over noise, or global when noise is nil),
// in the block's row-major order (CONTRACT.md §9), with zero padding bits.
func MaskBlock(mask dropout.Tensor, f dropout.MaskFormat, global, noise, start, shape []int) dropout.Tensor {
	if f == dropout.MaskNone {
		return nil
	}
	if noise == nil {
		noise = global
	}
	// The block of the mask: broadcast axes shrink to their one element.
	ms, mo := slices.Clone(shape), slices.Clone(start)
	for k, d := range noise {
		if d == 1 {
			ms[k], mo[k] = 1, 0
		}
	}
	m := NewMask(f, prod(ms))
	for i := range m.(dropout.Bytes) {
		m.(dropout.Bytes)[i] = 0
	}
	blockIndex(noise, mo, ms, func(i, g int) {
		if bit(mask, f, g) == 1 {
			setBit(m, f, i)
		}
	})
	return m
}

func setBit(m dropout.Tensor, f dropout.MaskFormat, j int) {
	if f == dropout.MaskBits {
		m.(dropout.Bytes)[j/8] |= 1 << (j % 8)
	} else {
		m.(dropout.Bytes)[j] = 1
	}
}

// RandomRegion returns a random global shape of rank 1–4 (each axis 1 to
// maxAxis) and a block in it: along each axis the whole axis, a 1-wide
// slice, an edge slice or any slice; sometimes the whole tensor.
func RandomRegion(r *rand.Rand, maxAxis int) (global, start, shape []int) {
	rank := 1 + r.IntN(4)
	global, start, shape = make([]int, rank), make([]int, rank), make([]int, rank)
	whole := r.IntN(8) == 0
	for k := range global {
		global[k] = 1 + r.IntN(maxAxis)
		if rank == 1 && r.IntN(2) == 0 {
			global[k] = 1 + r.IntN(40*maxAxis) // long enough for vectors and mask words
		}
		g := global[k]
		switch {
		case whole || r.IntN(4) == 0:
			start[k], shape[k] = 0, g
		case r.IntN(3) == 0:
			start[k], shape[k] = r.IntN(g), 1
		case r.IntN(2) == 0:
			start[k] = r.IntN(g)
			shape[k] = g - start[k] // to the edge
		default:
			start[k] = r.IntN(g)
			shape[k] = 1 + r.IntN(g-start[k])
		}
	}
	return global, start, shape
}

// RandomNoise returns nil or a noise shape on global broadcasting some axes.
func RandomNoise(r *rand.Rand, global []int) []int {
	if r.IntN(2) == 0 {
		return nil
	}
	ns := slices.Clone(global)
	for k := range ns {
		if r.IntN(2) == 0 {
			ns[k] = 1
		}
	}
	return ns
}

// Whole returns the Params of the call over the whole global tensor that
// the region call p is a block of.
func Whole(p dropout.Params) dropout.Params {
	p.Shape, p.Global, p.Start = p.Global, nil, nil
	return p
}

// regions checks calls over blocks of a larger tensor (CONTRACT.md §9):
// random 1–4-d global shapes and blocks (1-wide, edge, whole), noise
// shapes on the global shape, every mask format and type, alpha dropout
// and the fused op where claimed, forward and backward both ways. A block's
// output and stored mask must be the block of one global call's, and equal
// the reference's and the contract's definition.
func (s *suite) regions(t *testing.T) {
	caps := s.b.Device().Caps
	if !caps.Regions {
		x := make(dropout.Float32s, 4)
		p := dropout.Params{P: 0.5, Shape: []int{2, 2}, Global: []int{4, 4}, Start: []int{1, 2}}
		refuses(t, "regions", s.b.Forward(x, x, nil, p), dropout.ErrUnsupported)
		refuses(t, "regions", s.b.Backward(x, x, nil, p), dropout.ErrUnsupported)
		t.Skip("the backend does not claim regions")
	}
	r := rand.New(rand.NewPCG(14, 0x5eed))
	types := s.allTypes()
	ps := []float64{0.5, 0, 0.1, 0.9, 1}
	offsets := []uint64{0, 7, 1<<32 - 5, math.MaxUint64 - 20}
	for trial := range 80 {
		global, start, shape := RandomRegion(r, 7)
		dt := types[trial%len(types)]
		p := dropout.Params{
			P: ps[trial%len(ps)], Seed: r.Uint64(), Offset: offsets[trial%len(offsets)],
			Mask: Formats[trial%len(Formats)], Shape: shape, Global: global, Start: start,
			NoiseShape: RandomNoise(r, global),
			Alpha:      caps.Alpha && trial%5 == 1,
		}
		fused := caps.Fused && !p.Alpha && trial%4 == 2
		s.regionCase(t, dt, p, fused)
	}
	// A block of a tensor larger than a chunk, rows crossing chunks.
	for _, dt := range types {
		p := dropout.Params{P: 0.3, Seed: 1, Offset: 1<<32 - 1000, Mask: dropout.MaskBits,
			Global: []int{9, 3000}, Start: []int{2, 13}, Shape: []int{6, 2981}}
		s.regionCase(t, dt, p, false)
		p.NoiseShape = []int{9, 1}
		s.regionCase(t, dt, p, false)
	}
	s.regionErrors(t)
}

// regionCase runs one region call on the backend and checks it against the
// global call on the reference, the reference's own region call and the
// model.
func (s *suite) regionCase(t *testing.T, dt dropout.DType, p dropout.Params, fused bool) {
	t.Helper()
	wp := Whole(p)
	gn := prod(p.Global)
	xg, dyg := Data(dt, gn, uint64(gn)+1), Data(dt, gn, uint64(gn)+2)
	gc := fwdCall{x: xg, p: wp}
	c := fwdCall{x: Block(xg, p.Global, p.Start, p.Shape), p: p}
	if fused {
		last := len(p.Global) - 1
		gc.bias, gc.res, gc.fused = Data(dt, p.Global[last], 3), Data(dt, gn, 4), true
		c.bias = Block(gc.bias, p.Global[last:], p.Start[last:], p.Shape[last:])
		c.res, c.fused = Block(gc.res, p.Global, p.Start, p.Shape), true
	}
	yg, mg, err := gc.outputs(s.ref)
	if err != nil {
		t.Fatalf("reference %v: %v", gc, err)
	}
	y, m := s.checkFwd(t, c)
	s.same(t, c, "the block of the global call "+gc.String(), y, m,
		Block(yg, p.Global, p.Start, p.Shape), MaskBlock(mg, p.Mask, p.Global, p.NoiseShape, p.Start, p.Shape))
	// Backward both ways: the block of the global backward.
	dy := Block(dyg, p.Global, p.Start, p.Shape)
	s.checkBwd(t, c, dy, m)
	dxg := Zeros(dt, gn)
	if err := s.ref.Backward(dxg, dyg, mg, wp); err != nil {
		t.Fatalf("reference Backward of %v: %v", gc, err)
	}
	dx := Zeros(dt, dy.Len())
	if err := s.b.Backward(dx, dy, m, p); err != nil {
		t.Fatalf("Backward of %v: %v", c, err)
	}
	if err := Equal(dx, Block(dxg, p.Global, p.Start, p.Shape)); err != nil {
		t.Fatalf("Backward of %v is not the block of the global backward: %v", c, err)
	}
}

func (s *suite) regionErrors(t *testing.T) {
	x := make(dropout.Float32s, 4)
	for _, tc := range []struct {
		name string
		p    dropout.Params
		want error
	}{
		{"no Shape", dropout.Params{P: 0.5, Global: []int{4, 4}, Start: []int{0, 0}}, dropout.ErrShape},
		{"Start without Global", dropout.Params{P: 0.5, Shape: []int{2, 2}, Start: []int{0, 0}}, dropout.ErrShape},
		{"rank mismatch", dropout.Params{P: 0.5, Shape: []int{2, 2}, Global: []int{4, 4}, Start: []int{0}}, dropout.ErrShape},
		{"block past the edge", dropout.Params{P: 0.5, Shape: []int{2, 2}, Global: []int{4, 4}, Start: []int{3, 0}}, dropout.ErrShape},
		{"negative start", dropout.Params{P: 0.5, Shape: []int{2, 2}, Global: []int{4, 4}, Start: []int{-1, 0}}, dropout.ErrShape},
		{"block of the wrong size", dropout.Params{P: 0.5, Shape: []int{2, 3}, Global: []int{4, 4}, Start: []int{0, 0}}, dropout.ErrLength},
		{"noise shape on the block", dropout.Params{P: 0.5, Shape: []int{2, 2}, Global: []int{4, 4}, Start: []int{0, 0}, NoiseShape: []int{2, 1}}, dropout.ErrShape},
	} {
		for _, op := range []struct {
			name string
			fn   func(dst, x, mask dropout.Tensor, p dropout.Params) error
		}{{"Forward", s.b.Forward}, {"Backward", s.b.Backward}} {
			if err := op.fn(x, x, nil, tc.p); !errors.Is(err, tc.want) {
				t.Errorf("%s of a region with %s: got %v, want %v", op.name, tc.name, err, tc.want)
			}
		}
	}
	// A block's mask has the block's mask length, not the global one.
	p := dropout.Params{P: 0.5, Shape: []int{2, 2}, Global: []int{4, 4}, Start: []int{1, 1}, Mask: dropout.MaskBytes}
	if err := s.b.Forward(x, x, make(dropout.Bytes, 16), p); !errors.Is(err, dropout.ErrLength) {
		t.Errorf("Forward of a 2x2 block with a 16-byte mask: got %v, want ErrLength", err)
	}
}
