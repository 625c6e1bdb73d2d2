package cpu

import (
	"fmt"

	"gonum.org/v1/gonum/floats"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/internal/philox"
)

// Reference is the oracle backend. Its zero value is ready to use. It is
// safe for concurrent use (see the package doc).
type Reference struct {
	st state // open or closed
}

// NewReference returns a reference backend.
func NewReference() *Reference { return &Reference{} }

// ReferenceDriver opens the reference backend.
type ReferenceDriver struct{}

// Name returns "reference".
func (ReferenceDriver) Name() string { return "reference" }

// Devices returns the host CPU.
func (ReferenceDriver) Devices() ([]dropout.DeviceInfo, error) {
	return []dropout.DeviceInfo{NewReference().Device()}, nil
}

// Open returns a reference backend; opts.Device must be "", "0" or match "cpu".
func (ReferenceDriver) Open(opts dropout.Options) (dropout.Backend, error) {
	if err := checkDevice("reference", opts.Device); err != nil {
		return nil, err
	}
	return NewReference(), nil
}

// Name returns "reference".
func (r *Reference) Name() string { return "reference" }

// Device describes the host CPU.
func (r *Reference) Device() dropout.DeviceInfo {
	return dropout.DeviceInfo{Backend: "reference", Name: cpuName(), Kind: dropout.KindCPU, Memory: hostMemory(), Threads: 1, Caps: caps()}
}

// Alloc returns a zeroed host buffer that belongs to r, as (*CPU).Alloc.
func (r *Reference) Alloc(dt dropout.DType, n int) (dropout.Buffer, error) {
	return alloc(&r.st, dt, n)
}

// Copy copies host tensors.
func (r *Reference) Copy(dst, src dropout.Tensor) error {
	if err := r.st.enter("Copy"); err != nil {
		return err
	}
	defer r.st.exit()
	d, s, err := copyArgs(dst, src)
	if err != nil {
		return err
	}
	return driver.CopyHost(d, s)
}

// Close waits for the calls in flight and marks the backend closed, as
// (*CPU).Close.
func (r *Reference) Close() error { r.st.close(); return nil }

// keeps returns the keep decision of every mask element, as 0/1 float64s:
// element j is kept iff stream word Offset+j is >= Threshold.
func keeps(pl *driver.Plan) []float64 {
	w := make([]uint32, pl.MaskN)
	philox.Fill(w, pl.Seed, pl.Offset)
	k := make([]float64, pl.MaskN)
	for j := range k {
		if uint64(w[j]) >= pl.Threshold {
			k[j] = 1
		}
	}
	return k
}

// Forward implements dropout.Backend.
func (r *Reference) Forward(dst, x, mask dropout.Tensor, p dropout.Params) error {
	if err := r.st.enter("Forward"); err != nil {
		return err
	}
	defer r.st.exit()
	pl, d, s, m, err := hostArgs(dst, x, mask, p)
	if err != nil {
		return err
	}
	k := keeps(&pl)
	apply(&pl, d, s, k)
	switch pl.Mask {
	case dropout.MaskBits:
		clear(m)
		for j, v := range k {
			if v != 0 {
				m[j/8] |= 1 << (j % 8)
			}
		}
	case dropout.MaskBytes:
		for j, v := range k {
			m[j] = byte(v)
		}
	}
	return nil
}

// Backward implements dropout.Backend.
func (r *Reference) Backward(dx, dy, mask dropout.Tensor, p dropout.Params) error {
	if err := r.st.enter("Backward"); err != nil {
		return err
	}
	defer r.st.exit()
	pl, d, s, m, err := hostArgs(dx, dy, mask, p)
	if err != nil {
		return err
	}
	var k []float64
	switch pl.Mask {
	case dropout.MaskNone:
		k = keeps(&pl)
	case dropout.MaskBits:
		k = make([]float64, pl.MaskN)
		for j := range k {
			k[j] = float64(m[j/8] >> (j % 8) & 1)
		}
	case dropout.MaskBytes:
		k = make([]float64, pl.MaskN)
		for j := range k {
			if m[j] != 0 {
				k[j] = 1
			}
		}
	}
	apply(&pl, d, s, k)
	return nil
}

// hostArgs validates a call on host tensors and unwraps host buffers.
func hostArgs(dst, src, mask dropout.Tensor, p dropout.Params) (pl driver.Plan, d, s dropout.Tensor, m dropout.Bytes, err error) {
	pl, err = driver.NewPlan(dst, src, mask, p)
	if err != nil {
		return pl, nil, nil, nil, err
	}
	if pl.Alpha {
		return pl, nil, nil, nil, fmt.Errorf("%w: alpha dropout", dropout.ErrUnsupported)
	}
	if pl.DType != dropout.Float32 && pl.DType != dropout.Float64 {
		return pl, nil, nil, nil, fmt.Errorf("%w: %v data on the CPU backends", dropout.ErrDType, pl.DType)
	}
	var ok bool
	if d, err = driver.HostOperand(dst); err != nil {
		return
	}
	if s, err = driver.HostOperand(src); err != nil {
		return
	}
	if pl.Mask != dropout.MaskNone {
		var mt dropout.Tensor
		if mt, err = driver.HostOperand(mask); err != nil {
			return
		}
		if m, ok = mt.(dropout.Bytes); !ok {
			err = fmt.Errorf("%w: mask is %v", dropout.ErrMaskFormat, mt.DType())
			return
		}
	}
	return pl, d, s, m, nil
}

// apply sets d = keep ? s*scale : 0 element by element in float64 and
// rounds once to d's type. With pl.Copy (p = 0) it copies bits.
func apply(pl *driver.Plan, d, s dropout.Tensor, k []float64) {
	switch d := d.(type) {
	case dropout.Float32s:
		s := s.(dropout.Float32s)
		v := make([]float64, len(s))
		for i, x := range s {
			v[i] = float64(x)
		}
		floats.Scale(float64(pl.Scale32), v) // exact: a product of two float32s fits a float64
		for i := range d {
			switch {
			case k[pl.MaskIndex(i)] == 0:
				d[i] = 0
			case pl.Copy: // p = 0: a bit copy, signalling NaNs too
				d[i] = s[i]
			default:
				d[i] = float32(v[i])
			}
		}
	case dropout.Float64s:
		s := s.(dropout.Float64s)
		v := make([]float64, len(s))
		copy(v, s)
		floats.Scale(pl.Scale64, v)
		for i := range d {
			switch {
			case k[pl.MaskIndex(i)] == 0:
				d[i] = 0
			case pl.Copy:
				d[i] = s[i]
			default:
				d[i] = v[i]
			}
		}
	}
}
