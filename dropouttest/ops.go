package dropouttest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/gpudropout/dropout"
)

// The subtests of the features of CONTRACT.md §6–§9: 16-bit data, alpha
// dropout, the fused op and regions. Each runs what the backend's
// Capabilities claim, and where they claim nothing checks that the backend
// refuses the feature with a sentinel error instead of computing something.
// Results are compared bit for bit with the reference backend and, on
// sizes small enough, with the model (model.go), which checks the
// reference itself.

// modelMax is the largest tensor compared with the model.
const modelMax = 5000

// useModel reports whether a call over n elements is compared with the
// model: on the reference backend, which the model checks, up to modelMax
// elements. Every other backend is compared with the reference.
func (s *suite) useModel(n int) bool { return s.b.Name() == "reference" && n <= modelMax }

// halfTypes returns the 16-bit types the backend claims.
func (s *suite) halfTypes() []dropout.DType {
	var ts []dropout.DType
	for _, dt := range []dropout.DType{dropout.Float16, dropout.BFloat16} {
		if slices.Contains(s.b.Device().Caps.DTypes, dt) {
			ts = append(ts, dt)
		}
	}
	return ts
}

// allTypes returns the suite's types and the 16-bit types the backend claims.
func (s *suite) allTypes() []dropout.DType {
	ts := slices.Clone(s.cfg.DTypes)
	for _, dt := range s.halfTypes() {
		if !slices.Contains(ts, dt) {
			ts = append(ts, dt)
		}
	}
	return ts
}

// fwdCall is a forward call: Forward, or ForwardFused with bias and residual.
type fwdCall struct {
	x, bias, res dropout.Tensor
	fused        bool
	p            dropout.Params
}

func (c fwdCall) String() string {
	op := "Forward"
	if c.fused {
		op = fmt.Sprintf("ForwardFused(bias %v, residual %v)", c.bias != nil, c.res != nil)
	}
	p := c.p
	return fmt.Sprintf("%s(%v[%d], p=%v, seed=%#x, offset=%#x, mask=%v, shape=%v, noise=%v, alpha=%v, global=%v, start=%v)",
		op, c.x.DType(), c.x.Len(), p.P, p.Seed, p.Offset, p.Mask, p.Shape, p.NoiseShape, p.Alpha, p.Global, p.Start)
}

func (c fwdCall) run(b dropout.Backend, dst, mask dropout.Tensor) error {
	if c.fused {
		return dropout.ForwardFused(b, dst, c.x, c.bias, c.res, mask, c.p)
	}
	return b.Forward(dst, c.x, mask, c.p)
}

// outputs runs c on b into fresh tensors.
func (c fwdCall) outputs(b dropout.Backend) (y, mask dropout.Tensor, err error) {
	n := c.x.Len()
	y, mask = Zeros(c.x.DType(), n), NewMask(c.p.Mask, c.p.MaskLen(n))
	return y, mask, c.run(b, y, mask)
}

// checkFwd runs c on the backend and compares output and mask with the
// reference's and, for small tensors, with the model's. It returns the
// backend's outputs.
func (s *suite) checkFwd(t *testing.T, c fwdCall) (y, mask dropout.Tensor) {
	t.Helper()
	y, mask, err := c.outputs(s.b)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	if s.useModel(c.x.Len()) {
		md := newModel(c.p, c.x.Len())
		wy, wm := md.fused(c.x, c.bias, c.res)
		s.same(t, c, "the contract's definition", y, mask, wy, wm)
	}
	if !s.useModel(c.x.Len()) {
		ry, rm, err := c.outputs(s.ref)
		if err != nil {
			t.Fatalf("reference %v: %v", c, err)
		}
		s.same(t, c, "the reference", y, mask, ry, rm)
	}
	return y, mask
}

