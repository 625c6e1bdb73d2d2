package cpu

import (
	"math"

	"github.com/gpudropout/dropout/internal/philox"
)

// span holds what a kernel needs to process one worker's share of a call in
// which mask element j and tensor element j coincide (no broadcast).
// Element 0 of the slices a kernel gets uses stream word g0.
type span struct {
	seed uint64
	g0   uint64  // stream word of the span's first element
	t    uint64  // keep iff word >= t
	s32  float32 // float32 scale
	s64  float64 // float64 scale
	// nt asks for non-temporal stores where a kernel set has them (the
	// AVX2 set's of y, the AVX-512 set's of the mask; the portable set has
	// none): the call's output is far larger than the caches (streamMin).
	nt bool
}

// The kernels below are the portable path: one Philox block serves four
// consecutive stream words, the keep decision is a compare and a select.
// Their contracts:
//   - y and x have the same length n (y may alias x);
//   - bits, when non-nil, holds ceil(n/8) bytes and the span starts at a
//     multiple of 8 elements of the call, so its bytes belong to it alone;
//   - bytes, when non-nil, holds n bytes.
// A SIMD path replaces them through the function variables in dispatch.go.
//
// The loops run whole blocks with no branch on the random keep decision:
// drop(w) is 1 or 0 and the select is an AND with a mask made from it, so
// that p = 0.5 costs no mispredicted branches. Elements before the first
// block boundary and after the last whole block take the word one at a
// time.
//
// Every kernel counts in stream words g (uint64), never in block indices:
// word arithmetic wraps modulo 2^64 as the contract says, so the block
// g>>2 after 2^62-1 is 0. (Counting blocks b and incrementing b would
// reach 2^62, whose counter (0, 0x40000000) is not block 0.)

// block is the unrolled Go Philox of internal/philox: the four words of
// stream block b under key (k0, k1).
var block = philox.BlockWords

// drop returns 1 if word w is dropped under threshold t (w < t), else 0.
// t <= 2^32, so w - t is negative exactly when w < t.
func drop(w uint32, t uint64) uint64 { return (uint64(w) - t) >> 63 }

// kernelParts splits a span of n elements starting at stream word g0 into a
// head of h < 4 elements up to the first block boundary, whole blocks up to
// element body, and a tail.
func kernelParts(n int, g0 uint64) (h, body int) {
	h = min(int(-g0&3), n)
	return h, h + (n-h)&^3
}

func fwd32Generic(y, x []float32, bits, bytes []byte, a *span) {
	n := len(x)
	y = y[:n]
	if bits != nil {
		bits = bits[:(n+7)/8]
		clear(bits)
	}
	if bytes != nil {
		bytes = bytes[:n]
	}
	t, s := a.t, a.s32
	one := func(i int, d uint64) {
		y[i] = math.Float32frombits(math.Float32bits(x[i]*s) & (uint32(d) - 1))
		if bits != nil {
			bits[i>>3] |= byte(d^1) << (i & 7)
		}
		if bytes != nil {
			bytes[i] = byte(d ^ 1)
		}
	}
	h, body := kernelParts(n, a.g0)
	for i := 0; i < h; i++ {
		one(i, drop(philox.Word(a.seed, a.g0+uint64(i)), t))
	}
	k0, k1 := uint32(a.seed), uint32(a.seed>>32)
	g := a.g0 + uint64(h) // a block's first word: it wraps mod 2^64, as the stream does
	xs, ys := x[h:body], y[h:body]
	for i := h; len(xs) >= 4 && len(ys) >= 4; i += 4 {
		w0, w1, w2, w3 := block(g>>2, k0, k1)
		g += 4
		d0, d1, d2, d3 := drop(w0, t), drop(w1, t), drop(w2, t), drop(w3, t)
		ys[0] = math.Float32frombits(math.Float32bits(xs[0]*s) & (uint32(d0) - 1))
		ys[1] = math.Float32frombits(math.Float32bits(xs[1]*s) & (uint32(d1) - 1))
		ys[2] = math.Float32frombits(math.Float32bits(xs[2]*s) & (uint32(d2) - 1))
		ys[3] = math.Float32frombits(math.Float32bits(xs[3]*s) & (uint32(d3) - 1))
		if bits != nil {
			orBits(bits, i, 0xF^(d0|d1<<1|d2<<2|d3<<3))
		}
		if bytes != nil {
			storeKeep(bytes[i:i+4:i+4], d0, d1, d2, d3)
		}
		xs, ys = xs[4:], ys[4:]
	}
	for i := body; i < n; i++ {
		one(i, drop(philox.Word(a.seed, a.g0+uint64(i)), t))
	}
}

