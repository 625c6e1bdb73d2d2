package driver

import "github.com/gpudropout/dropout"

// Plan is a validated call: what a backend needs to run it.
type Plan struct {
	DType     dropout.DType
	N         int                // tensor elements
	MaskN     int                // mask elements (stream words used)
	Mask      dropout.MaskFormat // format of the mask tensor
	Seed      uint64
	Offset    uint64
	Threshold uint64  // keep iff word >= Threshold
	Scale32   float32 // scale for float32 and 16-bit data
	Scale64   float64 // scale for float64 data
	Copy      bool    // p == 0: the output is a bit-exact copy
	Alpha     bool    // alpha dropout (Params.Alpha)

	// Dims and Bcast describe the noise-shape broadcast in canonical form:
	// the tensor's shape with adjacent axes merged so that no two neighbours
	// have the same broadcast flag. Bcast[i] is true where the mask is
	// broadcast along Dims[i]. Nil when the mask covers the tensor one to one.
	Dims  []int
	Bcast []bool
}

// Broadcast reports whether the mask is broadcast over the tensor.
func (pl *Plan) Broadcast() bool { return pl.Dims != nil }

// MaskIndex returns the mask element that tensor element i uses. It is the
// plain, slow definition; kernels compute the same thing incrementally.
func (pl *Plan) MaskIndex(i int) int {
	if pl.Dims == nil {
		return i
	}
	j, stride := 0, 1
	for d := len(pl.Dims) - 1; d >= 0; d-- {
		c := i % pl.Dims[d]
		i /= pl.Dims[d]
		if !pl.Bcast[d] {
			j += c * stride
			stride *= pl.Dims[d]
		}
	}
	return j
}

// NewPlan validates a forward or backward call (dropout.Params.CheckCall)
// and returns the plan the backend runs.
func NewPlan(dst, src, mask dropout.Tensor, p dropout.Params) (Plan, error) {
	if err := p.CheckCall(dst, src, mask); err != nil {
		return Plan{}, err
	}
	n, m := src.Len(), p.MaskLen(src.Len())
	pl := Plan{
		DType:     src.DType(),
		N:         n,
		MaskN:     m,
		Mask:      p.Mask,
		Seed:      p.Seed,
		Offset:    p.Offset,
		Threshold: dropout.Threshold(p.P),
		Scale32:   dropout.Scale32(p.P),
		Scale64:   dropout.Scale64(p.P),
		Copy:      p.P == 0,
		Alpha:     p.Alpha,
	}
	if p.NoiseShape != nil && m != n {
		shape := p.Shape
		if shape == nil {
			shape = []int{n}
		}
		for i, d := range shape {
			b := p.NoiseShape[i] == 1 && d != 1
			if d == 1 {
				continue // size-1 axes merge with anything
			}
			if k := len(pl.Dims); k > 0 && pl.Bcast[k-1] == b {
				pl.Dims[k-1] *= d
				continue
			}
			pl.Dims = append(pl.Dims, d)
			pl.Bcast = append(pl.Bcast, b)
		}
	}
	return pl, nil
}
