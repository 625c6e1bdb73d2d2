package dropout

import (
	"math"

	"github.com/gpudropout/dropout/internal/philox"
)

// Word returns word g of the keystream of seed: lane g&3 of
// philox4x32_10((lo32(g>>2), hi32(g>>2), 0, 0), (lo32(seed), hi32(seed))).
func Word(seed, g uint64) uint32 { return philox.Word(seed, g) }

// Threshold returns T = floor(p·2^32), computed exactly in float64: an
// element is kept iff its stream word is >= T. Threshold(0) is 0 (keep
// everything) and Threshold(1) is 2^32 (keep nothing). p must be in [0, 1].
func Threshold(p float64) uint64 {
	return uint64(math.Floor(p * (1 << 32)))
}

// Scale64 returns 1/(1-p) for float64 data, and 0 for p = 1.
func Scale64(p float64) float64 {
	if p >= 1 {
		return 0
	}
	return 1 / (1 - p)
}

// Scale32 returns float32(1/(1-p)), the division done in float64 and
// rounded once; 0 for p = 1.
func Scale32(p float64) float32 { return float32(Scale64(p)) }

// Keep reports whether mask element j of a call with the given seed and
// offset is kept at drop probability p.
func Keep(seed, offset, j uint64, p float64) bool {
	return uint64(Word(seed, offset+j)) >= Threshold(p)
}

// SELUAlpha is α of alpha dropout (PyTorch's alpha_dropout): the negative
// saturation value of SELU divided by its scale, -λα of SELU over λ.
const SELUAlpha = 1.7580993408473766

// AlphaCoefficients returns alpha dropout's coefficients for drop
// probability p < 1, in float64 (CONTRACT.md, alpha dropout): with
// a = 1/sqrt((α²p + 1)(1 − p)), a kept element becomes A·x + B and a
// dropped one D, where A = a, B = a·α·p and D = −a·α·(1 − p). Backends
// round each once to the compute type (float32 for 16-bit data) and
// round the product A·x before adding B. For p = 1 (every element
// dropped, output +0) it returns zeros.
func AlphaCoefficients(p float64) (A, B, D float64) {
	if p >= 1 {
		return 0, 0, 0
	}
	a := 1 / math.Sqrt((SELUAlpha*SELUAlpha*p+1)*(1-p))
	return a, a * SELUAlpha * p, -a * SELUAlpha * (1 - p)
}
