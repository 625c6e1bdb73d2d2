package cpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/internal/half"
)

// getBits and setBits read and write element i of a host tensor as bits.
func getBits(t dropout.Tensor, i int) uint64 {
	switch t := t.(type) {
	case dropout.Float32s:
		return uint64(math.Float32bits(t[i]))
	case dropout.Float64s:
		return math.Float64bits(t[i])
	case dropout.Float16s:
		return uint64(t[i])
	case dropout.BFloat16s:
		return uint64(t[i])
	case dropout.Bytes:
		return uint64(t[i])
	}
	panic(fmt.Sprintf("getBits: %T", t))
}

func setBits(t dropout.Tensor, i int, v uint64) {
	switch t := t.(type) {
	case dropout.Float32s:
		t[i] = math.Float32frombits(uint32(v))
	case dropout.Float64s:
		t[i] = math.Float64frombits(v)
	case dropout.Float16s:
		t[i] = uint16(v)
	case dropout.BFloat16s:
		t[i] = uint16(v)
	case dropout.Bytes:
		t[i] = byte(v)
	}
}

// isNaN reports whether element i of a host tensor is a NaN.
func isNaN(t dropout.Tensor, i int) bool {
	b := getBits(t, i)
	switch t.DType() {
	case dropout.Float32:
		return b&0x7fffffff > 0x7f800000
	case dropout.Float64:
		return b&(1<<63-1) > 0x7ff0000000000000
	case dropout.Float16:
		return b&0x7fff > 0x7c00
	case dropout.BFloat16:
		return b&0x7fff > 0x7f80
	}
	return false
}

// randomTensor returns n values of dt, mostly ordinary numbers with NaN,
// ±Inf, ±0, subnormals and extremes among them.
func randomTensor(r *rand.Rand, dt dropout.DType, n int) dropout.Tensor {
	t := dropouttest.Zeros(dt, n)
	special := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1e-40, 3e-8, -6e-5, 65504, -70000, 1, -1}
	for i := 0; i < n; i++ {
		v := (r.Float64()*2 - 1) * math.Exp2(float64(r.IntN(20)-10))
		if r.IntN(10) == 0 {
			v = special[r.IntN(len(special))]
		}
		switch t := t.(type) {
		case dropout.Float32s:
			t[i] = float32(v)
		case dropout.Float64s:
			t[i] = v
		case dropout.Float16s:
			t[i] = half.Float32ToFloat16(float32(v))
		case dropout.BFloat16s:
			t[i] = half.Float32ToBFloat16(float32(v))
		}
	}
	return t
}

// sameTensor reports the first element where a and b differ (NaNs of any
// payload being equal), or -1.
func sameTensor(a, b dropout.Tensor) int {
	for i := 0; i < a.Len(); i++ {
		if getBits(a, i) != getBits(b, i) && !(isNaN(a, i) && isNaN(b, i)) {
			return i
		}
	}
	return -1
}

var allDTypes = []dropout.DType{dropout.Float32, dropout.Float64, dropout.Float16, dropout.BFloat16}

// regionCase is a global call and a partition of its tensor into blocks.
type regionCase struct {
	global, noise []int
	cuts          [][]int // per axis, the block boundaries (0 … global[d])
	dt            dropout.DType
	p             float64
	mask          dropout.MaskFormat
	op            string // "plain", "alpha", "fused"
	bias, res     bool
	offset        uint64
}

