//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"math"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
)

// TestSubnormals checks the shaders' exact product for subnormal inputs,
// which devices may flush to zero, against the reference (checkSubnormals).
func TestSubnormals(t *testing.T) {
	checkSubnormals(t, openTest(t, dropout.Options{}))
}

// checkSubnormals checks b's float32 products against the reference where
// an operand or the result is subnormal: many subnormal inputs and normal
// ones just above 2^-126, over many scales (results subnormal, normal and on
// rounding ties); forward (GEN_NONE), backward from byte masks and alpha
// dropout's backward, plain dropout with a scale A < 1 whose products of
// the smallest normals are subnormal.
func checkSubnormals(t *testing.T, b *Backend) {
	t.Helper()
	ref := cpu.NewReference()
	x := make(dropout.Float32s, 0, 1<<16)
	for m := uint32(1); m < 1<<23; m = m*3 + 1 {
		for _, d := range []uint32{0, 1, 2, 0x7fff} {
			if v := m + d; v < 1<<23 {
				x = append(x, math.Float32frombits(v), math.Float32frombits(v|1<<31))
			}
		}
	}
	for v := uint32(0x7fff00); v < 0x800000; v++ { // the largest subnormals
		x = append(x, math.Float32frombits(v))
	}
	for v := uint32(0x800000); v < 0x1000000; v += 0x1fff { // the smallest normals
		x = append(x, math.Float32frombits(v), math.Float32frombits(v|1<<31))
	}
	// Forward calls (GEN_NONE), then backward ones from a caller's mask
	// that keeps everything: p = 1 (s = 0), where x·0 is a zero of x's
	// sign, subnormal x included, and alpha dropout's (A < 1).
	type call struct {
		pr       dropout.Params
		backward bool
	}
	var calls []call
	for _, p := range []float64{1e-9, 0.1, 1.0 / 3, 0.5, 0.75, 0.9, 1 - 1e-7} {
		calls = append(calls, call{pr: dropout.Params{P: p, Seed: 42}})
	}
	calls = append(calls,
		call{dropout.Params{P: 1, Mask: dropout.MaskBytes}, true},
		call{dropout.Params{P: 0.5, Mask: dropout.MaskBytes, Alpha: true}, true},
		call{dropout.Params{P: 0.1, Mask: dropout.MaskBytes, Alpha: true}, true})
	keep := make(dropout.Bytes, dropout.MaskBytes.Bytes(len(x)))
	for i := range keep {
		keep[i] = 1
	}
	for _, c := range calls {
		refRun, run, mask := ref.Forward, b.Forward, dropout.Tensor(nil)
		if c.backward {
			refRun, run, mask = ref.Backward, b.Backward, keep
		}
		got, want := make(dropout.Float32s, len(x)), make(dropout.Float32s, len(x))
		if err := refRun(want, x, mask, c.pr); err != nil {
			t.Fatal(err)
		}
		if err := run(got, x, mask, c.pr); err != nil {
			t.Fatal(err)
		}
		if err := dropouttest.Equal(got, want); err != nil {
			t.Errorf("%+v, backward %v: %v", c.pr, c.backward, err)
		}
	}
}

// TestSubnormals64 checks float64 subnormal inputs against the reference.
// The float64 shaders multiply in hardware: a device that flushes float64
// subnormals would fail here (lavapipe preserves them).
func TestSubnormals64(t *testing.T) {
	b := openTest(t, dropout.Options{})
	if !b.dev.f64 {
		t.Skip("no shaderFloat64")
	}
	ref := cpu.NewReference()
	x := dropout.Float64s{}
	for m := uint64(1); m < 1<<52; m = m*5 + 3 {
		x = append(x, math.Float64frombits(m), math.Float64frombits(m|1<<63))
	}
	for _, p := range []float64{1e-9, 0.1, 0.5, 0.9, 1 - 1e-7} {
		pr := dropout.Params{P: p, Seed: 7}
		got, want := make(dropout.Float64s, len(x)), make(dropout.Float64s, len(x))
		if err := ref.Forward(want, x, nil, pr); err != nil {
			t.Fatal(err)
		}
		if err := b.Forward(got, x, nil, pr); err != nil {
			t.Fatal(err)
		}
		if err := dropouttest.Equal(got, want); err != nil {
			t.Errorf("p=%v: %v", p, err)
		}
	}
}

