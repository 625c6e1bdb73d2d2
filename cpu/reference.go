package cpu

import (
	"fmt"

	"gonum.org/v1/gonum/floats"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/internal/half"
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
	storeMask(m, k, pl.Mask)
	if pl.Alpha {
		refAlpha(&pl, d, s, k)
	} else {
		refScale(&pl, d, s, k, pl.Scale32, pl.Scale64)
	}
	return nil
}

// ForwardFused implements dropout.Fuser: dst = residual + dropout(x + bias),
// each step rounded to the data type.
func (r *Reference) ForwardFused(dst, x, bias, residual, mask dropout.Tensor, p dropout.Params) error {
	if err := r.st.enter("ForwardFused"); err != nil {
		return err
	}
	defer r.st.exit()
	pl, ops, err := fusedArgs(dst, x, bias, residual, mask, p)
	if err != nil {
		return err
	}
	k := keeps(&pl)
	storeMask(ops.m, k, pl.Mask)
	refFused(&pl, ops, k)
	return nil
}

// Backward implements dropout.Backend: dx = keep ? dy·s : +0, with s the
// alpha coefficient A for alpha dropout.
func (r *Reference) Backward(dx, dy, mask dropout.Tensor, p dropout.Params) error {
	if err := r.st.enter("Backward"); err != nil {
		return err
	}
	defer r.st.exit()
	pl, d, s, m, err := hostArgs(dx, dy, mask, p)
	if err != nil {
		return err
	}
	var k []bool
	switch pl.Mask {
	case dropout.MaskNone:
		k = keeps(&pl)
	case dropout.MaskBits:
		k = make([]bool, pl.MaskN)
		for j := range k {
			k[j] = m[j/8]>>(j%8)&1 == 1
		}
	case dropout.MaskBytes:
		k = make([]bool, pl.MaskN)
		for j := range k {
			k[j] = m[j] != 0
		}
	}
	s32, s64 := backwardScale(&pl)
	refScale(&pl, d, s, k, s32, s64)
	return nil
}

// backwardScale returns the factor of the backward pass: the dropout scale,
// or alpha dropout's A.
func backwardScale(pl *driver.Plan) (float32, float64) {
	if pl.Alpha {
		return pl.AlphaA32, pl.AlphaA64
	}
	return pl.Scale32, pl.Scale64
}

// keeps returns the keep decision of every mask element: element j is kept
// iff its stream word (Offset + j, or the region's pl.Word(j)) is >= Threshold.
func keeps(pl *driver.Plan) []bool {
	w := make([]uint32, pl.MaskN)
	if pl.Words == nil {
		philox.Fill(w, pl.Seed, pl.Offset)
	} else {
		for j := range w {
			w[j] = philox.Word(pl.Seed, pl.Word(j))
		}
	}
	k := make([]bool, pl.MaskN)
	for j := range k {
		k[j] = uint64(w[j]) >= pl.Threshold
	}
	return k
}

// storeMask writes the keep decisions k to a stored mask of format f.
func storeMask(m dropout.Bytes, k []bool, f dropout.MaskFormat) {
	switch f {
	case dropout.MaskBits:
		clear(m)
		for j, v := range k {
			if v {
				m[j/8] |= 1 << (j % 8)
			}
		}
	case dropout.MaskBytes:
		for j, v := range k {
			m[j] = b2u8(v)
		}
	}
}

// hostArgs validates a call on host tensors and unwraps host buffers.
func hostArgs(dst, src, mask dropout.Tensor, p dropout.Params) (pl driver.Plan, d, s dropout.Tensor, m dropout.Bytes, err error) {
	pl, err = driver.NewPlan(dst, src, mask, p)
	if err != nil {
		return pl, nil, nil, nil, err
	}
	if d, err = driver.HostOperand(dst); err != nil {
		return
	}
	if s, err = driver.HostOperand(src); err != nil {
		return
	}
	m, err = maskOperand(&pl, mask)
	return pl, d, s, m, err
}