func randomRegionCase(r *rand.Rand) regionCase {
	c := regionCase{dt: allDTypes[r.IntN(len(allDTypes))], mask: dropout.MaskFormat(r.IntN(3)),
		p: []float64{0, 0.25, 0.5, 0.9, 1}[r.IntN(5)], offset: ^uint64(0) - uint64(r.IntN(200))}
	c.op = []string{"plain", "alpha", "fused"}[r.IntN(3)]
	c.bias, c.res = r.IntN(2) == 0, r.IntN(2) == 0
	rank := 1 + r.IntN(4)
	c.global = make([]int, rank)
	c.cuts = make([][]int, rank)
	if r.IntN(2) == 0 {
		c.noise = make([]int, rank)
	}
	for d := range c.global {
		c.global[d] = 1 + r.IntN([]int{40, 9, 6, 5}[rank-1])
		if r.IntN(12) == 0 {
			c.global[d] = 0
		}
		cuts := []int{0}
		for cuts[len(cuts)-1] < c.global[d] {
			step := 1 + r.IntN(c.global[d])
			if r.IntN(3) == 0 {
				step = 1 // 1-wide blocks
			}
			cuts = append(cuts, min(cuts[len(cuts)-1]+step, c.global[d]))
		}
		if c.global[d] == 0 {
			cuts = append(cuts, 0)
		}
		c.cuts[d] = cuts
		if c.noise != nil {
			c.noise[d] = c.global[d]
			if r.IntN(2) == 0 {
				c.noise[d] = 1
			}
		}
	}
	return c
}

func (c regionCase) String() string {
	return fmt.Sprintf("global %v noise %v cuts %v %v p=%v mask=%v op=%s bias=%v res=%v offset=%#x", c.global, c.noise, c.cuts, c.dt, c.p, c.mask, c.op, c.bias, c.res, c.offset)
}

// coords returns the row-major coordinates of element i of shape.
func coords(i int, shape []int) []int {
	c := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		c[d] = i % shape[d]
		i /= shape[d]
	}
	return c
}

func index(c, shape []int) int {
	i := 0
	for d := range shape {
		i = i*shape[d] + c[d]
	}
	return i
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// call runs the forward call of c's op.
func (c regionCase) call(be dropout.Backend, y, x, bias, res, mask dropout.Tensor, p dropout.Params) error {
	if c.op == "fused" {
		return dropout.ForwardFused(be, y, x, bias, res, mask, p)
	}
	return be.Forward(y, x, mask, p)
}

// checkRegions cuts a random global call into blocks, runs each block on a
// backend from blocks, and checks the reassembled output, stored mask and
// backward pass (from the stored mask and regenerated) against the global
// call on global, bit for bit.
func checkRegions(t *testing.T, global dropout.Backend, blocks []dropout.Backend, iters int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 99))
	for it := 0; it < iters; it++ {
		c := randomRegionCase(r)
		n := prod(c.global)
		x := randomTensor(r, c.dt, n)
		var bias, res dropout.Tensor
		last := 0
		if len(c.global) > 0 {
			last = c.global[len(c.global)-1]
		}
		if c.op == "fused" && c.bias {
			bias = randomTensor(r, c.dt, last)
		}
		if c.op == "fused" && c.res {
			res = randomTensor(r, c.dt, n)
		}
		p := dropout.Params{P: c.p, Seed: r.Uint64(), Offset: c.offset, Mask: c.mask, Shape: c.global, NoiseShape: c.noise, Alpha: c.op == "alpha"}
		m := p.MaskLen(n)
		yG := dropouttest.Zeros(c.dt, n)
		maskG := make(dropout.Bytes, dropout.MaskBytes.Bytes(m)) // always bytes: blocks compare by element
		pb := p
		pb.Mask = dropout.MaskBytes
		if err := c.call(global, yG, x, bias, res, maskG, pb); err != nil {
			t.Fatalf("%v: global call: %v", c, err)
		}
		dy := randomTensor(r, c.dt, n)
		dxG := dropouttest.Zeros(c.dt, n)
		if err := global.Backward(dxG, dy, maskG, pb); err != nil {
			t.Fatalf("%v: global backward: %v", c, err)
		}
		mshapeG := c.global
		if c.noise != nil {
			mshapeG = c.noise
		}
		// every block of the partition
		nb := make([]int, len(c.global))
		for d := range nb {
			nb[d] = len(c.cuts[d]) - 1
		}
		for b := 0; b < prod(nb); b++ {
			bc := coords(b, nb)
			start, shape := make([]int, len(bc)), make([]int, len(bc))
			for d := range bc {
				start[d], shape[d] = c.cuts[d][bc[d]], c.cuts[d][bc[d]+1]-c.cuts[d][bc[d]]
			}
			be := blocks[r.IntN(len(blocks))]
			if err := c.checkBlock(be, p, start, shape, x, bias, res, dy, yG, dxG, maskG, mshapeG); err != nil {
				t.Fatalf("%v: block at %v of shape %v on %s: %v", c, start, shape, be.Name(), err)
			}
		}
	}
}