func (s *suite) same(t *testing.T, c fwdCall, what string, y, mask, wy, wm dropout.Tensor) {
	t.Helper()
	if err := Equal(y, wy); err != nil {
		t.Fatalf("%v on %s differs from %s: %v", c, s.b.Name(), what, err)
	}
	if mask != nil {
		if err := Equal(mask, wm); err != nil {
			t.Fatalf("%v on %s: the mask differs from %s: %v", c, s.b.Name(), what, err)
		}
	}
}

// checkBwd checks Backward of the call c made: from the mask the backend
// stored and regenerated, against the model (small tensors) and the
// reference; both ways must agree.
func (s *suite) checkBwd(t *testing.T, c fwdCall, dy, mask dropout.Tensor) {
	t.Helper()
	n := dy.Len()
	var md *model
	if s.useModel(n) {
		md = newModel(c.p, n)
	}
	regen := c.p
	regen.Mask = dropout.MaskNone
	for _, v := range []struct {
		p    dropout.Params
		mask dropout.Tensor
	}{{regen, nil}, {c.p, mask}} {
		if v.p.Mask != dropout.MaskNone && v.mask == nil {
			continue
		}
		got := Zeros(dy.DType(), n)
		if err := s.b.Backward(got, dy, v.mask, v.p); err != nil {
			t.Fatalf("Backward of %v (mask %v): %v", c, v.p.Mask, err)
		}
		if md != nil {
			if err := Equal(got, md.backward(dy, v.mask, v.p.Mask)); err != nil {
				t.Fatalf("Backward of %v (mask %v) differs from the contract's definition: %v", c, v.p.Mask, err)
			}
		}
		if md == nil {
			want := Zeros(dy.DType(), n)
			if err := s.ref.Backward(want, dy, v.mask, v.p); err != nil {
				t.Fatalf("reference Backward of %v: %v", c, err)
			}
			if err := Equal(got, want); err != nil {
				t.Fatalf("Backward of %v (mask %v) differs from the reference: %v", c, v.p.Mask, err)
			}
		}
	}
}

// refuses checks that a backend that does not claim a feature refuses a
// call using it with an error wrapping one of want.
func refuses(t *testing.T, what string, err error, want ...error) {
	t.Helper()
	for _, w := range want {
		if errors.Is(err, w) {
			return
		}
	}
	t.Errorf("the backend does not claim %s, but a call using it gave %v, want one of %v", what, err, want)
}

// Sizes16 are the 16-bit sizes: across vector widths (8, 16 and 32 lanes),
// mask bytes and words, and, with 4 KiB chunks (2048 elements), chunks.
var Sizes16 = []int{0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 129, 1023, 2047, 2049, 4099}

// half checks float16 and bfloat16 data (CONTRACT.md §6).
func (s *suite) half(t *testing.T) {
	types := s.halfTypes()
	if len(types) == 0 {
		x := make(dropout.Float16s, 8)
		refuses(t, "float16", s.b.Forward(x, x, nil, dropout.Params{P: 0.5}), dropout.ErrDType, dropout.ErrUnsupported)
		y := make(dropout.BFloat16s, 8)
		refuses(t, "bfloat16", s.b.Backward(y, y, nil, dropout.Params{P: 0.5}), dropout.ErrDType, dropout.ErrUnsupported)
		t.Skip("the backend claims no 16-bit type")
	}
	for _, dt := range types {
		t.Run(dt.String(), func(t *testing.T) {
			for _, n := range Sizes16 {
				x := Data(dt, n, uint64(n)+16)
				ps, offs := []float64{0, 1.0 / 3, 0.9, 1}, []uint64{6, math.MaxUint64 - 4}
				if n > 129 {
					ps, offs = []float64{1.0 / 3}, []uint64{math.MaxUint64 - 1000}
				}
				for _, p := range ps {
					for _, off := range offs {
						for _, f := range Formats {
							c := fwdCall{x: x, p: dropout.Params{P: p, Seed: Seeds[1], Offset: off, Mask: f}}
							_, m := s.checkFwd(t, c)
							if p != 1.0/3 && p != 1 {
								continue
							}
							s.checkBwd(t, c, Data(dt, n, uint64(n)+99), m)
						}
					}
				}
			}
			x := Data(dt, s.cfg.Large, 16)
			for _, f := range Formats {
				c := fwdCall{x: x, p: dropout.Params{P: 0.1, Seed: Seeds[2], Offset: 1<<32 + 3, Mask: f}}
				_, m := s.checkFwd(t, c)
				if f == dropout.MaskBits {
					s.checkBwd(t, c, x, m)
				}
			}
			s.halfSpecial(t, dt)
			s.shapes(t, dt, false)
			s.halfBuffers(t, dt)
		})
	}
}

