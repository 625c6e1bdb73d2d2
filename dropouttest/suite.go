package dropouttest

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
)

// Config tunes Run.
type Config struct {
	// DTypes are the data types to test; nil means float32 and float64.
	// The subtests of the 16-bit types, alpha dropout, the fused op and
	// regions run, besides these, every 16-bit type the backend's
	// Capabilities claim.
	DTypes []dropout.DType
	// Large is the size of the large case; 0 means 1<<20 + 3.
	Large int
	// SkipClose leaves out the checks that close a backend (for backends
	// whose open is expensive); the suite still closes what it opens.
	SkipClose bool
	// CoreOnly runs the float32/float64 core of the suite and leaves out
	// the subtests of 16-bit data, alpha dropout, the fused op and regions:
	// for a backend's extra configurations (small chunks, other thread
	// counts, another kernel set) when its primary configuration runs the
	// whole suite and the backend's own tests cover those operations on
	// the extra paths (as cpu's TestOpsVsReference and the GPU backends'
	// TestOps do), so that the suite's run time stays within make test's.
	CoreOnly bool
	// Wrap, if set, makes a buffer the way a GPU pipeline hands one over:
	// device memory for off+n elements of dt made outside the backend
	// (go-opencl's cl_mem, vulkan-go's VkBuffer), wrapped by the backend's
	// interop API from element off. free releases the outside memory; the
	// suite calls it after releasing the buffer. With Wrap, Run runs its
	// view cases on views of wrapped buffers and on wrapped buffers.
	Wrap func(dt dropout.DType, n, off int) (b dropout.Buffer, free func(), err error)
}

// The grid of the suite. The sizes straddle Philox blocks (4 words), bit
// mask bytes (8) and words (32); the offsets cross 2^32 and are not
// multiples of 4; the seeds use both key words.
var (
	Sizes   = []int{0, 1, 3, 4, 5, 33, 1023}
	Ps      = []float64{0, 1e-9, 0.1, 0.5, 0.9, 1 - 1e-7, 1}
	Seeds   = []uint64{0, 0x9e3779b97f4a7c15, 1<<32 + 7}
	Offsets = []uint64{0, 1, 6, 1<<32 - 3, 1<<40 + 5}
	Formats = []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes}
)

// Run runs the conformance suite against the backends open returns. It
// opens one backend for most checks and more for the Close checks.
func Run(t *testing.T, open func() (dropout.Backend, error), cfg Config) {
	b, err := open()
	Require(t, "backend", err)
	defer b.Close()
	if cfg.DTypes == nil {
		cfg.DTypes = []dropout.DType{dropout.Float32, dropout.Float64}
	}
	if cfg.Large == 0 {
		cfg.Large = 1<<20 + 3
	}
	if raceEnabled && cfg.Large > 1<<16 {
		// Under the race detector the large case is a sixteenth (still
		// tens of thousands of elements, across every chunk and launch
		// limit the configurations set); without it, the full size.
		cfg.Large = cfg.Large/16 | 3
	}
	s := &suite{b: b, ref: cpu.NewReference(), cfg: cfg}
	t.Run("Forward", s.forward)
	t.Run("ForwardLarge", s.forwardLarge)
	t.Run("Backward", s.backward)
	t.Run("SpecialValues", s.special)
	t.Run("Split", s.split)
	t.Run("NoiseShape", s.noise)
	t.Run("InPlace", s.inPlace)
	t.Run("Buffers", s.buffers)
	t.Run("Copy", s.copy)
	t.Run("Errors", s.errors)
	t.Run("Wrap", s.wrap)
	t.Run("StoredMasks", s.storedMasks)
	t.Run("Released", s.released)
	t.Run("AllocLimits", s.allocLimits)
	if !cfg.CoreOnly {
		t.Run("Half", s.half)
		t.Run("Alpha", s.alpha)
		t.Run("Fused", s.fused)
		t.Run("Regions", s.regions)
	}
	// After the operations: their kernels are built by now (a GPU
	// backend's pipelines), so that these measure what views cost.
	t.Run("Slice", s.sliceAPI)
	t.Run("Views", s.views)
	if cfg.Wrap != nil {
		t.Run("Wrapped", s.wrapped)
	}
	t.Run("Concurrent", func(t *testing.T) { s.concurrent(t, open) })
	if !cfg.SkipClose {
		t.Run("Close", func(t *testing.T) { testClose(t, open) })
	}
}

