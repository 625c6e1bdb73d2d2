package dropout

// Generator holds a (seed, offset) pair and advances the offset by the
// number of mask elements each call uses, as PyTorch's Philox state does,
// so successive calls draw fresh masks from one stream.
//
// The Params a forward call returns are what the matching backward call
// takes.
type Generator struct {
	seed, offset uint64
}

// NewGenerator returns a generator at (seed, offset 0).
func NewGenerator(seed uint64) *Generator { return &Generator{seed: seed} }

// Seed returns the generator's seed.
func (g *Generator) Seed() uint64 { return g.seed }

// Offset returns the stream word the next call starts at.
func (g *Generator) Offset() uint64 { return g.offset }

// SetOffset moves the generator to offset.
func (g *Generator) SetOffset(offset uint64) { g.offset = offset }

// Next returns p with Seed and Offset set from the generator and advances
// the offset by p.MaskLen(n), the stream words a call over n elements uses.
func (g *Generator) Next(p Params, n int) Params {
	p.Seed, p.Offset = g.seed, g.offset
	g.offset += uint64(p.MaskLen(n))
	return p
}

// Forward runs b.Forward at the generator's (seed, offset) and, when it
// succeeds, advances the offset. It returns the Params it used, for Backward.
func (g *Generator) Forward(b Backend, dst, x, mask Tensor, p Params) (Params, error) {
	p.Seed, p.Offset = g.seed, g.offset
	if err := b.Forward(dst, x, mask, p); err != nil {
		return p, err
	}
	g.offset += uint64(p.MaskLen(x.Len()))
	return p, nil
}