// maskOperand returns the host bytes of a call's mask tensor, nil for MaskNone.
func maskOperand(pl *driver.Plan, mask dropout.Tensor) (dropout.Bytes, error) {
	if pl.Mask == dropout.MaskNone {
		return nil, nil
	}
	mt, err := driver.HostOperand(mask)
	if err != nil {
		return nil, err
	}
	m, ok := mt.(dropout.Bytes)
	if !ok {
		return nil, fmt.Errorf("%w: mask is %v", dropout.ErrMaskFormat, mt.DType())
	}
	return m, nil
}

// fusedOps are the host operands of a fused call; bias and r are nil when
// absent.
type fusedOps struct {
	d, x, bias, r dropout.Tensor
	m             dropout.Bytes
}

// fusedArgs validates a fused call on host tensors and unwraps host buffers.
func fusedArgs(dst, x, bias, residual, mask dropout.Tensor, p dropout.Params) (pl driver.Plan, o fusedOps, err error) {
	if pl, err = driver.NewFusedPlan(dst, x, bias, residual, mask, p); err != nil {
		return
	}
	if o.d, err = driver.HostOperand(dst); err != nil {
		return
	}
	if o.x, err = driver.HostOperand(x); err != nil {
		return
	}
	if o.bias, err = driver.HostOperand(bias); err != nil {
		return
	}
	if o.r, err = driver.HostOperand(residual); err != nil {
		return
	}
	o.m, err = maskOperand(&pl, mask)
	return
}

// The reference computes in float64 and rounds after every step of the
// contract, so that each step gives what one IEEE operation in the compute
// type gives: the product or sum of two float32s is exact in float64, or
// (for sums far apart in magnitude) rounds twice harmlessly, since
// 53 >= 2·24 + 2. 16-bit data is widened exactly to float32 (float64 here),
// computed as float32 and rounded once more, to nearest even, to its
// 16-bit type after each step that the contract rounds to the data type.

// values returns t's elements widened exactly to float64.
func values(t dropout.Tensor) []float64 {
	var v []float64
	switch t := t.(type) {
	case dropout.Float32s:
		v = make([]float64, len(t))
		for i, x := range t {
			v[i] = float64(x)
		}
	case dropout.Float64s:
		v = append([]float64(nil), t...)
	case dropout.Float16s:
		v = make([]float64, len(t))
		for i, x := range t {
			v[i] = float64(half.Float16ToFloat32(x))
		}
	case dropout.BFloat16s:
		v = make([]float64, len(t))
		for i, x := range t {
			v[i] = float64(half.BFloat16ToFloat32(x))
		}
	}
	return v
}

// roundCompute rounds v to the compute type of data type dt: float32 for
// float32 and 16-bit data, float64 for float64.
func roundCompute(dt dropout.DType, v []float64) {
	if dt == dropout.Float64 {
		return
	}
	for i, x := range v {
		v[i] = float64(float32(x))
	}
}

// roundData rounds v to data type dt: to the compute type, then, for
// 16-bit data, to the 16-bit type.
func roundData(dt dropout.DType, v []float64) {
	roundCompute(dt, v)
	switch dt {
	case dropout.Float16:
		for i, x := range v {
			v[i] = float64(half.Float16ToFloat32(half.Float32ToFloat16(float32(x))))
		}
	case dropout.BFloat16:
		for i, x := range v {
			v[i] = float64(half.BFloat16ToFloat32(half.Float32ToBFloat16(float32(x))))
		}
	}
}