type suite struct {
	b, ref dropout.Backend
	cfg    Config
}

// Data returns n reproducible values of dt: mostly normal numbers with
// some zeros, negative zeros, subnormals, infinities and NaNs mixed in
// (for 16-bit types, NaNs with random payloads and values near the largest
// finite one too).
func Data(dt dropout.DType, n int, seed uint64) dropout.Tensor {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	vals := make([]float64, n)
	for i := range vals {
		switch r.IntN(64) {
		case 0:
			vals[i] = math.NaN()
		case 1:
			vals[i] = math.Inf(1)
		case 2:
			vals[i] = math.Inf(-1)
		case 3:
			vals[i] = math.Copysign(0, -1)
		case 4:
			vals[i] = 0
		case 5:
			vals[i] = 1e-40 * r.NormFloat64() // subnormal in float32
		default:
			vals[i] = r.NormFloat64() * math.Exp(4*r.NormFloat64())
		}
	}
	switch dt {
	case dropout.Float32:
		x := make(dropout.Float32s, n)
		for i, v := range vals {
			x[i] = float32(v)
		}
		return x
	case dropout.Float64:
		return dropout.Float64s(vals)
	case dropout.Float16:
		return dropout.Float16s(halfData(dt, vals, r.IntN))
	case dropout.BFloat16:
		return dropout.BFloat16s(halfData(dt, vals, r.IntN))
	}
	panic("dropouttest: Data of " + dt.String())
}

// check compares b.Forward with the reference over x under p.
func (s *suite) check(t *testing.T, x dropout.Tensor, p dropout.Params) {
	t.Helper()
	if err := CompareForward(s.b, x, p); err != nil {
		t.Fatal(err)
	}
}

func (s *suite) forward(t *testing.T) {
	for _, dt := range s.cfg.DTypes {
		for _, n := range Sizes {
			x := Data(dt, n, uint64(n))
			for _, p := range Ps {
				for _, seed := range Seeds {
					for _, off := range Offsets {
						for _, f := range Formats {
							s.check(t, x, dropout.Params{P: p, Seed: seed, Offset: off, Mask: f})
						}
					}
				}
			}
		}
	}
}

func (s *suite) forwardLarge(t *testing.T) {
	n := s.cfg.Large
	for _, dt := range s.cfg.DTypes {
		x := Data(dt, n, 7)
		for _, p := range Ps {
			for _, f := range Formats {
				s.check(t, x, dropout.Params{P: p, Seed: Seeds[1], Offset: 1<<32 + 3, Mask: f})
			}
		}
	}
}

