package exectest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
)

// An OpCase is one call of CheckOps: a tensor shape and the Params and
// operands that go with it (P and Mask are set by CheckOps).
type OpCase struct {
	Name        string
	N           int // elements
	P           dropout.Params
	Fused       bool // ForwardFused, with a bias, a residual or both
	Bias, Resid bool
	InPlace     bool // device buffers: dst is x (or, fused with a residual, the residual)
}

// OpCases are the calls of CheckOps: 16-bit sizes across chunks and
// vectors, alpha dropout, the fused op with and without each operand,
// noise shapes and regions (blocks whose mask is or is not one run of the
// stream, with and without a noise shape on the global shape).
func OpCases() []OpCase {
	return []OpCase{
		{Name: "flat1", N: 1},
		{Name: "flat37", N: 37},
		{Name: "flat1003", N: 1003},
		{Name: "inplace", N: 300, InPlace: true},
		{Name: "alpha", N: 515, P: dropout.Params{Alpha: true}},
		{Name: "alpha-noise", N: 600, P: dropout.Params{Alpha: true, Shape: []int{20, 30}, NoiseShape: []int{20, 1}}},
		{Name: "fused-bias", N: 1003, P: dropout.Params{Shape: []int{17, 59}}, Fused: true, Bias: true},
		{Name: "fused-resid", N: 333, Fused: true, Resid: true},
		{Name: "fused-both", N: 1000, P: dropout.Params{Shape: []int{10, 100}}, Fused: true, Bias: true, Resid: true},
		{Name: "fused-flatbias", N: 70, Fused: true, Bias: true, Resid: true},
		{Name: "fused-none", N: 65, Fused: true},
		{Name: "fused-inplace", N: 640, P: dropout.Params{Shape: []int{5, 128}}, Fused: true, Bias: true, Resid: true, InPlace: true},
		{Name: "fused-noise", N: 600, P: dropout.Params{Shape: []int{20, 30}, NoiseShape: []int{1, 30}}, Fused: true, Bias: true, Resid: true},
		{Name: "region-rows", N: 3 * 40, P: dropout.Params{Global: []int{7, 40}, Start: []int{2, 0}, Shape: []int{3, 40}}},
		{Name: "region-block", N: 3 * 30, P: dropout.Params{Global: []int{7, 40}, Start: []int{2, 5}, Shape: []int{3, 30}}},
		{Name: "region-3d", N: 2 * 5 * 64, P: dropout.Params{Global: []int{4, 5, 70}, Start: []int{1, 0, 3}, Shape: []int{2, 5, 64}}},
		{Name: "region-noise", N: 2 * 5 * 64, P: dropout.Params{Global: []int{4, 5, 70}, Start: []int{1, 0, 3}, Shape: []int{2, 5, 64}, NoiseShape: []int{4, 1, 70}}},
		{Name: "region-noise-bcast", N: 3 * 30, P: dropout.Params{Global: []int{7, 40}, Start: []int{2, 5}, Shape: []int{3, 30}, NoiseShape: []int{1, 40}}},
		{Name: "region-alpha", N: 3 * 30, P: dropout.Params{Alpha: true, Global: []int{7, 40}, Start: []int{2, 5}, Shape: []int{3, 30}}},
		{Name: "region-fused", N: 3 * 30, P: dropout.Params{Global: []int{7, 40}, Start: []int{2, 5}, Shape: []int{3, 30}}, Fused: true, Bias: true, Resid: true},
	}
}

// CheckOps runs each case on b for every data type b takes, every mask
// format, p in {0, 0.3, 1}, host tensors and device buffers, forward and
// backward, against the reference backend (cpu.NewReference), bit for bit
// (any NaN equals any NaN). Cases the device's capabilities exclude are
// checked to fail with ErrUnsupported. With short (for slow devices such
// as Oclgrind's simulator) it runs p = 0.3 only and, per case and data
// type, one mask format and one placement, in turn.
func CheckOps(t *testing.T, b dropout.Backend, cases []OpCase, short bool) {
	caps := b.Device().Caps
	ref := cpu.NewReference()
	turn := 0
	for _, c := range cases {
		for _, dt := range caps.DTypes {
			turn++
			for fi, f := range dropout.AllMaskFormats() {
				for _, pr := range []float64{0, 0.3, 1} {
					for di, dev := range []bool{false, true} {
						if c.InPlace && !dev || short && (pr != 0.3 || fi != turn%3 || di != (turn/3+fi)%2 && !c.InPlace) {
							continue
						}
						p := c.P
						p.P, p.Mask, p.Seed, p.Offset = pr, f, 0x1234567890abcdef, 1<<64-37
						name := fmt.Sprintf("%s/%v/%v/p=%v/device=%v", c.Name, dt, f, pr, dev)
						if err := checkOp(b, ref, c, dt, p, dev); err != nil {
							t.Errorf("%s: %v", name, err)
						}
					}
				}
			}
		}
	}
}