// halfSpecial checks the 16-bit rules on special values directly: p = 0
// copies every bit (NaN payloads too), p = 1 gives +0 bits, a kept NaN is a
// NaN, ties round to even, and a kept value is round16(float32(x)·s).
func (s *suite) halfSpecial(t *testing.T, dt dropout.DType) {
	f := format16Of(dt)
	var h []uint16
	for e := uint16(0); e < 1<<(15-f.mbits); e++ { // every exponent, both signs
		for _, m := range []uint16{0, 1, 2, 3, f.manMask() >> 1, f.manMask() - 1, f.manMask()} {
			h = append(h, e<<f.mbits|m, 0x8000|e<<f.mbits|m)
		}
	}
	x := Zeros(dt, len(h))
	copy(bitsOf(x), h)
	for _, p := range []float64{0, 1.0 / 3, 0.5, 0.75, 1} {
		pr := dropout.Params{P: p, Seed: 7, Offset: 1<<32 - 1, Mask: dropout.MaskBytes}
		y, mask := Zeros(dt, len(h)), make(dropout.Bytes, len(h))
		if err := s.b.Forward(y, x, mask, pr); err != nil {
			t.Fatal(err)
		}
		sc := dropout.Scale32(p)
		for i, xi := range h {
			yi := bitsOf(y)[i]
			keep := mask[i] == 1
			if keep != dropout.Keep(pr.Seed, pr.Offset, uint64(i), p) {
				t.Fatalf("%v p=%v: element %d kept=%v, the stream says %v", dt, p, i, keep, !keep)
			}
			var want uint16
			switch {
			case p == 0:
				want = xi
			case keep:
				want = f.round(f.widen(xi) * sc)
			}
			if yi != want && !(p != 0 && f.isNaN(xi) && keep && f.isNaN(yi)) {
				t.Fatalf("%v p=%v: x=%#04x (kept %v) gave %#04x, want %#04x", dt, p, xi, keep, yi, want)
			}
			if keep && f.isNaN(xi) && !f.isNaN(yi) {
				t.Fatalf("%v p=%v: a kept NaN %#04x gave %#04x", dt, p, xi, yi)
			}
		}
	}
}

// bits16 is the bit view of a 16-bit tensor.
type bits16 []uint16

func bitsOf(t dropout.Tensor) bits16 {
	switch t := t.(type) {
	case dropout.Float16s:
		return bits16(t)
	case dropout.BFloat16s:
		return bits16(t)
	}
	panic("dropouttest: bits of " + t.DType().String())
}

// shapes runs noise shapes (alpha dropout: feature alpha dropout), forward
// and backward both ways.
func (s *suite) shapes(t *testing.T, dt dropout.DType, alpha bool) {
	for _, tc := range []struct{ shape, noise []int }{
		{[]int{4, 3, 5}, []int{4, 3, 1}},
		{[]int{2, 3, 4, 5}, []int{2, 3, 1, 1}},
		{[]int{8, 130}, []int{8, 1}},
		{[]int{5, 1, 9}, []int{1, 1, 9}},
		{[]int{3, 0, 4}, []int{3, 1, 4}},
		{[]int{33, 67}, []int{1, 67}},
	} {
		n := prod(tc.shape)
		x := Data(dt, n, uint64(n))
		for _, f := range Formats {
			for _, p := range []float64{0.3, 1} {
				c := fwdCall{x: x, p: dropout.Params{P: p, Seed: 3, Offset: 1<<32 + 1, Mask: f, Shape: tc.shape, NoiseShape: tc.noise, Alpha: alpha}}
				_, m := s.checkFwd(t, c)
				s.checkBwd(t, c, Data(dt, n, 5), m)
			}
		}
	}
}