func (s *suite) backward(t *testing.T) {
	for _, dt := range s.cfg.DTypes {
		for _, n := range []int{0, 1, 5, 1023, s.cfg.Large} {
			dy := Data(dt, n, 99)
			ps, offs := []float64{0, 0.1, 0.5, 1 - 1e-7, 1}, []uint64{3, 1<<32 - 1}
			if n == s.cfg.Large {
				ps, offs = []float64{0.5}, []uint64{1<<32 - 1}
			}
			for _, p := range ps {
				for _, off := range offs {
					base := dropout.Params{P: p, Seed: Seeds[2], Offset: off}
					want := Zeros(dt, n)
					if err := s.ref.Backward(want, dy, nil, base); err != nil {
						t.Fatal(err)
					}
					got := Zeros(dt, n)
					if err := s.b.Backward(got, dy, nil, base); err != nil {
						t.Fatalf("Backward(n=%d, regenerated): %v", n, err)
					}
					if err := Equal(got, want); err != nil {
						t.Fatalf("Backward(n=%d, p=%v, offset=%#x, regenerated) differs from the reference: %v", n, p, off, err)
					}
					for _, f := range []dropout.MaskFormat{dropout.MaskBits, dropout.MaskBytes} {
						p := base
						p.Mask = f
						mask := NewMask(f, n)
						if err := s.ref.Forward(Zeros(dt, n), Data(dt, n, 1), mask, p); err != nil {
							t.Fatal(err)
						}
						want := Zeros(dt, n)
						if err := s.ref.Backward(want, dy, mask, p); err != nil {
							t.Fatal(err)
						}
						got := Zeros(dt, n)
						if err := s.b.Backward(got, dy, mask, p); err != nil {
							t.Fatalf("Backward(n=%d, %v mask): %v", n, f, err)
						}
						if err := Equal(got, want); err != nil {
							t.Fatalf("Backward(n=%d, p=%v, %v mask) differs from the reference: %v", n, p.P, f, err)
						}
						// A stored mask and regeneration agree.
						regen := Zeros(dt, n)
						if err := s.b.Backward(regen, dy, nil, base); err != nil {
							t.Fatal(err)
						}
						if err := Equal(got, regen); err != nil {
							t.Fatalf("Backward(n=%d, p=%v): %v mask and regeneration differ: %v", n, p.P, f, err)
						}
					}
				}
			}
		}
	}
}

// special checks the select semantics on special values directly, not
// only through the reference.
func (s *suite) special(t *testing.T) {
	x := dropout.Float32s{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.Copysign(0, -1)), 0, math.SmallestNonzeroFloat32, math.MaxFloat32, -1.5, 3}
	for len(x) < 64 {
		x = append(x, x[:9]...)
	}
	x = x[:64]
	for _, p := range []float64{0, 0.5, 1} {
		pr := dropout.Params{P: p, Seed: 5, Offset: 2, Mask: dropout.MaskBytes}
		y := make(dropout.Float32s, len(x))
		mask := make(dropout.Bytes, len(x))
		if err := s.b.Forward(y, x, mask, pr); err != nil {
			t.Fatal(err)
		}
		for i := range x {
			keep := mask[i] == 1
			if mask[i] > 1 {
				t.Fatalf("p=%v: mask byte %d is %d, want 0 or 1", p, i, mask[i])
			}
			if keep != dropout.Keep(5, 2, uint64(i), p) {
				t.Fatalf("p=%v: element %d kept=%v, the stream says %v", p, i, keep, !keep)
			}
			switch {
			case p == 0 && math.Float32bits(y[i]) != math.Float32bits(x[i]):
				t.Fatalf("p=0: y[%d] = %#x, want a bit copy of %#x", i, math.Float32bits(y[i]), math.Float32bits(x[i]))
			case !keep && math.Float32bits(y[i]) != 0:
				t.Fatalf("p=%v: dropped y[%d] = %v (%#x), want +0", p, i, y[i], math.Float32bits(y[i]))
			case keep && p > 0 && math.Float32bits(y[i]) != math.Float32bits(x[i]*dropout.Scale32(p)) && !math.IsNaN(float64(x[i])):
				t.Fatalf("p=%v: kept y[%d] = %v, want %v", p, i, y[i], x[i]*dropout.Scale32(p))
			}
		}
	}
}

