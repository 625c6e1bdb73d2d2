package npy

import (
	"fmt"
	"math/bits"
	"slices"

	"github.com/gpudropout/dropout"
)

// MaskShape returns the shape of a mask file of format f for a mask of
// shape noise (the noise shape, or the tensor's shape): (ceil(n/8),) for
// bits, noise itself for bytes.
func MaskShape(f dropout.MaskFormat, noise []int) []int {
	if f == dropout.MaskBits {
		n := 1
		for _, d := range noise {
			n *= d
		}
		return []int{f.Bytes(n)}
	}
	return slices.Clone(noise)
}

// ReadMask reads the mask file at path and validates it as a mask of
// format f (MaskBits or MaskBytes) over a mask of shape noise: dtype uint8
// (or bool), the shape MaskShape gives, values 0/1 for bytes and zero
// padding bits for bits. Errors name the file.
func ReadMask(path string, f dropout.MaskFormat, noise []int) (dropout.Bytes, error) {
	in, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return in.ReadMask(f, noise)
}

// CheckMask checks the input's header for a mask of format f over a mask
// of shape noise, before any data is read.
func (in *Input) CheckMask(f dropout.MaskFormat, noise []int) error {
	if err := checkMask(in.Header, f, noise); err != nil {
		return fileErr(in.Name, err)
	}
	return nil
}

func checkMask(h Header, f dropout.MaskFormat, noise []int) error {
	if f != dropout.MaskBits && f != dropout.MaskBytes {
		return fmt.Errorf("%w: mask format %v cannot be read from a file", ErrMask, f)
	}
	if h.DType != dropout.Uint8 {
		return fmt.Errorf("%w: a %v mask must be uint8, got %q", ErrDType, f, h.Descr)
	}
	want := MaskShape(f, noise)
	if !slices.Equal(h.Shape, want) && !(len(h.Shape) == 0 && len(want) == 0) {
		return fmt.Errorf("%w: a %v mask for shape %s must have shape %s, got %s",
			ErrShape, f, ShapeString(noise), ShapeString(want), ShapeString(h.Shape))
	}
	return nil
}

// ReadMask reads the input as a mask of format f over a mask of shape
// noise (see the function ReadMask).
func (in *Input) ReadMask(f dropout.MaskFormat, noise []int) (dropout.Bytes, error) {
	if err := in.CheckMask(f, noise); err != nil {
		return nil, err
	}
	a, err := in.readData()
	if err != nil {
		return nil, fileErr(in.Name, err)
	}
	b := a.Data.(dropout.Bytes)
	n := 1
	for _, d := range noise {
		n *= d
	}
	switch f {
	case dropout.MaskBytes:
		for i, v := range b {
			if v > 1 {
				return nil, fileErr(in.Name, fmt.Errorf("%w: byte %d is %d, want 0 or 1", ErrMask, i, v))
			}
		}
	case dropout.MaskBits:
		if r := n % 8; r != 0 && len(b) > 0 {
			if pad := b[len(b)-1] >> r; pad != 0 {
				return nil, fileErr(in.Name, fmt.Errorf("%w: %d padding bits after element %d are set (want zero)", ErrMask, bits.OnesCount8(pad), n-1))
			}
		}
	}
	return b, nil
}