// halfBuffers runs 16-bit data on the backend's own buffers.
func (s *suite) halfBuffers(t *testing.T, dt dropout.DType) {
	n := 4099
	x := Data(dt, n, 8)
	p := dropout.Params{P: 0.25, Seed: 1, Offset: 1<<33 + 2, Mask: dropout.MaskBits}
	want, wm, err := fwdCall{x: x, p: p}.outputs(s.ref)
	if err != nil {
		t.Fatal(err)
	}
	xb, yb, mb := s.alloc(t, dt, n), s.alloc(t, dt, n), s.alloc(t, dropout.Uint8, p.Mask.Bytes(n))
	defer xb.Release()
	defer yb.Release()
	defer mb.Release()
	if err := xb.Write(x); err != nil {
		t.Fatal(err)
	}
	if err := s.b.Forward(yb, xb, mb, p); err != nil {
		t.Fatalf("Forward on %v buffers: %v", dt, err)
	}
	got, gm := Zeros(dt, n), make(dropout.Bytes, mb.Len())
	if err := yb.Read(got); err != nil {
		t.Fatal(err)
	}
	if err := mb.Read(gm); err != nil {
		t.Fatal(err)
	}
	if err := Equal(got, want); err != nil {
		t.Fatalf("Forward on %v buffers differs from the reference: %v", dt, err)
	}
	if err := Equal(gm, wm); err != nil {
		t.Fatalf("the mask of Forward on %v buffers differs from the reference: %v", dt, err)
	}
	if err := s.b.Backward(yb, xb, mb, p); err != nil {
		t.Fatalf("Backward on %v buffers: %v", dt, err)
	}
	if err := yb.Read(got); err != nil {
		t.Fatal(err)
	}
	if err := Equal(got, newModel(p, n).backward(x, wm, p.Mask)); err != nil {
		t.Fatalf("Backward on %v buffers differs from the contract's definition: %v", dt, err)
	}
}

// alpha checks alpha dropout (CONTRACT.md §7) on every type the backend
// takes.
func (s *suite) alpha(t *testing.T) {
	if !s.b.Device().Caps.Alpha {
		x := make(dropout.Float32s, 8)
		refuses(t, "alpha dropout", s.b.Forward(x, x, nil, dropout.Params{P: 0.5, Alpha: true}), dropout.ErrUnsupported)
		refuses(t, "alpha dropout", s.b.Backward(x, x, nil, dropout.Params{P: 0.5, Alpha: true}), dropout.ErrUnsupported)
		t.Skip("the backend does not claim alpha dropout")
	}
	for _, dt := range s.allTypes() {
		t.Run(dt.String(), func(t *testing.T) {
			for _, n := range []int{0, 1, 5, 17, 33, 2049} {
				x := Data(dt, n, uint64(n)+7)
				for _, p := range []float64{0, 0.05, 0.5, 1} {
					for _, off := range []uint64{3, math.MaxUint64 - 6} {
						for _, f := range Formats {
							c := fwdCall{x: x, p: dropout.Params{P: p, Seed: Seeds[1], Offset: off, Mask: f, Alpha: true}}
							_, m := s.checkFwd(t, c)
							if off == 3 {
								s.checkBwd(t, c, Data(dt, n, 3), m)
							}
						}
					}
				}
			}
			x := Data(dt, s.cfg.Large, 9)
			c := fwdCall{x: x, p: dropout.Params{P: 0.2, Seed: 5, Offset: 1<<32 - 7, Mask: dropout.MaskBytes, Alpha: true}}
			_, m := s.checkFwd(t, c)
			s.checkBwd(t, c, x, m)
			s.shapes(t, dt, true)
			s.alphaCoefficients(t, dt)
		})
	}
}

