package cpu

import (
	"math"

	"github.com/gpudropout/dropout/internal/half"
	"github.com/gpudropout/dropout/internal/philox"
)

// The portable tile kernels (dispatch.go states their contracts). Each
// reads its keep decisions as bits and selects with an AND mask made from
// the bit, never a branch on it. Every floating-point step is its own
// statement or explicit conversion, so that the compiler cannot fuse a
// multiply and an add (the Go spec allows fusion only where no explicit
// conversion rounds the product).

// keepBitsGeneric writes the keep bits of n stream words from a.g0.
func keepBitsGeneric(bits []byte, n int, a *span) {
	bits = bits[:(n+7)/8]
	clear(bits)
	t := a.t
	h, body := kernelParts(n, a.g0)
	for i := 0; i < h; i++ {
		bits[i>>3] |= byte(drop(philox.Word(a.seed, a.g0+uint64(i)), t)^1) << (i & 7)
	}
	k0, k1 := uint32(a.seed), uint32(a.seed>>32)
	g := a.g0 + uint64(h)
	for i := h; i < body; i += 4 {
		w0, w1, w2, w3 := block(g>>2, k0, k1)
		g += 4
		orBits(bits, i, 0xF^(drop(w0, t)|drop(w1, t)<<1|drop(w2, t)<<2|drop(w3, t)<<3))
	}
	for i := body; i < n; i++ {
		bits[i>>3] |= byte(drop(philox.Word(a.seed, a.g0+uint64(i)), t)^1) << (i & 7)
	}
}

// keepMask32 and friends return all ones if element i is kept, else zero.
func keepMask32(bits []byte, i int) uint32 { return -uint32(bits[i>>3] >> (i & 7) & 1) }
func keepMask64(bits []byte, i int) uint64 { return -uint64(bits[i>>3] >> (i & 7) & 1) }
func keepMask16(bits []byte, i int) uint16 { return -uint16(bits[i>>3] >> (i & 7) & 1) }

// widen16 and round16 convert 16-bit data to and from float32: bfloat16
// when bf, else IEEE binary16; round16 rounds to nearest even.
func widen16(h uint16, bf bool) float32 {
	if bf {
		return half.BFloat16ToFloat32(h)
	}
	return half.Float16ToFloat32(h)
}

func round16(f float32, bf bool) uint16 {
	if bf {
		return half.Float32ToBFloat16(f)
	}
	return half.Float32ToFloat16(f)
}

// apply16Generic sets y = keep ? round16(float32(x)·s) : +0.
func apply16Generic(y, x []uint16, bits []byte, s float32, bf bool) {
	n := len(y)
	x, bits = x[:n], bits[:(n+7)/8]
	for i := range y {
		y[i] = round16(float32(widen16(x[i], bf)*s), bf) & keepMask16(bits, i)
	}
}

// alpha32Generic sets y = keep ? float32(A·x) + B : D.
func alpha32Generic(y, x []float32, bits []byte, A, B, D float32) {
	n := len(y)
	x, bits = x[:n], bits[:(n+7)/8]
	d := math.Float32bits(D)
	for i := range y {
		v := float32(float32(A*x[i]) + B)
		m := keepMask32(bits, i)
		y[i] = math.Float32frombits(math.Float32bits(v)&m | d&^m)
	}
}

// alpha64Generic sets y = keep ? float64(A·x) + B : D.
func alpha64Generic(y, x []float64, bits []byte, A, B, D float64) {
	n := len(y)
	x, bits = x[:n], bits[:(n+7)/8]
	d := math.Float64bits(D)
	for i := range y {
		v := float64(float64(A*x[i]) + B)
		m := keepMask64(bits, i)
		y[i] = math.Float64frombits(math.Float64bits(v)&m | d&^m)
	}
}

// alpha16Generic sets y = round16(keep ? float32(A·x) + B : D), computed
// in float32.
func alpha16Generic(y, x []uint16, bits []byte, A, B, D float32, bf bool) {
	n := len(y)
	x, bits = x[:n], bits[:(n+7)/8]
	d := round16(D, bf)
	for i := range y {
		v := round16(float32(float32(A*widen16(x[i], bf))+B), bf)
		m := keepMask16(bits, i)
		y[i] = v&m | d&^m
	}
}

// fused32Generic sets t = x + bias[(b0+i) % len(bias)], u = keep ? t·s :
// +0, y = r + u, each step rounded to float32; bias or r may be nil.
func fused32Generic(y, x, r, bias []float32, b0 int, bits []byte, s float32) {
	n := len(y)
	x, bits = x[:n], bits[:(n+7)/8]
	if r != nil {
		r = r[:n]
	}
	j := b0
	for i := range y {
		t := x[i]
		if bias != nil {
			t = float32(t + bias[j])
			if j++; j == len(bias) {
				j = 0
			}
		}
		u := math.Float32frombits(math.Float32bits(float32(t*s)) & keepMask32(bits, i))
		if r != nil {
			u = float32(r[i] + u)
		}
		y[i] = u
	}
}

// fused64Generic is fused32Generic on float64 data.
func fused64Generic(y, x, r, bias []float64, b0 int, bits []byte, s float64) {
	n := len(y)
	x, bits = x[:n], bits[:(n+7)/8]
	if r != nil {
		r = r[:n]
	}
	j := b0
	for i := range y {
		t := x[i]
		if bias != nil {
			t = float64(t + bias[j])
			if j++; j == len(bias) {
				j = 0
			}
		}
		u := math.Float64frombits(math.Float64bits(float64(t*s)) & keepMask64(bits, i))
		if r != nil {
			u = float64(r[i] + u)
		}
		y[i] = u
	}
}

// fused16Generic is fused32Generic on 16-bit data: each step computed in
// float32 and rounded to the 16-bit type.
func fused16Generic(y, x, r, bias []uint16, b0 int, bits []byte, s float32, bf bool) {
	n := len(y)
	x, bits = x[:n], bits[:(n+7)/8]
	if r != nil {
		r = r[:n]
	}
	j := b0
	for i := range y {
		t := x[i]
		if bias != nil {
			t = round16(float32(widen16(t, bf)+widen16(bias[j], bf)), bf)
			if j++; j == len(bias) {
				j = 0
			}
		}
		u := round16(float32(widen16(t, bf)*s), bf) & keepMask16(bits, i)
		if r != nil {
			u = round16(float32(widen16(r[i], bf)+widen16(u, bf)), bf)
		}
		y[i] = u
	}
}
