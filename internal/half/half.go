package half

import "math"

// Float16ToFloat32 returns the float32 value of the binary16 bits h,
// exactly. A NaN keeps its sign and payload (shifted into the top of the
// float32 payload).
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	e := uint32(h>>10) & 0x1f
	m := uint32(h & 0x3ff)
	switch {
	case e == 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | m<<13)
	case e != 0: // normal: rebias the exponent from 15 to 127
		return math.Float32frombits(sign | (e+127-15)<<23 | m<<13)
	}
	// zero or subnormal: m·2^-24, exact in float32
	return math.Float32frombits(sign | math.Float32bits(float32(m)*0x1p-24))
}

// Float32ToFloat16 returns f rounded to binary16, to nearest with ties to
// even: magnitudes from 65520 up give infinity, a NaN gives a quiet NaN.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	b &= 0x7fffffff
	switch {
	case b > 0x7f800000: // NaN: keep the payload's top bits, set the quiet bit
		return sign | 0x7e00 | uint16(b>>13)&0x3ff
	case b >= 0x477ff000: // 65520 (the midpoint above 65504) and beyond, infinity too
		return sign | 0x7c00
	case b >= 0x38800000: // 2^-14 and beyond: a normal binary16
		r := b - (127-15)<<23
		r += 0xfff + r>>13&1 // ties to even; a carry moves into the exponent
		return sign | uint16(r>>13)
	case b < 0x33000000: // below 2^-25 (half the least subnormal), and 2^-25 itself ties to 0
		return sign
	}
	// a subnormal binary16 (or the least normal, by rounding up): m·2^-24
	e := b >> 23
	m := b&0x7fffff | 0x800000 // f = m·2^(e-150)
	shift := 126 - e           // 14 … 24
	q := m >> shift
	rem := m & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || rem == half && q&1 == 1 {
		q++
	}
	return sign | uint16(q)
}

// BFloat16ToFloat32 returns the float32 value of the bfloat16 bits h,
// exactly: they are the top 16 bits of a float32.
func BFloat16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBFloat16 returns f rounded to bfloat16, to nearest with ties to
// even: finite values that round past the largest finite bfloat16 give
// infinity, a NaN gives a quiet NaN.
func Float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + b>>16&1
	return uint16(b >> 16)
}
