package dropouttest

import (
	"fmt"
	"math"

	"github.com/gpudropout/dropout"
)

// model is the stream contract computed element by element from its
// definitions (CONTRACT.md §3–§10), with the suite's own 16-bit
// conversions and no code of any backend: the reference backend is
// compared with it, every other backend with the reference (and, on small
// cases, with it too). It is slow and plain on purpose.
type model struct {
	p    dropout.Params
	n    int
	s    []int // the tensor's (block's) shape
	g    []int // the global shape (s for a whole tensor)
	o    []int // the block's start (zeros for a whole tensor)
	ns   []int // the noise shape, on g
	ms   []int // the shape of the stored mask
	keep []bool
}

// newModel computes the keep decision of every stored mask element of a
// call over n elements under p. p must be valid.
func newModel(p dropout.Params, n int) *model {
	md := &model{p: p, n: n, s: p.Shape}
	if md.s == nil {
		md.s = []int{n}
	}
	md.g, md.o = p.Global, p.Start
	if md.g == nil {
		md.g, md.o = md.s, make([]int, len(md.s))
	}
	md.ns = p.NoiseShape
	if md.ns == nil {
		md.ns = md.g
	}
	md.ms = make([]int, len(md.s))
	for k := range md.s {
		md.ms[k] = md.s[k]
		if md.ns[k] == 1 {
			md.ms[k] = 1
		}
	}
	T := uint64(math.Floor(p.P * (1 << 32)))
	md.keep = make([]bool, prod(md.ms))
	c := make([]int, len(md.ms))
	for j := range md.keep {
		unravel(c, j, md.ms)
		// global mask coordinates: the block's start plus c where the mask
		// is not broadcast, 0 where it is
		var w uint64
		for k := range c {
			gk := 0
			if md.ns[k] != 1 {
				gk = md.o[k] + c[k]
			}
			w = w*uint64(md.ns[k]) + uint64(gk)
		}
		md.keep[j] = uint64(dropout.Word(p.Seed, p.Offset+w)) >= T
	}
	return md
}

func prod(s []int) int {
	m := 1
	for _, d := range s {
		m *= d
	}
	return m
}

// unravel sets c to the coordinates of row-major index i in shape s.
func unravel(c []int, i int, s []int) {
	for k := len(s) - 1; k >= 0; k-- {
		if s[k] > 0 {
			c[k] = i % s[k]
			i /= s[k]
		}
	}
}

// maskIndex returns the stored mask element tensor element i uses.
func (md *model) maskIndex(i int) int {
	c := make([]int, len(md.s))
	unravel(c, i, md.s)
	j := 0
	for k := range c {
		ck := c[k]
		if md.ms[k] == 1 {
			ck = 0
		}
		j = j*md.ms[k] + ck
	}
	return j
}

// mask returns the stored mask in format f (nil for MaskNone).
func (md *model) mask(f dropout.MaskFormat) dropout.Tensor {
	if f == dropout.MaskNone {
		return nil
	}
	m := make(dropout.Bytes, f.Bytes(len(md.keep)))
	for j, k := range md.keep {
		if !k {
			continue
		}
		if f == dropout.MaskBits {
			m[j/8] |= 1 << (j % 8)
		} else {
			m[j] = 1
		}
	}
	return m
}

// keepOf returns the keep decision of each tensor element: from the
// stream, or read from a stored mask when mask is not nil.
func (md *model) keepOf(mask dropout.Tensor, f dropout.MaskFormat) []bool {
	k := make([]bool, md.n)
	for i := range k {
		j := md.maskIndex(i)
		switch {
		case mask == nil || f == dropout.MaskNone:
			k[i] = md.keep[j]
		case f == dropout.MaskBits:
			k[i] = mask.(dropout.Bytes)[j/8]>>(j%8)&1 == 1
		default:
			k[i] = mask.(dropout.Bytes)[j] != 0
		}
	}
	return k
}

// arith is the arithmetic of a data type: values are held in float64
// (exact for every type, and float64 results of one operation on float32
// operands round innocuously to float32, since 53 >= 2·24+2).
type arith struct {
	dt  dropout.DType
	rnd func(float64) float64 // to the compute type (float32 or float64)
	out func(float64) float64 // to the data type (through round16 for 16-bit)
}

