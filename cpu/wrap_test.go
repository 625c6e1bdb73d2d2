package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/internal/philox"
)

// wrapOracle is the stream contract (CONTRACT.md §2) written out for
// one call, straight from internal/philox's words: mask element j uses word
// offset+j (mod 2^64), tensor element i uses the mask element its
// coordinates select under the noise shape.
type wrapOracle struct {
	seed, offset uint64
	p            float64
	shape, noise []int // nil: one axis, no broadcast
	keep         []bool
}

func newWrapOracle(seed, offset uint64, p float64, n int, shape, noise []int) *wrapOracle {
	o := &wrapOracle{seed: seed, offset: offset, p: p, shape: shape, noise: noise}
	m := n
	if noise != nil {
		m = 1
		for _, d := range noise {
			m *= d
		}
	}
	t := dropout.Threshold(p)
	o.keep = make([]bool, m)
	for j := range o.keep {
		o.keep[j] = uint64(philox.Word(seed, offset+uint64(j))) >= t
	}
	return o
}

// maskIndex returns the mask element of tensor element i.
func (o *wrapOracle) maskIndex(i int) int {
	if o.noise == nil {
		return i
	}
	j, stride := 0, 1
	for a := len(o.shape) - 1; a >= 0; a-- {
		c := i % o.shape[a]
		i /= o.shape[a]
		if o.noise[a] != 1 {
			j += c * stride
		}
		stride *= o.noise[a]
	}
	return j
}

func (o *wrapOracle) mask(f dropout.MaskFormat) dropout.Bytes {
	m := make(dropout.Bytes, f.Bytes(len(o.keep)))
	for j, k := range o.keep {
		switch {
		case !k:
		case f == dropout.MaskBits:
			m[j/8] |= 1 << (j % 8)
		case f == dropout.MaskBytes:
			m[j] = 1
		}
	}
	return m
}

// y returns keep ? x*s : +0 for every element of x.
func (o *wrapOracle) y(x dropout.Tensor) dropout.Tensor {
	switch x := x.(type) {
	case dropout.Float32s:
		s := dropout.Scale32(o.p)
		y := make(dropout.Float32s, len(x))
		for i, v := range x {
			if o.keep[o.maskIndex(i)] {
				y[i] = v * s
			}
		}
		return y
	case dropout.Float64s:
		s := dropout.Scale64(o.p)
		y := make(dropout.Float64s, len(x))
		for i, v := range x {
			if o.keep[o.maskIndex(i)] {
				y[i] = v * s
			}
		}
		return y
	}
	panic("unreachable")
}