func (c regionCase) checkBlock(be dropout.Backend, p dropout.Params, start, shape []int, x, bias, res, dy, yG, dxG dropout.Tensor, maskG dropout.Bytes, mshapeG []int) error {
	nl := prod(shape)
	// the block's tensors, gathered from the global ones
	gidx := make([]int, nl)
	for i := range gidx {
		cl := coords(i, shape)
		for d := range cl {
			cl[d] += start[d]
		}
		gidx[i] = index(cl, c.global)
	}
	gather := func(t dropout.Tensor) dropout.Tensor {
		if t == nil {
			return nil
		}
		l := dropouttest.Zeros(t.DType(), nl)
		for i, g := range gidx {
			setBits(l, i, getBits(t, g))
		}
		return l
	}
	var lb dropout.Tensor
	if bias != nil {
		k := len(shape) - 1
		lb = dropouttest.Zeros(c.dt, shape[k])
		for i := 0; i < shape[k]; i++ {
			setBits(lb, i, getBits(bias, start[k]+i))
		}
	}
	lp := p
	lp.Shape, lp.Global, lp.Start = shape, c.global, start
	mshape := lp.MaskShape()
	m := prod(mshape)
	lm := make(dropout.Bytes, p.Mask.Bytes(m))
	ly := dropouttest.Zeros(c.dt, nl)
	lx := gather(x)
	if err := c.call(be, ly, lx, lb, gather(res), lm, lp); err != nil {
		return err
	}
	want := gather(yG)
	if i := sameTensor(ly, want); i >= 0 {
		return fmt.Errorf("forward: y[%d] = %#x, the global call's %#x", i, getBits(ly, i), getBits(want, i))
	}
	// the stored mask: the block of the global mask
	for j := 0; j < m; j++ {
		cm := coords(j, mshape)
		for d := range cm {
			if mshapeG[d] != 1 {
				cm[d] += start[d]
			} else {
				cm[d] = 0
			}
		}
		w := maskG[index(cm, mshapeG)]
		var got byte
		switch p.Mask {
		case dropout.MaskBits:
			got = lm[j/8] >> (j % 8) & 1
		case dropout.MaskBytes:
			got = lm[j]
		default:
			got = w
		}
		if got != w {
			return fmt.Errorf("mask element %d = %d, the global mask's %d", j, got, w)
		}
	}
	if p.Mask == dropout.MaskBits && m%8 != 0 && lm[len(lm)-1]>>(m%8) != 0 {
		return fmt.Errorf("bit mask padding %#x", lm[len(lm)-1])
	}
	// backward from the stored mask (or regenerated with MaskNone), and
	// regenerated
	wantDx := gather(dxG)
	ldy := gather(dy)
	for _, f := range []dropout.MaskFormat{p.Mask, dropout.MaskNone} {
		bp := lp
		bp.Mask = f
		ldx := dropouttest.Zeros(c.dt, nl)
		if err := be.Backward(ldx, ldy, lm, bp); err != nil {
			return fmt.Errorf("backward (%v): %w", f, err)
		}
		if i := sameTensor(ldx, wantDx); i >= 0 {
			return fmt.Errorf("backward (%v): dx[%d] = %#x, the global call's %#x", f, i, getBits(ldx, i), getBits(wantDx, i))
		}
	}
	return nil
}

func TestReferenceRegions(t *testing.T) {
	ref := cpu.NewReference()
	checkRegions(t, ref, []dropout.Backend{ref}, 300, 1)
}