// store sets d[i] to v[i], a value of d's type (roundData), or, where
// copied[i], to the bits of s[i].
func store(d, s dropout.Tensor, v []float64, copied []bool) {
	switch d := d.(type) {
	case dropout.Float32s:
		for i := range d {
			if copied[i] {
				d[i] = s.(dropout.Float32s)[i]
			} else {
				d[i] = float32(v[i])
			}
		}
	case dropout.Float64s:
		for i := range d {
			if copied[i] {
				d[i] = s.(dropout.Float64s)[i]
			} else {
				d[i] = v[i]
			}
		}
	case dropout.Float16s:
		for i := range d {
			if copied[i] {
				d[i] = s.(dropout.Float16s)[i]
			} else {
				d[i] = half.Float32ToFloat16(float32(v[i]))
			}
		}
	case dropout.BFloat16s:
		for i := range d {
			if copied[i] {
				d[i] = s.(dropout.BFloat16s)[i]
			} else {
				d[i] = half.Float32ToBFloat16(float32(v[i]))
			}
		}
	}
}

// tensorKeeps returns, for each tensor element, its mask element's keep
// decision (broadcast by a noise shape), and which elements are bit
// copies: the kept ones of p = 0 (plain and alpha dropout, forward and
// backward).
func tensorKeeps(pl *driver.Plan, k []bool) (keep, copied []bool) {
	keep, copied = make([]bool, pl.N), make([]bool, pl.N)
	for i := range keep {
		keep[i] = k[pl.MaskIndex(i)]
		copied[i] = keep[i] && pl.Copy && !pl.Fused
	}
	return keep, copied
}

// refScale sets d = keep ? s·scale : +0: plain dropout forward, and the
// backward pass of plain and alpha dropout.
func refScale(pl *driver.Plan, d, s dropout.Tensor, k []bool, s32 float32, s64 float64) {
	keep, copied := tensorKeeps(pl, k)
	v := values(s)
	scale := s64
	if pl.DType != dropout.Float64 {
		scale = float64(s32)
	}
	floats.Scale(scale, v)
	roundData(pl.DType, v)
	for i := range v {
		if !keep[i] {
			v[i] = 0
		}
	}
	store(d, s, v, copied)
}

// refAlpha sets d = keep ? (A·s) + B : D, the product rounded to the
// compute type before the addition; p = 1 gives +0.
func refAlpha(pl *driver.Plan, d, s dropout.Tensor, k []bool) {
	keep, copied := tensorKeeps(pl, k)
	A, B, D := pl.AlphaA64, pl.AlphaB64, pl.AlphaD64
	if pl.DType != dropout.Float64 {
		A, B, D = float64(pl.AlphaA32), float64(pl.AlphaB32), float64(pl.AlphaD32)
	}
	if pl.DropAll {
		D = 0
	}
	v := values(s)
	floats.Scale(A, v)
	roundCompute(pl.DType, v)
	floats.AddConst(B, v)
	roundCompute(pl.DType, v)
	for i := range v {
		if !keep[i] {
			v[i] = D
		}
	}
	roundData(pl.DType, v)
	store(d, s, v, copied)
}

// refFused sets d = r + (keep ? (x + bias)·s : +0), each step rounded to the
// data type; bias[i % BiasLen] is added to element i.
func refFused(pl *driver.Plan, o fusedOps, k []bool) {
	keep, copied := tensorKeeps(pl, k)
	v := values(o.x)
	if o.bias != nil && pl.BiasLen > 0 {
		b := values(o.bias)
		for lo := 0; lo < len(v); lo += pl.BiasLen {
			floats.Add(v[lo:lo+pl.BiasLen], b)
		}
		roundData(pl.DType, v)
	}
	scale := pl.Scale64
	if pl.DType != dropout.Float64 {
		scale = float64(pl.Scale32)
	}
	floats.Scale(scale, v)
	roundData(pl.DType, v)
	for i := range v {
		if !keep[i] {
			v[i] = 0
		}
	}
	if o.r != nil {
		floats.Add(v, values(o.r))
		roundData(pl.DType, v)
	}
	store(o.d, o.x, v, copied)
}

var _ dropout.Fuser = (*Reference)(nil)