// firstDiff returns "" when a and b hold the same bits (any NaN equal to
// any NaN), else the first difference and the count of differences.
func firstDiff(a, b dropout.Tensor) string {
	n, first := 0, -1
	switch a := a.(type) {
	case dropout.Float32s:
		b := b.(dropout.Float32s)
		for i := range a {
			if !sameFloat32(a[i], b[i]) {
				if n++; first < 0 {
					first = i
				}
			}
		}
	case dropout.Float64s:
		b := b.(dropout.Float64s)
		for i := range a {
			if !sameFloat(a[i], b[i]) {
				if n++; first < 0 {
					first = i
				}
			}
		}
	case dropout.Bytes:
		b := b.(dropout.Bytes)
		for i := range a {
			if a[i] != b[i] {
				if n++; first < 0 {
					first = i
				}
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d elements differ, the first at %d", n, a.Len(), first)
}

func wrapData(f64 bool, n int, seed uint64) dropout.Tensor {
	v := testValues(rand.New(rand.NewPCG(seed, uint64(n))), n)
	if f64 {
		return dropout.Float64s(v)
	}
	x := make(dropout.Float32s, n)
	for i := range v {
		x[i] = float32(v[i])
	}
	return x
}

func zerosLike(x dropout.Tensor) dropout.Tensor {
	if x.DType() == dropout.Float64 {
		return make(dropout.Float64s, x.Len())
	}
	return make(dropout.Float32s, x.Len())
}

// checkWrapCall runs forward with every mask format and backward from a
// stored mask and regenerated on b, and compares each result bit for bit
// with the oracle.
func checkWrapCall(t *testing.T, name string, b dropout.Backend, x dropout.Tensor, p dropout.Params) {
	t.Helper()
	o := newWrapOracle(p.Seed, p.Offset, p.P, x.Len(), p.Shape, p.NoiseShape)
	want := o.y(x)
	for _, f := range []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes} {
		q := p
		q.Mask = f
		y := zerosLike(x)
		var m dropout.Bytes
		if f != dropout.MaskNone {
			m = make(dropout.Bytes, f.Bytes(len(o.keep)))
			for i := range m {
				m[i] = 0xA5 // garbage that a correct call overwrites
			}
		}
		if err := b.Forward(y, x, m, q); err != nil {
			t.Fatalf("%s mask=%v: Forward: %v", name, f, err)
		}
		if d := firstDiff(y, want); d != "" {
			t.Fatalf("%s mask=%v: forward y: %s", name, f, d)
		}
		if f != dropout.MaskNone {
			if d := firstDiff(m, o.mask(f)); d != "" {
				t.Fatalf("%s mask=%v: forward mask bytes: %s", name, f, d)
			}
		}
		// backward: dx = keep ? dy*s : 0, with dy = x, from the mask the
		// backend stored, from the oracle's mask, and regenerated
		dx := zerosLike(x)
		if err := b.Backward(dx, x, m, q); err != nil {
			t.Fatalf("%s mask=%v: Backward: %v", name, f, err)
		}
		if d := firstDiff(dx, want); d != "" {
			t.Fatalf("%s mask=%v: backward dx: %s", name, f, d)
		}
		if f != dropout.MaskNone {
			dx := zerosLike(x)
			if err := b.Backward(dx, x, o.mask(f), q); err != nil {
				t.Fatalf("%s mask=%v: Backward: %v", name, f, err)
			}
			if d := firstDiff(dx, want); d != "" {
				t.Fatalf("%s mask=%v: backward dx from the oracle's mask: %s", name, f, d)
			}
		}
	}
}

// wrapBackends returns the backends TestOffsetWrap runs: the reference, and
// the fast backend on each kernel set (AVX2 where the machine has it, and
// Options.Portable) with the given threads, split into spans as small as
// the spans' alignment allows.
func wrapBackends(threads int) []struct {
	name string
	b    dropout.Backend
} {
	var bs []struct {
		name string
		b    dropout.Backend
	}
	for _, portable := range []bool{false, true} {
		c := New(dropout.Options{Threads: threads, Portable: portable})
		if !portable && c.Kernels() == "portable" {
			continue // no SIMD set here: the portable run below covers it
		}
		c.minSpan = 1
		bs = append(bs, struct {
			name string
			b    dropout.Backend
		}{fmt.Sprintf("%s threads=%d", c.Kernels(), threads), c})
	}
	return bs
}

// TestOffsetWrap checks calls that cross the end of the stream, where word
// 2^64-1 is followed by word 0 and the block counter g>>2 wraps from 2^62-1
// to 0 (CONTRACT.md §2): offsets 2^64-k for k = 1 … 40, sizes that put
// the wrap at every position of a Philox block, a bit-mask byte and a
// 32-element kernel group, thread counts 1, 2, 3 and 7, both kernel sets,
// float32 and float64, every mask format, backward from a stored mask and
// regenerated, and noise shapes, all against the contract computed from
// internal/philox (not against the reference backend, which is checked the
// same way).
func TestOffsetWrap(t *testing.T) {
	seed := uint64(0x9E3779B97F4A7C15)
	for _, th := range []int{1, 2, 3, 7} {
		bs := wrapBackends(th)
		if th == 1 {
			bs = append(bs, struct {
				name string
				b    dropout.Backend
			}{"reference", NewReference()})
		}
		for _, be := range bs {
			for k := uint64(1); k <= 40; k++ {
				off := -k
				for _, n := range []int{int(k) + 1, int(k) + 3, int(k) + 34, 100, 389, 1027} {
					if uint64(n) <= k {
						continue
					}
					for _, f64 := range []bool{false, true} {
						x := wrapData(f64, n, k)
						p := dropout.Params{P: 0.5, Seed: seed + k, Offset: off}
						checkWrapCall(t, fmt.Sprintf("%s offset=2^64-%d n=%d f64=%v", be.name, k, n, f64), be.b, x, p)
					}
				}
			}
			// noise shapes whose mask crosses the wrap
			for _, nc := range []struct{ shape, noise []int }{
				{[]int{5, 6, 7}, []int{5, 1, 7}},
				{[]int{40, 3}, []int{40, 1}},
				{[]int{3, 50}, []int{1, 50}},
			} {
				for _, k := range []uint64{1, 2, 3, 5, 17, 33} {
					n := 1
					for _, d := range nc.shape {
						n *= d
					}
					for _, f64 := range []bool{false, true} {
						x := wrapData(f64, n, k)
						p := dropout.Params{P: 0.3, Seed: 11, Offset: -k, Shape: nc.shape, NoiseShape: nc.noise}
						checkWrapCall(t, fmt.Sprintf("%s shape=%v noise=%v offset=2^64-%d f64=%v", be.name, nc.shape, nc.noise, k, f64), be.b, x, p)
					}
				}
			}
		}
	}
}

// TestOffsetWrapLarge is the reported case: 100,000 elements at offset
// 2^64-6, on the backends' own span sizes, whatever the thread count.
func TestOffsetWrapLarge(t *testing.T) {
	const n = 100_000
	x := wrapData(false, n, 6)
	p := dropout.Params{P: 0.5, Seed: 0xC0FFEE, Offset: math.MaxUint64 - 5}
	for _, th := range []int{1, 2, 3, 7} {
		for _, portable := range []bool{false, true} {
			c := New(dropout.Options{Threads: th, Portable: portable})
			checkWrapCall(t, fmt.Sprintf("%s threads=%d", c.Kernels(), th), c, x, p)
		}
	}
	checkWrapCall(t, "reference", NewReference(), x, p)
}