func fwd64Generic(y, x []float64, bits, bytes []byte, a *span) {
	n := len(x)
	y = y[:n]
	if bits != nil {
		bits = bits[:(n+7)/8]
		clear(bits)
	}
	if bytes != nil {
		bytes = bytes[:n]
	}
	t, s := a.t, a.s64
	one := func(i int, d uint64) {
		y[i] = math.Float64frombits(math.Float64bits(x[i]*s) & (d - 1))
		if bits != nil {
			bits[i>>3] |= byte(d^1) << (i & 7)
		}
		if bytes != nil {
			bytes[i] = byte(d ^ 1)
		}
	}
	h, body := kernelParts(n, a.g0)
	for i := 0; i < h; i++ {
		one(i, drop(philox.Word(a.seed, a.g0+uint64(i)), t))
	}
	k0, k1 := uint32(a.seed), uint32(a.seed>>32)
	g := a.g0 + uint64(h) // a block's first word: it wraps mod 2^64, as the stream does
	xs, ys := x[h:body], y[h:body]
	for i := h; len(xs) >= 4 && len(ys) >= 4; i += 4 {
		w0, w1, w2, w3 := block(g>>2, k0, k1)
		g += 4
		d0, d1, d2, d3 := drop(w0, t), drop(w1, t), drop(w2, t), drop(w3, t)
		ys[0] = math.Float64frombits(math.Float64bits(xs[0]*s) & (d0 - 1))
		ys[1] = math.Float64frombits(math.Float64bits(xs[1]*s) & (d1 - 1))
		ys[2] = math.Float64frombits(math.Float64bits(xs[2]*s) & (d2 - 1))
		ys[3] = math.Float64frombits(math.Float64bits(xs[3]*s) & (d3 - 1))
		if bits != nil {
			orBits(bits, i, 0xF^(d0|d1<<1|d2<<2|d3<<3))
		}
		if bytes != nil {
			storeKeep(bytes[i:i+4:i+4], d0, d1, d2, d3)
		}
		xs, ys = xs[4:], ys[4:]
	}
	for i := body; i < n; i++ {
		one(i, drop(philox.Word(a.seed, a.g0+uint64(i)), t))
	}
}

// storeKeep stores the keep bytes of four drop flags.
func storeKeep(k []byte, d0, d1, d2, d3 uint64) {
	k = k[:4]
	k[0], k[1], k[2], k[3] = byte(d0^1), byte(d1^1), byte(d2^1), byte(d3^1)
}

// orBits ORs the four keep bits m (element i at bit 0) into the bit mask.
func orBits(bits []byte, i int, m uint64) {
	j, sh := i>>3, uint(i&7)
	bits[j] |= byte(m << sh)
	if sh > 4 {
		bits[j+1] |= byte(m >> (8 - sh))
	}
}

// bwdBits32Generic sets dx = bit ? dy*s : 0 from a bit mask whose bit 0 is
// element 0. Like the forward kernels it selects with an AND, no branch.
func bwdBits32Generic(dx, dy []float32, bits []byte, s float32) {
	n := len(dy)
	dx = dx[:n]
	bits = bits[:(n+7)/8]
	for i := range dy {
		keep := uint32(bits[i>>3]>>(i&7)) & 1
		dx[i] = math.Float32frombits(math.Float32bits(dy[i]*s) & -keep)
	}
}

func bwdBits64Generic(dx, dy []float64, bits []byte, s float64) {
	n := len(dy)
	dx = dx[:n]
	bits = bits[:(n+7)/8]
	for i := range dy {
		keep := uint64(bits[i>>3]>>(i&7)) & 1
		dx[i] = math.Float64frombits(math.Float64bits(dy[i]*s) & -keep)
	}
}

func bwdBytes32Generic(dx, dy []float32, m []byte, s float32) {
	n := len(dy)
	dx = dx[:n]
	m = m[:n]
	for i := range dy {
		drop := (uint32(m[i]) - 1) >> 31 // 1 iff m[i] == 0
		dx[i] = math.Float32frombits(math.Float32bits(dy[i]*s) & (drop - 1))
	}
}

func bwdBytes64Generic(dx, dy []float64, m []byte, s float64) {
	n := len(dy)
	dx = dx[:n]
	m = m[:n]
	for i := range dy {
		drop := (uint64(m[i]) - 1) >> 63 // 1 iff m[i] == 0
		dx[i] = math.Float64frombits(math.Float64bits(dy[i]*s) & (drop - 1))
	}
}

func b2u8(b bool) byte {
	if b {
		return 1
	}
	return 0
}
