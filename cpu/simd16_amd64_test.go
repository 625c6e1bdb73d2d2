//go:build amd64 && !purego

package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gpudropout/dropout"
)

// tileScales are the factors the tile tests use: dropout scales, 1, and
// factors that push products into overflow, the subnormals and ties.
var tileScales = []float32{1, dropout.Scale32(0.1), dropout.Scale32(0.5), dropout.Scale32(1.0 / 3), 3, 1.5, 0x1p-10, 1e4, 0.999}

// randBits returns n keep bits with padding bits zero.
func randBits(r *rand.Rand, n int) []byte {
	b := make([]byte, (n+7)/8)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if n%8 != 0 {
		b[len(b)-1] &= 1<<(n%8) - 1
	}
	return b
}

// same16 reports whether two 16-bit results agree: the same bits, or both
// NaN (payloads are not part of the contract).
func same16(a, b uint16, bf bool) bool {
	if a == b {
		return true
	}
	if bf {
		return a&0x7f80 == 0x7f80 && a&0x7f != 0 && b&0x7f80 == 0x7f80 && b&0x7f != 0
	}
	return a&0x7c00 == 0x7c00 && a&0x3ff != 0 && b&0x7c00 == 0x7c00 && b&0x3ff != 0
}

// every16 returns all 65536 bit patterns, in an order shuffled by r.
func every16(r *rand.Rand) []uint16 {
	v := make([]uint16, 1<<16)
	for i := range v {
		v[i] = uint16(i)
	}
	r.Shuffle(len(v), func(i, j int) { v[i], v[j] = v[j], v[i] })
	return v
}

// TestTile16AllInputs runs apply16, alpha16 and fused16 of every SIMD set
// over all 65536 inputs of both 16-bit types at several scales, against
// the portable kernels.
func TestTile16AllInputs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range simdSets(t) {
		for _, bf := range []bool{false, true} {
			x := every16(r)
			n := len(x)
			bits := randBits(r, n)
			res, bias := every16(r), every16(r)[:1000]
			check := func(what string, got, want []uint16) {
				t.Helper()
				bad := 0
				for i := range want {
					if !same16(got[i], want[i], bf) {
						if bad++; bad <= 5 {
							t.Errorf("%s %s bf=%v: y[%d] (x=%#04x) = %#04x, portable %#04x", k.name, what, bf, i, x[i], got[i], want[i])
						}
					}
				}
			}
			for _, s := range tileScales {
				yP, yS := make([]uint16, n), make([]uint16, n)
				portable.apply16(yP, x, bits, s, bf)
				k.apply16(yS, x, bits, s, bf)
				check(fmt.Sprintf("apply16 s=%v", s), yS, yP)
				portable.fused16(yP, x, res, bias, 17, bits, s, bf)
				k.fused16(yS, x, res, bias, 17, bits, s, bf)
				check(fmt.Sprintf("fused16 s=%v", s), yS, yP)
			}
			for _, p := range []float64{0.1, 0.5, 0.9} {
				A, B, D := alphaCoef32(p)
				yP, yS := make([]uint16, n), make([]uint16, n)
				portable.alpha16(yP, x, bits, A, B, D, bf)
				k.alpha16(yS, x, bits, A, B, D, bf)
				check(fmt.Sprintf("alpha16 p=%v", p), yS, yP)
			}
		}
	}
}

// alphaCoef32 returns alpha dropout's float32 coefficients for p.
func alphaCoef32(p float64) (A, B, D float32) {
	const alpha = 1.7580993408473766
	a := 1 / math.Sqrt((alpha*alpha*p+1)*(1-p))
	return float32(a), float32(a * alpha * p), float32(-a * alpha * (1 - p))
}

// tileCase is one comparison of a SIMD set's tile kernels with the
// portable ones.
type tileCase struct {
	n, biasLen, b0 int
	res, alias     bool
}

// TestTileKernelsVsPortable compares keepBits, alpha32/64 and the fused
// kernels of every type of every SIMD set with the portable kernels, on
// lengths around the 8- and 16-lane blocks, bias lengths around the lanes
// (the bias window wraps inside a block), with and without residual, in
// place (y aliasing x, or r).
func TestTileKernelsVsPortable(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, k := range simdSets(t) {
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 100, 129, 1000, 2048} {
			for _, g0 := range []uint64{0, 1, 3, 1<<34 - 5, math.MaxUint64 - 40} {
				for _, p := range []float64{0, 0.5, 0x1p-32, 0.9} {
					a := span{seed: r.Uint64(), g0: g0, t: dropout.Threshold(p)}
					bP, bS := make([]byte, (n+7)/8+2), make([]byte, (n+7)/8+2)
					for i := range bP {
						bP[i], bS[i] = 0xA5, 0xA5
					}
					ap, as := a, a
					portable.keepBits(bP, n, &ap)
					k.keepBits(bS, n, &as)
					if string(bP) != string(bS) {
						t.Fatalf("%s keepBits n=%d g0=%#x p=%v: %x, portable %x", k.name, n, g0, p, bS, bP)
					}
				}
			}
			for _, bl := range []int{0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 100} {
				for _, res := range []bool{false, true} {
					c := tileCase{n: n, biasLen: bl, res: res, alias: r.IntN(2) == 0}
					if bl > 0 {
						c.b0 = r.IntN(bl)
					}
					compareTiles(t, k, c, r)
				}
			}
		}
	}
}