// split checks that one call equals calls over pieces at the right offsets,
// for cut points that are not multiples of 4 (nor of 8, for bit masks).
func (s *suite) split(t *testing.T) {
	for _, n := range []int{1023, s.cfg.Large} {
		for _, dt := range s.cfg.DTypes {
			x := Data(dt, n, 3)
			for _, f := range Formats {
				p := dropout.Params{P: 0.3, Seed: 77, Offset: 1<<32 - 5, Mask: f}
				whole := Zeros(dt, n)
				wm := NewMask(f, n)
				if err := s.b.Forward(whole, x, wm, p); err != nil {
					t.Fatal(err)
				}
				cuts := []int{0, 1, 6, 135, n / 3, n/2 + 1, n}
				for i := 0; i+1 < len(cuts); i++ {
					lo, hi := cuts[i], cuts[i+1]
					xs, ws := slice(x, lo, hi), slice(whole, lo, hi)
					piece := Zeros(dt, hi-lo)
					pm := NewMask(f, hi-lo)
					q := p
					q.Offset += uint64(lo)
					if err := s.b.Forward(piece, xs, pm, q); err != nil {
						t.Fatal(err)
					}
					if err := Equal(piece, ws); err != nil {
						t.Fatalf("n=%d, %v, mask %v: the piece [%d, %d) differs from the whole call: %v", n, dt, f, lo, hi, err)
					}
					for j := lo; j < hi; j++ {
						if bit(wm, f, j) != bit(pm, f, j-lo) {
							t.Fatalf("n=%d, mask %v: piece [%d, %d) mask element %d differs from the whole call", n, f, lo, hi, j)
						}
					}
				}
			}
		}
	}
}

func bit(m dropout.Tensor, f dropout.MaskFormat, j int) byte {
	switch f {
	case dropout.MaskBits:
		return m.(dropout.Bytes)[j/8] >> (j % 8) & 1
	case dropout.MaskBytes:
		return m.(dropout.Bytes)[j]
	}
	return 0
}

func slice(t dropout.Tensor, lo, hi int) dropout.Tensor {
	switch t := t.(type) {
	case dropout.Float32s:
		return t[lo:hi]
	case dropout.Float64s:
		return t[lo:hi]
	case dropout.Float16s:
		return t[lo:hi]
	case dropout.BFloat16s:
		return t[lo:hi]
	case dropout.Bytes:
		return t[lo:hi]
	}
	panic("dropouttest: slice")
}

func (s *suite) noise(t *testing.T) {
	for _, tc := range []struct {
		shape, noise []int
	}{
		{[]int{4, 3, 5}, []int{4, 3, 1}},       // Dropout1d over (N, C, L)
		{[]int{2, 3, 4, 5}, []int{2, 3, 1, 1}}, // Dropout2d
		{[]int{2, 3, 2, 3, 4}, []int{2, 3, 1, 1, 1}},
		{[]int{6, 7}, []int{1, 7}},
		{[]int{5, 1, 9}, []int{1, 1, 9}},
		{[]int{3, 5, 7}, []int{3, 1, 7}},
		{[]int{8, 130}, []int{8, 1}}, // drop-path: one decision per sample
		{[]int{37}, []int{1}},
		{[]int{3, 4}, []int{3, 4}},
		{[]int{0, 4}, []int{0, 1}},
		{[]int{3, 0, 4}, []int{3, 1, 4}}, // empty tensor, 12 mask elements
		{[]int{0, 5}, []int{1, 5}},
		{[]int{2, 0, 3}, []int{1, 0, 1}},
		{[]int{4, 0}, []int{4, 1}},
		{[]int{64, 33, 17}, []int{64, 33, 1}},
	} {
		n := 1
		for _, d := range tc.shape {
			n *= d
		}
		for _, dt := range s.cfg.DTypes {
			x := Data(dt, n, 11)
			for _, f := range Formats {
				for _, p := range []float64{0, 0.5, 1} {
					pr := dropout.Params{P: p, Seed: 3, Offset: 1<<32 + 1, Mask: f, Shape: tc.shape, NoiseShape: tc.noise}
					s.check(t, x, pr)
					// backward from the mask and by regeneration
					mask := NewMask(f, pr.MaskLen(n))
					if err := s.ref.Forward(Zeros(dt, n), x, mask, pr); err != nil {
						t.Fatal(err)
					}
					want, got := Zeros(dt, n), Zeros(dt, n)
					if err := s.ref.Backward(want, x, mask, pr); err != nil {
						t.Fatal(err)
					}
					if err := s.b.Backward(got, x, mask, pr); err != nil {
						t.Fatalf("Backward(shape %v, noise %v, %v): %v", tc.shape, tc.noise, f, err)
					}
					if err := Equal(got, want); err != nil {
						t.Fatalf("Backward(shape %v, noise %v, %v, p=%v) differs from the reference: %v", tc.shape, tc.noise, f, p, err)
					}
				}
			}
		}
	}
}

