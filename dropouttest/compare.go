package dropouttest

import (
	"fmt"
	"math"

	"github.com/gpudropout/dropout"
)

// Equal reports nil if got and want hold the same values bit for bit, except
// that any NaN equals any NaN; otherwise an error naming the first mismatch.
func Equal(got, want dropout.Tensor) error {
	if got.DType() != want.DType() || got.Len() != want.Len() {
		return fmt.Errorf("got %v[%d], want %v[%d]", got.DType(), got.Len(), want.DType(), want.Len())
	}
	switch g := got.(type) {
	case dropout.Float32s:
		w := want.(dropout.Float32s)
		for i := range g {
			a, b := g[i], w[i]
			if math.Float32bits(a) != math.Float32bits(b) && !(a != a && b != b) {
				return fmt.Errorf("element %d: got %v (%#08x), want %v (%#08x)", i, a, math.Float32bits(a), b, math.Float32bits(b))
			}
		}
	case dropout.Float64s:
		w := want.(dropout.Float64s)
		for i := range g {
			a, b := g[i], w[i]
			if math.Float64bits(a) != math.Float64bits(b) && !(a != a && b != b) {
				return fmt.Errorf("element %d: got %v (%#016x), want %v (%#016x)", i, a, math.Float64bits(a), b, math.Float64bits(b))
			}
		}
	case dropout.Bytes:
		w := want.(dropout.Bytes)
		for i := range g {
			if g[i] != w[i] {
				return fmt.Errorf("byte %d: got %#02x, want %#02x", i, g[i], w[i])
			}
		}
	case dropout.Float16s:
		w := want.(dropout.Float16s)
		for i := range g {
			if g[i] != w[i] && !(isNaN16(g[i]) && isNaN16(w[i])) {
				return fmt.Errorf("element %d: got %#04x, want %#04x", i, g[i], w[i])
			}
		}
	case dropout.BFloat16s:
		w := want.(dropout.BFloat16s)
		for i := range g {
			if g[i] != w[i] && !(isNaNBF16(g[i]) && isNaNBF16(w[i])) {
				return fmt.Errorf("element %d: got %#04x, want %#04x", i, g[i], w[i])
			}
		}
	default:
		return fmt.Errorf("cannot compare %T", got)
	}
	return nil
}

func isNaN16(h uint16) bool   { return h&0x7c00 == 0x7c00 && h&0x03ff != 0 }
func isNaNBF16(h uint16) bool { return h&0x7f80 == 0x7f80 && h&0x007f != 0 }

// zeros returns a host tensor of dt and n elements.
func zeros(dt dropout.DType, n int) dropout.Tensor {
	switch dt {
	case dropout.Float32:
		return make(dropout.Float32s, n)
	case dropout.Float64:
		return make(dropout.Float64s, n)
	case dropout.Float16:
		return make(dropout.Float16s, n)
	case dropout.BFloat16:
		return make(dropout.BFloat16s, n)
	}
	return make(dropout.Bytes, n)
}