func compareTiles(t *testing.T, k kernels, c tileCase, r *rand.Rand) {
	t.Helper()
	bits := randBits(r, c.n)
	vals := testValues(r, 3*c.n+c.biasLen)
	name := fmt.Sprintf("%s n=%d bias=%d b0=%d res=%v alias=%v", k.name, c.n, c.biasLen, c.b0, c.res, c.alias)
	// float32
	{
		conv := func(v []float64) []float32 {
			o := make([]float32, len(v))
			for i := range v {
				o[i] = float32(v[i])
			}
			return o
		}
		x, rr, bias := conv(vals[:c.n]), conv(vals[c.n:2*c.n]), conv(vals[3*c.n:])
		if !c.res {
			rr = nil
		}
		if c.biasLen == 0 {
			bias = nil
		}
		for _, s := range []float32{dropout.Scale32(0.3), 1} {
			yP, yS := make([]float32, c.n), make([]float32, c.n)
			xs := x
			if c.alias {
				copy(yS, x)
				xs = yS
			}
			portable.fused32(yP, x, rr, bias, c.b0, bits, s)
			k.fused32(yS, xs, rr, bias, c.b0, bits, s)
			for i := range yP {
				if !sameFloat32(yP[i], yS[i]) {
					t.Fatalf("%s: fused32 s=%v y[%d] = %v, portable %v", name, s, i, yS[i], yP[i])
				}
			}
		}
		A, B, D := alphaCoef32(0.3)
		yP, yS := make([]float32, c.n), make([]float32, c.n)
		portable.alpha32(yP, x, bits, A, B, D)
		k.alpha32(yS, x, bits, A, B, D)
		for i := range yP {
			if !sameFloat32(yP[i], yS[i]) {
				t.Fatalf("%s: alpha32 y[%d] = %v, portable %v", name, i, yS[i], yP[i])
			}
		}
	}
	// float64
	{
		x, rr, bias := vals[:c.n], vals[c.n:2*c.n], vals[3*c.n:]
		if !c.res {
			rr = nil
		}
		if c.biasLen == 0 {
			bias = nil
		}
		yP, yS := make([]float64, c.n), make([]float64, c.n)
		rs := rr
		if c.alias && rr != nil {
			copy(yS, rr)
			rs = yS
		}
		s := dropout.Scale64(0.3)
		portable.fused64(yP, x, rr, bias, c.b0, bits, s)
		k.fused64(yS, x, rs, bias, c.b0, bits, s)
		for i := range yP {
			if !sameFloat(yP[i], yS[i]) {
				t.Fatalf("%s: fused64 y[%d] = %v, portable %v", name, i, yS[i], yP[i])
			}
		}
		A, B, D := 1.0507, 0.2, -0.7
		portable.alpha64(yP, x, bits, A, B, D)
		k.alpha64(yS, x, bits, A, B, D)
		for i := range yP {
			if !sameFloat(yP[i], yS[i]) {
				t.Fatalf("%s: alpha64 y[%d] = %v, portable %v", name, i, yS[i], yP[i])
			}
		}
	}
	// 16-bit
	for _, bf := range []bool{false, true} {
		h := make([]uint16, len(vals))
		for i := range h {
			h[i] = uint16(r.Uint32())
		}
		x, rr, bias := h[:c.n], h[c.n:2*c.n], h[3*c.n:]
		if !c.res {
			rr = nil
		}
		if c.biasLen == 0 {
			bias = nil
		}
		yP, yS := make([]uint16, c.n), make([]uint16, c.n)
		xs := x
		if c.alias {
			copy(yS, x)
			xs = yS
		}
		s := dropout.Scale32(0.3)
		portable.fused16(yP, x, rr, bias, c.b0, bits, s, bf)
		k.fused16(yS, xs, rr, bias, c.b0, bits, s, bf)
		for i := range yP {
			if !same16(yP[i], yS[i], bf) {
				t.Fatalf("%s: fused16 bf=%v y[%d] = %#04x, portable %#04x", name, bf, i, yS[i], yP[i])
			}
		}
	}
}