func arithOf(dt dropout.DType) arith {
	f32 := func(v float64) float64 { return float64(float32(v)) }
	switch dt {
	case dropout.Float64:
		id := func(v float64) float64 { return v }
		return arith{dt, id, id}
	case dropout.Float16, dropout.BFloat16:
		f := format16Of(dt)
		return arith{dt, f32, func(v float64) float64 { return float64(f.widen(f.round(float32(v)))) }}
	}
	return arith{dt, f32, f32}
}

// get and set move element i of a float tensor through float64 (exact for
// every type); raw and setRaw move its bits.
func get(t dropout.Tensor, i int) float64 {
	switch t := t.(type) {
	case dropout.Float32s:
		return float64(t[i])
	case dropout.Float64s:
		return t[i]
	case dropout.Float16s:
		return float64(binary16.widen(t[i]))
	case dropout.BFloat16s:
		return float64(bfloat16.widen(t[i]))
	}
	panic(fmt.Sprintf("dropouttest: get from %T", t))
}

func set(t dropout.Tensor, i int, v float64) {
	switch t := t.(type) {
	case dropout.Float32s:
		t[i] = float32(v)
	case dropout.Float64s:
		t[i] = v
	case dropout.Float16s:
		t[i] = binary16.round(float32(v))
	case dropout.BFloat16s:
		t[i] = bfloat16.round(float32(v))
	default:
		panic(fmt.Sprintf("dropouttest: set in %T", t))
	}
}

// coefficients returns s and alpha dropout's A, B, D rounded to the
// compute type of dt.
func coefficients(a arith, p float64) (s, A, B, D float64) {
	s = 1 / (1 - p)
	if p == 1 {
		s = 0
	}
	A, B, D = dropout.AlphaCoefficients(p)
	return a.rnd(s), a.rnd(A), a.rnd(B), a.rnd(D)
}

// forward returns what Forward(dst, x, mask, p) must give: the output and
// the stored mask.
func (md *model) forward(x dropout.Tensor) (dropout.Tensor, dropout.Tensor) {
	return md.fused(x, nil, nil)
}

// fused returns what ForwardFused(dst, x, bias, residual, mask, p) must
// give (Forward without bias and residual): t = x + b, u = keep ? t·s : +0,
// y = r + u, each rounded to the data type; alpha dropout keep ? (A·x) + B
// : D; p = 0 copies x.
func (md *model) fused(x, bias, residual dropout.Tensor) (dropout.Tensor, dropout.Tensor) {
	dt := x.DType()
	a := arithOf(dt)
	s, A, B, D := coefficients(a, md.p.P)
	y := Zeros(dt, md.n)
	keep := md.keepOf(nil, dropout.MaskNone)
	blen := md.p.BiasLen(md.n)
	for i := range md.n {
		if md.p.P == 0 && bias == nil && residual == nil {
			copyAt(y, i, x, i) // a bit copy, NaN payloads included
			continue
		}
		t := get(x, i)
		if bias != nil {
			t = a.out(t + get(bias, i%blen))
		}
		var u float64 // +0
		switch {
		case md.p.Alpha && keep[i]:
			u = a.out(a.rnd(A*t) + B)
		case md.p.Alpha:
			u = a.out(D)
		case keep[i]:
			u = a.out(t * s)
		}
		if residual != nil {
			u = a.out(get(residual, i) + u)
		}
		set(y, i, u)
	}
	return y, md.mask(md.p.Mask)
}

// backward returns what Backward(dx, dy, mask, p) must give: dx = keep ?
// dy·s : +0 (alpha dropout: keep ? A·dy : +0), keep read from mask in
// format f, or from the stream when mask is nil.
func (md *model) backward(dy, mask dropout.Tensor, f dropout.MaskFormat) dropout.Tensor {
	dt := dy.DType()
	a := arithOf(dt)
	s, A, _, _ := coefficients(a, md.p.P)
	if md.p.Alpha {
		s = A
	}
	dx := Zeros(dt, md.n)
	for i, k := range md.keepOf(mask, f) {
		var v float64
		if k {
			v = a.out(get(dy, i) * s)
		}
		set(dx, i, v)
	}
	return dx
}
