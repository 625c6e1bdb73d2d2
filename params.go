package dropout

import (
	"fmt"
	"math"
)

// MaskFormat says how a mask is stored.
type MaskFormat uint8

// The mask formats (CONTRACT.md §10).
const (
	// MaskNone stores nothing: backward regenerates the mask from (seed, offset).
	MaskNone MaskFormat = iota
	// MaskBits stores one bit per mask element, element j at bit j%8 of
	// byte j/8 (LSB first; the same as little-endian 32-bit words), padding
	// bits zero: ceil(n/8) bytes, readable with numpy.unpackbits(m, bitorder='little').
	MaskBits
	// MaskBytes stores one byte per mask element, 1 kept and 0 dropped.
	MaskBytes
)

func (f MaskFormat) String() string {
	switch f {
	case MaskNone:
		return "none"
	case MaskBits:
		return "bits"
	case MaskBytes:
		return "bytes"
	}
	return fmt.Sprintf("MaskFormat(%d)", uint8(f))
}

// ParseMaskFormat parses "none", "bits" or "bytes".
func ParseMaskFormat(s string) (MaskFormat, error) {
	switch s {
	case "none", "":
		return MaskNone, nil
	case "bits":
		return MaskBits, nil
	case "bytes":
		return MaskBytes, nil
	}
	return 0, fmt.Errorf("%w: unknown mask format %q (want none, bits or bytes)", ErrMaskFormat, s)
}

// Bytes returns the number of bytes a mask of n elements takes in format f.
func (f MaskFormat) Bytes(n int) int {
	switch f {
	case MaskBits:
		return (n + 7) / 8
	case MaskBytes:
		return n
	}
	return 0
}

// Params are the arguments of one dropout call besides its tensors.
type Params struct {
	// P is the probability of dropping an element, in [0, 1].
	P float64
	// Seed keys the Philox stream.
	Seed uint64
	// Offset is the stream word used by mask element 0.
	Offset uint64
	// Mask is the format of the mask tensor: written by Forward, read by
	// Backward. With MaskNone, Forward stores no mask and Backward
	// regenerates it from (Seed, Offset).
	Mask MaskFormat
	// Shape is the tensor's row-major shape; nil means one axis of the
	// tensor's length. It matters only with NoiseShape.
	Shape []int
	// NoiseShape is the shape the mask is drawn over, with 1 on each axis
	// it is broadcast along (TensorFlow's noise_shape); nil means Shape.
	NoiseShape []int
	// Alpha selects alpha dropout (for SELU networks) as PyTorch defines
	// it: a kept element becomes A·x + B, a dropped one D, with the
	// coefficients of AlphaCoefficients; Backward gives keep ? A·dy : 0.
	Alpha bool

	// Global and Start make the call a region (a shard) of a larger
	// tensor: Global is the global tensor's shape, Start the index of the
	// block's first element in it, and Shape (required with Global) the
	// block's own shape, the shape of the tensors of the call. Block
	// element i then uses the mask element of global index Start + c,
	// where c are i's coordinates in Shape, so the blocks of any partition
	// of the global tensor, each run on its own (on any backend, device or
	// machine), give exactly the global call's result. NoiseShape, when
	// set, is given on Global; the stored mask is the block of the global
	// mask in the block's own row-major order (MaskShape). Nil Global: the
	// tensor is the whole.
	Global []int
	Start  []int
}

// IsRegion reports whether p describes a block of a larger tensor.
func (p Params) IsRegion() bool { return p.Global != nil }

// MaskLen returns the number of mask elements a call over a tensor of n
// elements stores (and, for a whole tensor, the stream words it uses): the
// size of the noise shape, or n; for a region, the size of its block of
// the global mask (MaskShape).
func (p Params) MaskLen(n int) int {
	if p.Global != nil {
		return product(p.MaskShape())
	}
	if p.NoiseShape == nil {
		return n
	}
	return product(p.NoiseShape)
}

// StreamLen returns the number of stream words a call over a tensor of n
// elements reserves: MaskLen(n) for a whole tensor; for a region, the
// words of the whole global call (the size of NoiseShape, or of Global),
// so that a Generator advances past the global tensor's mask whichever
// block asks.
func (p Params) StreamLen(n int) int {
	if p.Global == nil {
		return p.MaskLen(n)
	}
	if p.NoiseShape != nil {
		return product(p.NoiseShape)
	}
	return product(p.Global)
}

// MaskShape returns the shape of the mask a call stores, for a region the
// block of the global mask: on each axis, 1 where the noise shape
// broadcasts, the block's size otherwise. For a whole tensor it is
// NoiseShape, or Shape, or nil for a one-axis tensor without either. The
// result is a new slice; p must be valid (Validate).
func (p Params) MaskShape() []int {
	if p.Global == nil {
		if p.NoiseShape != nil {
			return append([]int(nil), p.NoiseShape...)
		}
		return append([]int(nil), p.Shape...)
	}
	m := append([]int(nil), p.Shape...)
	if p.NoiseShape != nil {
		for d, k := range p.NoiseShape {
			if k == 1 {
				m[d] = 1
			}
		}
	}
	return m
}