func (s *suite) inPlace(t *testing.T) {
	for _, dt := range s.cfg.DTypes {
		n := 1029
		x := Data(dt, n, 21)
		p := dropout.Params{P: 0.4, Seed: 9, Offset: 5}
		want := Zeros(dt, n)
		if err := s.ref.Forward(want, x, nil, p); err != nil {
			t.Fatal(err)
		}
		if err := s.b.Forward(x, x, nil, p); err != nil {
			t.Fatal(err)
		}
		if err := Equal(x, want); err != nil {
			t.Fatalf("in-place Forward differs: %v", err)
		}
	}
}

// buffers runs forward and backward on the backend's own buffers.
func (s *suite) buffers(t *testing.T) {
	for _, dt := range s.cfg.DTypes {
		for _, n := range []int{1, 1023, s.cfg.Large} {
			x := Data(dt, n, 31)
			for _, f := range Formats {
				p := dropout.Params{P: 0.25, Seed: 1, Offset: 1<<33 + 2, Mask: f}
				m := NewMask(f, n)
				want := Zeros(dt, n)
				if err := s.ref.Forward(want, x, m, p); err != nil {
					t.Fatal(err)
				}
				xb := s.alloc(t, dt, n)
				yb := s.alloc(t, dt, n)
				var mb dropout.Buffer
				var mt dropout.Tensor
				if f != dropout.MaskNone {
					mb = s.alloc(t, dropout.Uint8, f.Bytes(n))
					mt = mb
				}
				if err := xb.Write(x); err != nil {
					t.Fatalf("Write: %v", err)
				}
				if err := s.b.Forward(yb, xb, mt, p); err != nil {
					t.Fatalf("Forward on buffers: %v", err)
				}
				got := Zeros(dt, n)
				if err := yb.Read(got); err != nil {
					t.Fatalf("Read: %v", err)
				}
				if err := Equal(got, want); err != nil {
					t.Fatalf("Forward on buffers (n=%d, %v) differs from the reference: %v", n, f, err)
				}
				if mb != nil {
					gm := make(dropout.Bytes, mb.Len())
					if err := mb.Read(gm); err != nil {
						t.Fatal(err)
					}
					if err := Equal(gm, m); err != nil {
						t.Fatalf("mask in buffer (n=%d, %v): %v", n, f, err)
					}
				}
				// backward on buffers, in place on yb
				wantdx := Zeros(dt, n)
				if err := s.ref.Backward(wantdx, x, m, p); err != nil {
					t.Fatal(err)
				}
				if err := s.b.Backward(yb, xb, mt, p); err != nil {
					t.Fatalf("Backward on buffers: %v", err)
				}
				if err := yb.Read(got); err != nil {
					t.Fatal(err)
				}
				if err := Equal(got, wantdx); err != nil {
					t.Fatalf("Backward on buffers (n=%d, %v) differs from the reference: %v", n, f, err)
				}
				for _, b := range []dropout.Buffer{xb, yb, mb} {
					if b != nil {
						if err := b.Release(); err != nil {
							t.Fatalf("Release: %v", err)
						}
						if err := b.Release(); err != nil {
							t.Fatalf("second Release: %v", err)
						}
					}
				}
			}
		}
	}
	// A buffer of the wrong length or type is an error.
	xb := s.alloc(t, dropout.Float32, 10)
	defer xb.Release()
	if err := xb.Write(make(dropout.Float32s, 11)); !errors.Is(err, dropout.ErrLength) {
		t.Errorf("Write of 11 elements into 10: got %v, want ErrLength", err)
	}
	if err := xb.Read(make(dropout.Float64s, 10)); !errors.Is(err, dropout.ErrDType) {
		t.Errorf("Read of float32 into float64: got %v, want ErrDType", err)
	}
}