// alphaCoefficients reads the coefficients off the backend's output: x = 0
// gives B where kept and D where dropped, x = 1 gives float(A)+B, dy = 1
// gives A, each rounded once to the compute type (then to the data type).
func (s *suite) alphaCoefficients(t *testing.T, dt dropout.DType) {
	a := arithOf(dt)
	const n = 64
	zero, one := Zeros(dt, n), Zeros(dt, n)
	for i := range n {
		set(one, i, 1)
	}
	for _, p := range []float64{0.05, 0.1, 0.5, 0.9} {
		_, A, B, D := coefficients(a, p)
		pr := dropout.Params{P: p, Seed: 2, Offset: 40, Mask: dropout.MaskBytes, Alpha: true}
		for _, v := range []struct {
			x            dropout.Tensor
			kept, droppd float64
		}{{zero, a.out(B), a.out(D)}, {one, a.out(a.rnd(A) + B), a.out(D)}} {
			y, mask := Zeros(dt, n), make(dropout.Bytes, n)
			if err := s.b.Forward(y, v.x, mask, pr); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				want := v.droppd
				if mask[i] == 1 {
					want = v.kept
				}
				if got := get(y, i); got != want {
					t.Fatalf("%v alpha p=%v: x=%v (kept %v) gave %v, want %v", dt, p, get(v.x, i), mask[i], got, want)
				}
			}
		}
		dx, regen := Zeros(dt, n), pr
		regen.Mask = dropout.MaskNone
		if err := s.b.Backward(dx, one, nil, regen); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			want := 0.0
			if dropout.Keep(pr.Seed, pr.Offset, uint64(i), p) {
				want = a.out(A)
			}
			if got := get(dx, i); got != want {
				t.Fatalf("%v alpha backward p=%v: dy=1 gave %v, want %v", dt, p, got, want)
			}
		}
	}
	if A, B, D := dropout.AlphaCoefficients(0.5); math.Abs(A-0.8864048946659319) > 1e-15 || math.Abs(B-0.7791939305180315) > 1e-15 || B != -D {
		t.Errorf("AlphaCoefficients(0.5) = %v, %v, %v", A, B, D)
	}
}

// fused checks the fused bias + dropout + residual op (CONTRACT.md §8).
func (s *suite) fused(t *testing.T) {
	if !s.b.Device().Caps.Fused {
		x := make(dropout.Float32s, 8)
		refuses(t, "the fused op", dropout.ForwardFused(s.b, x, x, nil, x, nil, dropout.Params{P: 0.5}), dropout.ErrUnsupported)
		t.Skip("the backend does not claim the fused op")
	}
	if _, ok := s.b.(dropout.Fuser); !ok {
		t.Fatalf("%s claims the fused op but does not implement dropout.Fuser", s.b.Name())
	}
	for _, dt := range s.allTypes() {
		t.Run(dt.String(), func(t *testing.T) {
			for _, tc := range []struct{ shape, noise []int }{
				{[]int{5}, nil}, {[]int{17, 33}, nil}, {[]int{2, 1029}, nil},
				{[]int{4, 3, 5}, []int{4, 3, 1}}, {[]int{0, 4}, nil},
			} {
				n := prod(tc.shape)
				x := Data(dt, n, uint64(n))
				bias, res := Data(dt, tc.shape[len(tc.shape)-1], 3), Data(dt, n, 4)
				for _, p := range []float64{0, 0.2, 1} {
					for _, f := range Formats {
						pr := dropout.Params{P: p, Seed: Seeds[2], Offset: 1<<32 - 9, Mask: f, Shape: tc.shape, NoiseShape: tc.noise}
						for _, br := range [][2]dropout.Tensor{{bias, res}, {bias, nil}, {nil, res}, {nil, nil}} {
							c := fwdCall{x: x, bias: br[0], res: br[1], fused: true, p: pr}
							y, m := s.checkFwd(t, c)
							if br[0] == nil && br[1] == nil {
								// neither: exactly Forward
								fy, fm, err := fwdCall{x: x, p: pr}.outputs(s.b)
								if err != nil {
									t.Fatal(err)
								}
								s.same(t, c, "Forward", y, m, fy, fm)
							}
							if p == 0.2 && br[0] != nil && br[1] != nil {
								// backward is plain backward, from the fused call's mask
								s.checkBwd(t, c, Data(dt, n, 6), m)
							}
						}
						if p == 0.2 {
							s.fusedAliased(t, x, bias, res, pr)
						}
					}
				}
			}
			x := Data(dt, s.cfg.Large, 1)
			c := fwdCall{x: x, bias: Data(dt, s.cfg.Large, 2), res: Data(dt, s.cfg.Large, 3), fused: true,
				p: dropout.Params{P: 0.3, Seed: 4, Offset: 1<<32 - 1, Mask: dropout.MaskBits}}
			s.checkFwd(t, c)
		})
	}
	s.fusedErrors(t)
}

