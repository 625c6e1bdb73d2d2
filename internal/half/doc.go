// Package half converts IEEE 754 binary16 (float16) and bfloat16 values,
// carried as raw uint16 bits, to and from float32.
//
// Widening is exact. Narrowing rounds once, to nearest with ties to even
// (the IEEE default, as F16C's VCVTPS2PH with imm8 = 0 and NumPy do);
// values beyond the largest finite 16-bit value round to infinity, and a NaN
// stays a NaN: its payload's top bits are kept and the quiet bit set, so
// that truncating the payload can never turn a NaN into an infinity.
package half
