package dropouttest

import (
	"errors"
	"fmt"
	"math"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
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

// Zeros returns a host tensor of dt and n elements (Uint8 for an unknown dt).
func Zeros(dt dropout.DType, n int) dropout.Tensor {
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

// NewMask returns a mask tensor for m mask elements in format f, filled with
// garbage a backend must overwrite, or nil for MaskNone.
func NewMask(f dropout.MaskFormat, m int) dropout.Tensor {
	if f == dropout.MaskNone {
		return nil
	}
	mask := make(dropout.Bytes, f.Bytes(m))
	for i := range mask {
		mask[i] = 0xa5
	}
	return mask
}

// ErrMismatch marks a backend result that differs from the reference's.
var ErrMismatch = errors.New("differs from the reference")

// CompareForward runs Forward on b and on the reference backend over x
// under p and compares outputs and masks with Equal. A difference is an
// error wrapping ErrMismatch that names the call; an error from either
// Forward is returned as it is.
func CompareForward(b dropout.Backend, x dropout.Tensor, p dropout.Params) error {
	n := x.Len()
	m := p.MaskLen(n)
	got, want := Zeros(x.DType(), n), Zeros(x.DType(), n)
	gm, wm := NewMask(p.Mask, m), NewMask(p.Mask, m)
	if err := cpu.NewReference().Forward(want, x, wm, p); err != nil {
		return fmt.Errorf("reference Forward: %w", err)
	}
	if err := b.Forward(got, x, gm, p); err != nil {
		return err
	}
	desc := fmt.Sprintf("Forward(n=%d, %v, p=%v, seed=%#x, offset=%#x, mask=%v)", n, x.DType(), p.P, p.Seed, p.Offset, p.Mask)
	if err := Equal(got, want); err != nil {
		return fmt.Errorf("%s %w: %v", desc, ErrMismatch, err)
	}
	if p.Mask != dropout.MaskNone {
		if err := Equal(gm, wm); err != nil {
			return fmt.Errorf("%s mask %w: %v", desc, ErrMismatch, err)
		}
	}
	return nil
}
