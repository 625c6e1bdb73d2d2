package cpu

import "github.com/gpudropout/dropout/internal/philox"

// span holds what a kernel needs to process one worker's share of a call in
// which mask element j and tensor element j coincide (no broadcast).
// Element 0 of the slices a kernel gets uses stream word g0.
type span struct {
	seed uint64
	g0   uint64  // stream word of the span's first element
	t    uint64  // keep iff word >= t
	s32  float32 // float32 scale
	s64  float64 // float64 scale
}

// The kernels below are the portable path: one Philox block serves four
// consecutive stream words, the keep decision is a compare and a select.
// Their contracts:
//   - y and x have the same length n (y may alias x);
//   - bits, when non-nil, holds ceil(n/8) bytes and the span starts at a
//     multiple of 8 elements of the call, so its bytes belong to it alone;
//   - bytes, when non-nil, holds n bytes.
// A SIMD path replaces them through the function variables in dispatch.go.

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
	g := a.g0
	for i := 0; i < n; {
		w := philox.Words(a.seed, g>>2)
		for lane := g & 3; lane < 4 && i < n; lane++ {
			keep := uint64(w[lane]) >= a.t
			v := float32(0)
			if keep {
				v = x[i] * a.s32
			}
			y[i] = v
			if bits != nil && keep {
				bits[i>>3] |= 1 << (i & 7)
			}
			if bytes != nil {
				bytes[i] = b2u8(keep)
			}
			i++
			g++
		}
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
	g := a.g0
	for i := 0; i < n; {
		w := philox.Words(a.seed, g>>2)
		for lane := g & 3; lane < 4 && i < n; lane++ {
			keep := uint64(w[lane]) >= a.t
			v := float64(0)
			if keep {
				v = x[i] * a.s64
			}
			y[i] = v
			if bits != nil && keep {
				bits[i>>3] |= 1 << (i & 7)
			}
			if bytes != nil {
				bytes[i] = b2u8(keep)
			}
			i++
			g++
		}
	}
}

// keepGeneric sets k[i] to 1 if mask element i of the span is kept, else 0.
func keepGeneric(k []byte, a *span) {
	g := a.g0
	for i := 0; i < len(k); {
		w := philox.Words(a.seed, g>>2)
		for lane := g & 3; lane < 4 && i < len(k); lane++ {
			k[i] = b2u8(uint64(w[lane]) >= a.t)
			i++
			g++
		}
	}
}

// bwdBits32 sets dx = bit ? dy*s : 0 from a bit mask whose bit 0 is element 0.
func bwdBits32(dx, dy []float32, bits []byte, s float32) {
	n := len(dy)
	dx = dx[:n]
	bits = bits[:(n+7)/8]
	for i := range dy {
		v := float32(0)
		if bits[i>>3]>>(i&7)&1 != 0 {
			v = dy[i] * s
		}
		dx[i] = v
	}
}

func bwdBits64(dx, dy []float64, bits []byte, s float64) {
	n := len(dy)
	dx = dx[:n]
	bits = bits[:(n+7)/8]
	for i := range dy {
		v := float64(0)
		if bits[i>>3]>>(i&7)&1 != 0 {
			v = dy[i] * s
		}
		dx[i] = v
	}
}

func bwdBytes32(dx, dy []float32, m []byte, s float32) {
	n := len(dy)
	dx = dx[:n]
	m = m[:n]
	for i := range dy {
		v := float32(0)
		if m[i] != 0 {
			v = dy[i] * s
		}
		dx[i] = v
	}
}

func bwdBytes64(dx, dy []float64, m []byte, s float64) {
	n := len(dy)
	dx = dx[:n]
	m = m[:n]
	for i := range dy {
		v := float64(0)
		if m[i] != 0 {
			v = dy[i] * s
		}
		dx[i] = v
	}
}

func b2u8(b bool) byte {
	if b {
		return 1
	}
	return 0
}
