package dropout

import "fmt"

// Fuser is implemented by backends that run the fused bias + dropout +
// residual op of a transformer block (Capabilities.Fused), in one pass over
// memory. Call it through the function ForwardFused, which says what a
// backend without it gives.
type Fuser interface {
	// ForwardFused sets dst = residual + dropout(x + bias) under p (see
	// the function ForwardFused).
	ForwardFused(dst, x, bias, residual, mask Tensor, p Params) error
}

// ForwardFused runs y = r + dropout(x + b) on b's device (CONTRACT.md, the
// fused op): with t = x + bias (rounded to the data type), u = keep ? t·s
// : +0 (rounded) and dst = residual + u (rounded). bias has the length of
// the tensor's last axis (the last axis of p.Shape, or the whole tensor
// without a Shape) and is broadcast along it; residual has x's length;
// either may be nil (absent). The mask is written as Forward writes it, and
// the backward pass is Backward with the same Params: dx = keep ? dy·s :
// 0, while the residual's gradient is dy itself. dst may be x or residual.
// Alpha dropout does not combine with the fused op.
//
// A backend that does not implement Fuser gives an error wrapping
// ErrUnsupported.
func ForwardFused(b Backend, dst, x, bias, residual, mask Tensor, p Params) error {
	f, ok := b.(Fuser)
	if !ok {
		if err := p.CheckFused(dst, x, bias, residual, mask); err != nil {
			return err
		}
		return fmt.Errorf("%w: the fused bias+dropout+residual op on %s", ErrUnsupported, b.Name())
	}
	return f.ForwardFused(dst, x, bias, residual, mask, p)
}

// BiasLen returns the length a fused call's bias must have for a tensor of
// n elements: the last axis of p.Shape, or n without a Shape.
func (p Params) BiasLen(n int) int {
	if len(p.Shape) == 0 {
		return n
	}
	return p.Shape[len(p.Shape)-1]
}

// CheckFused validates a ForwardFused call under p without running it: the
// checks of CheckCall on dst, x and mask, and bias (BiasLen elements) and
// residual (x's length), where present, of x's data type. It returns the
// error a backend would.
func (p Params) CheckFused(dst, x, bias, residual, mask Tensor) error {
	if err := p.CheckCall(dst, x, mask); err != nil {
		return err
	}
	if p.Alpha {
		return fmt.Errorf("%w: alpha dropout does not combine with the fused bias+dropout+residual op", ErrUnsupported)
	}
	n := x.Len()
	if bias != nil {
		if bias.DType() != x.DType() {
			return fmt.Errorf("%w: bias is %v, x is %v", ErrDType, bias.DType(), x.DType())
		}
		if want := p.BiasLen(n); bias.Len() != want {
			return fmt.Errorf("%w: bias has %d elements, the last axis has %d", ErrLength, bias.Len(), want)
		}
	}
	if residual != nil {
		if residual.DType() != x.DType() {
			return fmt.Errorf("%w: residual is %v, x is %v", ErrDType, residual.DType(), x.DType())
		}
		if residual.Len() != n {
			return fmt.Errorf("%w: residual has %d elements, x has %d", ErrLength, residual.Len(), n)
		}
	}
	return nil
}
