package dropout

import "sync/atomic"

// Generator holds a (seed, offset) pair and advances the offset by the
// number of mask elements each call uses, as PyTorch's Philox state does,
// so successive calls draw fresh masks from one stream.
//
// A Generator is safe for concurrent use: Next and Forward reserve their
// stream words with one atomic step, so concurrent callers never share a
// word. (Which caller gets which words then depends on the order the calls
// arrive in; a program that needs reproducible masks across runs calls
// in a fixed order, or gives each goroutine its own offset range.)
//
// The Params a forward call returns are what the matching backward call
// takes.
type Generator struct {
	seed   uint64
	offset atomic.Uint64
}

// NewGenerator returns a generator at (seed, offset 0).
func NewGenerator(seed uint64) *Generator { return &Generator{seed: seed} }

// Seed returns the generator's seed.
func (g *Generator) Seed() uint64 { return g.seed }

// Offset returns the stream word the next call starts at.
func (g *Generator) Offset() uint64 { return g.offset.Load() }

// SetOffset moves the generator to offset.
func (g *Generator) SetOffset(offset uint64) { g.offset.Store(offset) }

// Next returns p with Seed and Offset set from the generator and advances
// the offset by p.StreamLen(n), the stream words a call over n elements
// uses (for a region, the whole global tensor's). Offsets wrap modulo
// 2^64, as the stream contract's word indices do.
func (g *Generator) Next(p Params, n int) Params {
	k := uint64(p.StreamLen(n))
	p.Seed = g.seed
	p.Offset = g.offset.Add(k) - k
	return p
}

// Forward reserves the generator's next p.StreamLen(x.Len()) stream words,
// runs b.Forward over them and returns the Params it used, for Backward.
// A call that fails validation (bad p, lengths, shapes, mask) reserves
// nothing; words reserved by a call that fails on the device stay
// reserved, so a retry draws a fresh mask (call SetOffset to reuse them).
func (g *Generator) Forward(b Backend, dst, x, mask Tensor, p Params) (Params, error) {
	if err := p.CheckCall(dst, x, mask); err != nil {
		return p, err
	}
	p = g.Next(p, x.Len())
	return p, b.Forward(dst, x, mask, p)
}

// ForwardFused is Forward for the fused op dst = residual + dropout(x +
// bias) (see the package function ForwardFused): it reserves the stream
// words, runs the call and returns the Params for Backward.
func (g *Generator) ForwardFused(b Backend, dst, x, bias, residual, mask Tensor, p Params) (Params, error) {
	if err := p.CheckFused(dst, x, bias, residual, mask); err != nil {
		return p, err
	}
	p = g.Next(p, x.Len())
	return p, ForwardFused(b, dst, x, bias, residual, mask, p)
}

// Backward runs the backward pass of a call that Forward or ForwardFused
// made: p is the Params they returned (the same seed, offset, mask format,
// shapes and alpha flag), so dx = keep ? dy·s : 0 uses the forward call's
// mask, read from mask or, with MaskNone, regenerated. It reserves
// nothing. Host tensors and device buffers mix freely in one call.
func (g *Generator) Backward(b Backend, dx, dy, mask Tensor, p Params) error {
	return b.Backward(dx, dy, mask, p)
}