func product(s []int) int {
	m := 1
	for _, d := range s {
		m *= d
	}
	return m
}

// Validate checks p for a tensor of n elements.
func (p Params) Validate(n int) error {
	if math.IsNaN(p.P) || p.P < 0 || p.P > 1 {
		return fmt.Errorf("%w: got %v", ErrP, p.P)
	}
	if n < 0 {
		return fmt.Errorf("%w: negative length %d", ErrLength, n)
	}
	switch p.Mask {
	case MaskNone, MaskBits, MaskBytes:
	default:
		return fmt.Errorf("%w: unknown mask format %d", ErrMaskFormat, p.Mask)
	}
	if p.Shape != nil {
		if err := checkShape("shape", p.Shape); err != nil {
			return err
		}
		if m := product(p.Shape); m != n {
			return fmt.Errorf("%w: shape %v has %d elements, tensor has %d", ErrLength, p.Shape, m, n)
		}
	}
	if p.Global != nil || p.Start != nil {
		if err := p.validateRegion(); err != nil {
			return err
		}
	}
	if p.NoiseShape != nil {
		if err := checkShape("noise shape", p.NoiseShape); err != nil {
			return err
		}
		shape := p.Shape
		if p.Global != nil {
			shape = p.Global
		}
		if shape == nil {
			shape = []int{n}
		}
		if len(p.NoiseShape) != len(shape) {
			return fmt.Errorf("%w: noise shape %v and shape %v differ in rank", ErrShape, p.NoiseShape, shape)
		}
		for i, d := range p.NoiseShape {
			if d != 1 && d != shape[i] {
				return fmt.Errorf("%w: noise shape %v does not broadcast to shape %v (axis %d)", ErrShape, p.NoiseShape, shape, i)
			}
		}
	}
	return nil
}

// validateRegion checks Global, Start and Shape of a region call.
func (p Params) validateRegion() error {
	switch {
	case p.Global == nil:
		return fmt.Errorf("%w: start %v without a global shape", ErrShape, p.Start)
	case p.Shape == nil:
		return fmt.Errorf("%w: a region (global shape %v) needs Shape, the block's shape", ErrShape, p.Global)
	case len(p.Start) != len(p.Global) || len(p.Shape) != len(p.Global):
		return fmt.Errorf("%w: global shape %v, start %v and block shape %v differ in rank", ErrShape, p.Global, p.Start, p.Shape)
	}
	if err := checkShape("global shape", p.Global); err != nil {
		return err
	}
	for d, g := range p.Global {
		if o := p.Start[d]; o < 0 || o > g || p.Shape[d] > g-o {
			return fmt.Errorf("%w: block at %v of shape %v does not fit the global shape %v (axis %d)", ErrShape, p.Start, p.Shape, p.Global, d)
		}
	}
	return nil
}

func checkShape(what string, s []int) error {
	m := 1
	for _, d := range s {
		if d < 0 {
			return fmt.Errorf("%w: %s %v has a negative axis", ErrShape, what, s)
		}
		if d != 0 && m > math.MaxInt/d {
			return fmt.Errorf("%w: %s %v is too large", ErrShape, what, s)
		}
		m *= d
	}
	return nil
}

// CheckCall validates a Forward or Backward call under p without running
// it: dst and src must have the same data type and length, mask must be a
// Uint8 tensor of p.Mask.Bytes(p.MaskLen(n)) bytes (with MaskNone it may be
// anything, even nil). It returns the error a backend would.
func (p Params) CheckCall(dst, src, mask Tensor) error {
	if dst == nil || src == nil {
		return fmt.Errorf("%w: nil tensor", ErrLength)
	}
	if dst.DType() != src.DType() {
		return fmt.Errorf("%w: dst is %v, src is %v", ErrDType, dst.DType(), src.DType())
	}
	switch src.DType() {
	case Float32, Float64, Float16, BFloat16:
	default:
		return fmt.Errorf("%w: %v data", ErrDType, src.DType())
	}
	n := src.Len()
	if dst.Len() != n {
		return fmt.Errorf("%w: dst has %d elements, src has %d", ErrLength, dst.Len(), n)
	}
	if err := p.Validate(n); err != nil {
		return err
	}
	m := p.MaskLen(n)
	if p.Mask != MaskNone {
		if mask == nil {
			return fmt.Errorf("%w: mask format %v needs a mask tensor", ErrMaskFormat, p.Mask)
		}
		if mask.DType() != Uint8 {
			return fmt.Errorf("%w: mask tensor is %v, want uint8", ErrMaskFormat, mask.DType())
		}
		if want := p.Mask.Bytes(m); mask.Len() != want {
			return fmt.Errorf("%w: %v mask of %d elements needs %d bytes, got %d", ErrLength, p.Mask, m, want, mask.Len())
		}
	}
	return nil
}