func (s *suite) alloc(t *testing.T, dt dropout.DType, n int) dropout.Buffer {
	t.Helper()
	b, err := s.b.Alloc(dt, n)
	if err != nil {
		t.Fatalf("Alloc(%v, %d): %v", dt, n, err)
	}
	if b.Len() != n || b.DType() != dt {
		t.Fatalf("Alloc(%v, %d) returned %v[%d]", dt, n, b.DType(), b.Len())
	}
	return b
}

func (s *suite) errors(t *testing.T) {
	x := make(dropout.Float32s, 10)
	y := make(dropout.Float32s, 10)
	for _, tc := range []struct {
		name       string
		dst, src   dropout.Tensor
		mask       dropout.Tensor
		p          dropout.Params
		want       error
		onBackward bool
	}{
		{"negative p", y, x, nil, dropout.Params{P: -0.1}, dropout.ErrP, true},
		{"p above 1", y, x, nil, dropout.Params{P: 1.5}, dropout.ErrP, true},
		{"NaN p", y, x, nil, dropout.Params{P: math.NaN()}, dropout.ErrP, true},
		{"infinite p", y, x, nil, dropout.Params{P: math.Inf(1)}, dropout.ErrP, true},
		{"short dst", y[:9], x, nil, dropout.Params{P: 0.5}, dropout.ErrLength, true},
		{"dtype mismatch", make(dropout.Float64s, 10), x, nil, dropout.Params{P: 0.5}, dropout.ErrDType, true},
		{"uint8 data", make(dropout.Bytes, 10), make(dropout.Bytes, 10), nil, dropout.Params{P: 0.5}, dropout.ErrDType, true},
		{"short bits mask", y, x, make(dropout.Bytes, 1), dropout.Params{P: 0.5, Mask: dropout.MaskBits}, dropout.ErrLength, true},
		{"long bytes mask", y, x, make(dropout.Bytes, 11), dropout.Params{P: 0.5, Mask: dropout.MaskBytes}, dropout.ErrLength, true},
		{"missing mask", y, x, nil, dropout.Params{P: 0.5, Mask: dropout.MaskBytes}, dropout.ErrMaskFormat, true},
		{"float mask", y, x, make(dropout.Float32s, 10), dropout.Params{P: 0.5, Mask: dropout.MaskBytes}, dropout.ErrMaskFormat, true},
		{"unknown mask format", y, x, nil, dropout.Params{P: 0.5, Mask: 9}, dropout.ErrMaskFormat, true},
		{"shape mismatch", y, x, nil, dropout.Params{P: 0.5, Shape: []int{3, 3}}, dropout.ErrLength, true},
		{"negative axis", y, x, nil, dropout.Params{P: 0.5, Shape: []int{-2, -5}}, dropout.ErrShape, true},
		{"noise rank", y, x, nil, dropout.Params{P: 0.5, Shape: []int{2, 5}, NoiseShape: []int{2}}, dropout.ErrShape, true},
		{"noise axis", y, x, nil, dropout.Params{P: 0.5, Shape: []int{2, 5}, NoiseShape: []int{2, 3}}, dropout.ErrShape, true},
		{"nil dst", nil, x, nil, dropout.Params{P: 0.5}, dropout.ErrLength, true},
	} {
		err := s.b.Forward(tc.dst, tc.src, tc.mask, tc.p)
		if !errors.Is(err, tc.want) {
			t.Errorf("Forward with %s: got %v, want %v", tc.name, err, tc.want)
		}
		if tc.onBackward {
			err := s.b.Backward(tc.dst, tc.src, tc.mask, tc.p)
			if !errors.Is(err, tc.want) {
				t.Errorf("Backward with %s: got %v, want %v", tc.name, err, tc.want)
			}
		}
	}
}

