package dropouttest

import (
	"math"

	"github.com/gpudropout/dropout"
)

// The suite's own 16-bit conversions, written from the IEEE 754 definitions
// in float64 arithmetic rather than with the bit tricks backends use, so
// that the reference backend is checked against something other than
// itself. half_test.go checks them on golden values computed by hand and
// exhaustively on every 16-bit pattern.

// format16 describes a 16-bit binary floating-point format: 1 sign bit,
// ebits exponent bits, mbits mantissa bits.
type format16 struct {
	mbits uint
	bias  int
}

var (
	binary16 = format16{mbits: 10, bias: 15} // IEEE binary16
	bfloat16 = format16{mbits: 7, bias: 127} // bfloat16
)

func format16Of(dt dropout.DType) format16 {
	if dt == dropout.BFloat16 {
		return bfloat16
	}
	return binary16
}

func (f format16) expMask() uint16 { return uint16(2*f.bias+1) << f.mbits }
func (f format16) manMask() uint16 { return 1<<f.mbits - 1 }

// isNaN reports whether h is a NaN of the format.
func (f format16) isNaN(h uint16) bool {
	return h&f.expMask() == f.expMask() && h&f.manMask() != 0
}

// widen returns the value of h, exactly (every 16-bit value is a float32).
func (f format16) widen(h uint16) float32 {
	neg := h&0x8000 != 0
	e := int(h&f.expMask()) >> f.mbits
	m := float64(h & f.manMask())
	var v float64
	switch {
	case e == 2*f.bias+1 && m != 0:
		return float32(math.NaN())
	case e == 2*f.bias+1:
		v = math.Inf(1)
	case e == 0: // zero or subnormal: m · 2^(1-bias-mbits)
		v = math.Ldexp(m, 1-f.bias-int(f.mbits))
	default: // (2^mbits + m) · 2^(e-bias-mbits)
		v = math.Ldexp(float64(uint(1)<<f.mbits)+m, e-f.bias-int(f.mbits))
	}
	if neg {
		v = -v
	}
	return float32(v)
}

// round returns v rounded to the format, to nearest with ties to even;
// beyond the largest finite value it overflows to an infinity, and a NaN
// gives a NaN.
func (f format16) round(v float32) uint16 {
	var sign uint16
	if math.Signbit(float64(v)) {
		sign = 0x8000
	}
	a := math.Abs(float64(v))
	switch {
	case a != a:
		return sign | f.expMask() | 1<<(f.mbits-1)
	case math.IsInf(a, 0):
		return sign | f.expMask()
	}
	emin := 1 - f.bias // exponent of the smallest normal
	if a < math.Ldexp(1, emin) {
		// Subnormal range: a multiple of 2^(emin-mbits). A result of
		// 2^mbits is the smallest normal, whose bits are the same number.
		q := math.RoundToEven(math.Ldexp(a, int(f.mbits)-emin))
		return sign | uint16(q)
	}
	_, e := math.Frexp(a) // a = fr·2^e, fr in [0.5, 1): a's exponent is e-1
	e--
	q := math.RoundToEven(math.Ldexp(a, int(f.mbits)-e)) // in [2^mbits, 2^(mbits+1)]
	if q == float64(uint(1)<<(f.mbits+1)) {
		q /= 2
		e++
	}
	if e+f.bias >= 2*f.bias+1 {
		return sign | f.expMask() // overflow
	}
	return sign | uint16(e+f.bias)<<f.mbits | uint16(q)&f.manMask()
}

// halfData returns n reproducible 16-bit patterns of dt: mostly normal
// numbers over a wide range, with NaNs (random payloads, quiet and
// signalling, both signs), infinities, ±0, subnormals and values near the
// largest finite one (whose scaled products overflow) mixed in.
func halfData(dt dropout.DType, vals []float64, r func(int) int) []uint16 {
	f := format16Of(dt)
	h := make([]uint16, len(vals))
	for i, v := range vals {
		sign := uint16(r(2)) << 15
		switch k := r(64); {
		case k == 0:
			h[i] = sign | f.expMask() | uint16(1+r(int(f.manMask())))
		case k == 1:
			h[i] = sign | f.expMask()
		case k == 2:
			h[i] = sign
		case k < 6:
			h[i] = sign | uint16(1+r(int(f.manMask())))
		case k == 6:
			h[i] = sign | (f.expMask() - 1<<f.mbits) | uint16(r(int(f.manMask())+1))
		default:
			if dt == dropout.Float16 {
				v /= 8 // keep most of float16's values finite
			}
			h[i] = f.round(float32(v))
		}
	}
	return h
}