// checkOp runs one case forward and backward on b and on ref.
func checkOp(b, ref dropout.Backend, c OpCase, dt dropout.DType, p dropout.Params, dev bool) error {
	n, m := c.N, p.MaskLen(c.N)
	x := dropouttest.Data(dt, n, uint64(n)+1)
	var bias, resid dropout.Tensor
	if c.Bias {
		bias = dropouttest.Data(dt, p.BiasLen(n), uint64(n)+2)
	}
	if c.Resid {
		resid = dropouttest.Data(dt, n, uint64(n)+3)
	}
	caps := b.Device().Caps
	unsupported := p.Alpha && !caps.Alpha || c.Fused && !caps.Fused || p.IsRegion() && !caps.Regions
	// forward
	want, wm := dropouttest.Zeros(dt, n), dropouttest.NewMask(p.Mask, m)
	var err error
	if c.Fused {
		err = dropout.ForwardFused(ref, want, x, bias, resid, wm, p)
	} else {
		err = ref.Forward(want, x, wm, p)
	}
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	got, gm := dropouttest.Zeros(dt, n), dropouttest.NewMask(p.Mask, m)
	err = run(b, dev, c.InPlace, func(t []dropout.Tensor) error {
		if c.Fused {
			return dropout.ForwardFused(b, t[0], t[1], t[2], t[3], t[4], p)
		}
		return b.Forward(t[0], t[1], t[4], p)
	}, got, x, bias, resid, gm, c.Fused && c.Resid)
	if unsupported {
		if !errors.Is(err, dropout.ErrUnsupported) {
			return fmt.Errorf("forward without the capability: got %v, want ErrUnsupported", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	if err := dropouttest.Equal(got, want); err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	if p.Mask != dropout.MaskNone {
		if err := dropouttest.Equal(gm, wm); err != nil {
			return fmt.Errorf("forward mask: %w", err)
		}
	}
	// backward, from the reference's mask or regenerated
	dy := dropouttest.Data(dt, n, uint64(n)+4)
	want = dropouttest.Zeros(dt, n)
	if err := ref.Backward(want, dy, wm, p); err != nil {
		return fmt.Errorf("reference backward: %w", err)
	}
	got = dropouttest.Zeros(dt, n)
	err = run(b, dev, c.InPlace, func(t []dropout.Tensor) error {
		return b.Backward(t[0], t[1], t[4], p)
	}, got, dy, nil, nil, wm, false)
	if err != nil {
		return fmt.Errorf("backward: %w", err)
	}
	if err := dropouttest.Equal(got, want); err != nil {
		return fmt.Errorf("backward: %w", err)
	}
	return nil
}

// run calls f with the operands (dst, x, bias, residual, mask) as host
// tensors or, with dev, device buffers of b, and copies dst and a mask
// back into the host tensors. In place, dst is the residual's buffer
// (intoResid) or x's.
func run(b dropout.Backend, dev, inPlace bool, f func([]dropout.Tensor) error, dst, x, bias, resid, mask dropout.Tensor, intoResid bool) error {
	host := []dropout.Tensor{dst, x, bias, resid, mask}
	if !dev {
		return f(host)
	}
	ts := make([]dropout.Tensor, len(host))
	for i, h := range host {
		if h == nil {
			continue
		}
		u, err := b.Alloc(h.DType(), h.Len())
		if err != nil {
			return err
		}
		defer u.Release()
		if err := u.Write(h); err != nil {
			return err
		}
		ts[i] = u
	}
	if inPlace {
		ts[0] = ts[1]
		if intoResid {
			ts[0] = ts[3]
		}
	}
	if err := f(ts); err != nil {
		return err
	}
	if err := ts[0].(dropout.Buffer).Read(dst); err != nil {
		return err
	}
	if mask != nil {
		return ts[4].(dropout.Buffer).Read(mask)
	}
	return nil
}