// TestMixedOperands runs calls whose tensors are partly host slices and
// partly device buffers.
func TestMixedOperands(t *testing.T) {
	b := openTest(t, dropout.Options{MaxChunkBytes: 1 << 10})
	ref := cpu.NewReference()
	const n = 5000
	x := dropouttest.Data(dropout.Float32, n, 5).(dropout.Float32s)
	for _, f := range dropouttest.Formats {
		p := dropout.Params{P: 0.3, Seed: 8, Offset: 3, Mask: f}
		want, wm := make(dropout.Float32s, n), make(dropout.Bytes, f.Bytes(n))
		if err := ref.Forward(want, x, wm, p); err != nil {
			t.Fatal(err)
		}
		xb := alloc(t, b, dropout.Float32, n)
		yb := alloc(t, b, dropout.Float32, n)
		mb := alloc(t, b, dropout.Uint8, f.Bytes(n))
		if err := xb.Write(x); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name    string
			dst, x  dropout.Tensor
			mask    dropout.Tensor
			devMask bool
		}{
			{"host x, device y", yb, x, make(dropout.Bytes, f.Bytes(n)), false},
			{"device x, host y", make(dropout.Float32s, n), xb, make(dropout.Bytes, f.Bytes(n)), false},
			{"host x and y, device mask", make(dropout.Float32s, n), x, mb, true},
		} {
			if f == dropout.MaskNone {
				tc.mask = nil
			}
			if err := b.Forward(tc.dst, tc.x, tc.mask, p); err != nil {
				t.Fatalf("%s, %v: %v", tc.name, f, err)
			}
			got := make(dropout.Float32s, n)
			if err := b.Copy(got, tc.dst); err != nil {
				t.Fatal(err)
			}
			if err := dropouttest.Equal(got, want); err != nil {
				t.Errorf("%s, %v: %v", tc.name, f, err)
			}
			if tc.mask != nil {
				gm := make(dropout.Bytes, f.Bytes(n))
				if err := b.Copy(gm, tc.mask); err != nil {
					t.Fatal(err)
				}
				if err := dropouttest.Equal(gm, wm); err != nil {
					t.Errorf("%s, %v mask: %v", tc.name, f, err)
				}
			}
		}
	}
}

func alloc(t *testing.T, b dropout.Backend, dt dropout.DType, n int) dropout.Buffer {
	t.Helper()
	buf, err := b.Alloc(dt, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { buf.Release() })
	return buf
}

// foreign is a Buffer no backend made.
type foreign struct{ dropout.Float32s }

func (foreign) Write(dropout.Tensor) error { return nil }
func (foreign) Read(dropout.Tensor) error  { return nil }
func (foreign) Release() error             { return nil }

func TestErrors(t *testing.T) {
	b := openTest(t, dropout.Options{})
	other := openTest(t, dropout.Options{})
	x := make(dropout.Float32s, 8)
	ob := alloc(t, other, dropout.Float32, 8)
	rel, err := b.Alloc(dropout.Float32, 8)
	if err != nil {
		t.Fatal(err)
	}
	rel.Release()
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"foreign buffer", b.Forward(x, foreign{make(dropout.Float32s, 8)}, nil, dropout.Params{P: 0.5}), dropout.ErrForeignBuffer},
		{"another backend's buffer", b.Forward(x, ob, nil, dropout.Params{P: 0.5}), dropout.ErrForeignBuffer},
		{"copy from another backend's buffer", b.Copy(x, ob), dropout.ErrForeignBuffer},
		{"released buffer", b.Forward(x, rel, nil, dropout.Params{P: 0.5}), dropout.ErrReleased},
		{"write to a released buffer", rel.Write(x), dropout.ErrReleased},
		{"a region word map of 6 axes", b.Forward(make(dropout.Float32s, 64), make(dropout.Float32s, 64), nil,
			dropout.Params{P: 0.5, Shape: []int{2, 2, 2, 2, 2, 2}, Global: []int{4, 4, 4, 4, 4, 4}, Start: []int{0, 1, 2, 0, 1, 2}}), dropout.ErrUnsupported},
		{"negative alloc", func() error { _, err := b.Alloc(dropout.Float32, -1); return err }(), dropout.ErrLength},
		{"alloc of an unknown type", func() error { _, err := b.Alloc(0, 1); return err }(), dropout.ErrDType},
		{"alloc beyond the device", func() error { _, err := b.Alloc(dropout.Float64, 1<<40); return err }(), dropout.ErrOutOfMemory},
		{"alloc of an overflowing size", func() error { _, err := b.Alloc(dropout.Float64, 1<<62); return err }(), dropout.ErrOutOfMemory},
		{"copy of mismatched lengths", b.Copy(x, make(dropout.Float32s, 9)), dropout.ErrLength},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}

// TestValidationErrorsFailCalls checks that a message from the layer turns
// into an error of the call during which it came.
func TestValidationErrorsFailCalls(t *testing.T) {
	b := openTest(t, dropout.Options{})
	b.dev.in.Messages.Inject("error test: injected")
	err := b.Forward(make(dropout.Float32s, 4), make(dropout.Float32s, 4), nil, dropout.Params{P: 0.5})
	if !errors.Is(err, ErrValidation) {
		t.Fatalf("Forward after a validation message: got %v, want ErrValidation", err)
	}
	if err := b.Forward(make(dropout.Float32s, 4), make(dropout.Float32s, 4), nil, dropout.Params{P: 0.5}); err != nil {
		t.Fatalf("the next call: %v", err)
	}
	if got := b.ValidationMessages(); len(got) != 1 {
		t.Fatalf("ValidationMessages = %q", got)
	}
	b.dev.in.Messages.Reset() // the injected message is not the layer's
}