func testClose(t *testing.T, open func() (dropout.Backend, error)) {
	b, err := open()
	if err != nil {
		t.Fatal(err)
	}
	buf, err := b.Alloc(dropout.Float32, 8)
	if err != nil {
		t.Fatal(err)
	}
	if err := buf.Release(); err != nil {
		t.Fatal(err)
	}
	kept, err := b.Alloc(dropout.Float32, 8)
	if err != nil {
		t.Fatal(err)
	}
	view, err := kept.Slice(3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Views of it too.
	if err := view.Read(make(dropout.Float32s, 4)); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("Read of a view after its backend's Close: got %v, want ErrClosed", err)
	}
	if err := view.Write(make(dropout.Float32s, 4)); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("Write into a view after its backend's Close: got %v, want ErrClosed", err)
	}
	if _, err := kept.Slice(0, 1); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("Slice of a buffer after its backend's Close: got %v, want ErrClosed", err)
	}
	if err := view.Release(); err != nil {
		t.Errorf("Release of a view after its backend's Close: %v", err)
	}
	// A buffer still held when its backend closed is unusable, not a crash.
	if err := kept.Read(make(dropout.Float32s, 8)); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("Read of a buffer after its backend's Close: got %v, want ErrClosed", err)
	}
	if err := kept.Write(make(dropout.Float32s, 8)); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("Write into a buffer after its backend's Close: got %v, want ErrClosed", err)
	}
	if err := kept.Release(); err != nil {
		t.Errorf("Release of a buffer after its backend's Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	x := make(dropout.Float32s, 8)
	if err := b.Forward(x, x, nil, dropout.Params{P: 0.5}); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("Forward after Close: got %v, want ErrClosed", err)
	}
	if _, err := b.Alloc(dropout.Float32, 8); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("Alloc after Close: got %v, want ErrClosed", err)
	}
}

// copy checks Backend.Copy between the backend's buffers, from and to host
// tensors where the backend takes them, and its errors.
func (s *suite) copy(t *testing.T) {
	for _, dt := range s.cfg.DTypes {
		for _, n := range []int{0, 1, 1023, s.cfg.Large} {
			x := Data(dt, n, 41)
			src := s.alloc(t, dt, n)
			dst := s.alloc(t, dt, n)
			if err := src.Write(x); err != nil {
				t.Fatal(err)
			}
			if err := s.b.Copy(dst, src); err != nil {
				t.Fatalf("Copy(%v[%d]): %v", dt, n, err)
			}
			got := Zeros(dt, n)
			if err := dst.Read(got); err != nil {
				t.Fatal(err)
			}
			if err := Equal(got, x); err != nil {
				t.Fatalf("Copy(%v[%d]) differs: %v", dt, n, err)
			}
			src.Release()
			dst.Release()
		}
	}
	a, b := s.alloc(t, dropout.Float32, 8), s.alloc(t, dropout.Float32, 9)
	defer a.Release()
	defer b.Release()
	if err := s.b.Copy(a, b); !errors.Is(err, dropout.ErrLength) {
		t.Errorf("Copy of 9 elements into 8: got %v, want ErrLength", err)
	}
	c := s.alloc(t, dropout.Float64, 8)
	defer c.Release()
	if err := s.b.Copy(a, c); !errors.Is(err, dropout.ErrDType) {
		t.Errorf("Copy of float64 into float32: got %v, want ErrDType", err)
	}
}