// fusedAliased runs the fused op with dst aliasing x, then residual.
func (s *suite) fusedAliased(t *testing.T, x, bias, res dropout.Tensor, p dropout.Params) {
	want, wm, err := fwdCall{x: x, bias: bias, res: res, fused: true, p: p}.outputs(s.ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, alias := range []string{"x", "residual"} {
		dx, dr := clone(x), clone(res)
		dst := dx
		if alias == "residual" {
			dst = dr
		}
		m := NewMask(p.Mask, p.MaskLen(x.Len()))
		if err := dropout.ForwardFused(s.b, dst, dx, bias, dr, m, p); err != nil {
			t.Fatalf("ForwardFused with dst = %s: %v", alias, err)
		}
		if err := Equal(dst, want); err != nil {
			t.Fatalf("ForwardFused(%v[%d], p=%v, mask %v) with dst = %s differs from the reference: %v", x.DType(), x.Len(), p.P, p.Mask, alias, err)
		}
		if m != nil {
			if err := Equal(m, wm); err != nil {
				t.Fatalf("ForwardFused with dst = %s: the mask differs from the reference: %v", alias, err)
			}
		}
	}
}

func (s *suite) fusedErrors(t *testing.T) {
	x, y := make(dropout.Float32s, 12), make(dropout.Float32s, 12)
	shape := dropout.Params{P: 0.5, Shape: []int{3, 4}}
	for _, tc := range []struct {
		name            string
		dst, x, b, r, m dropout.Tensor
		p               dropout.Params
		want            error
	}{
		{"bias of the wrong length", y, x, make(dropout.Float32s, 3), nil, nil, shape, dropout.ErrLength},
		{"bias of the whole length", y, x, make(dropout.Float32s, 12), nil, nil, shape, dropout.ErrLength},
		{"residual of the wrong length", y, x, nil, make(dropout.Float32s, 11), nil, shape, dropout.ErrLength},
		{"float64 bias", y, x, make(dropout.Float64s, 4), nil, nil, shape, dropout.ErrDType},
		{"float64 residual", y, x, nil, make(dropout.Float64s, 12), nil, shape, dropout.ErrDType},
		{"float64 dst", make(dropout.Float64s, 12), x, nil, nil, nil, shape, dropout.ErrDType},
		{"alpha dropout", y, x, make(dropout.Float32s, 4), nil, nil, dropout.Params{P: 0.5, Shape: []int{3, 4}, Alpha: true}, dropout.ErrUnsupported},
		{"bad p", y, x, nil, nil, nil, dropout.Params{P: 2}, dropout.ErrP},
		{"short mask", y, x, nil, nil, make(dropout.Bytes, 1), dropout.Params{P: 0.5, Mask: dropout.MaskBits}, dropout.ErrLength},
	} {
		if err := dropout.ForwardFused(s.b, tc.dst, tc.x, tc.b, tc.r, tc.m, tc.p); !errors.Is(err, tc.want) {
			t.Errorf("ForwardFused with %s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}
