package dropout_test

import (
	"errors"
	"math"
	"testing"

	"github.com/gpudropout/dropout"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    dropout.Params
		n    int
		want error
	}{
		{"ok", dropout.Params{P: 0.5}, 10, nil},
		{"p=0", dropout.Params{P: 0}, 10, nil},
		{"p=1", dropout.Params{P: 1}, 10, nil},
		{"negative p", dropout.Params{P: -1e-300}, 10, dropout.ErrP},
		{"p > 1", dropout.Params{P: 1.0000001}, 10, dropout.ErrP},
		{"NaN p", dropout.Params{P: math.NaN()}, 10, dropout.ErrP},
		{"-Inf p", dropout.Params{P: math.Inf(-1)}, 10, dropout.ErrP},
		{"mask format", dropout.Params{P: 0.5, Mask: 3}, 10, dropout.ErrMaskFormat},
		{"shape", dropout.Params{P: 0.5, Shape: []int{2, 5}}, 10, nil},
		{"shape size", dropout.Params{P: 0.5, Shape: []int{2, 4}}, 10, dropout.ErrLength},
		{"negative axis", dropout.Params{P: 0.5, Shape: []int{-1, -10}}, 10, dropout.ErrShape},
		{"huge shape", dropout.Params{P: 0.5, Shape: []int{1 << 40, 1 << 40}}, 10, dropout.ErrShape},
		{"noise", dropout.Params{P: 0.5, Shape: []int{2, 5}, NoiseShape: []int{2, 1}}, 10, nil},
		{"noise without shape", dropout.Params{P: 0.5, NoiseShape: []int{1}}, 10, nil},
		{"noise rank", dropout.Params{P: 0.5, Shape: []int{2, 5}, NoiseShape: []int{2}}, 10, dropout.ErrShape},
		{"noise axis", dropout.Params{P: 0.5, Shape: []int{2, 5}, NoiseShape: []int{2, 2}}, 10, dropout.ErrShape},
		{"empty", dropout.Params{P: 0.5, Shape: []int{0, 3}, NoiseShape: []int{0, 1}}, 0, nil},
	} {
		err := tc.p.Validate(tc.n)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: Validate = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestMaskLenAndBytes(t *testing.T) {
	p := dropout.Params{Shape: []int{4, 3, 5}, NoiseShape: []int{4, 3, 1}}
	if got := p.MaskLen(60); got != 12 {
		t.Errorf("MaskLen = %d, want 12", got)
	}
	if got := (dropout.Params{}).MaskLen(17); got != 17 {
		t.Errorf("MaskLen without noise shape = %d, want 17", got)
	}
	for _, tc := range []struct {
		f    dropout.MaskFormat
		n    int
		want int
	}{{dropout.MaskBits, 0, 0}, {dropout.MaskBits, 1, 1}, {dropout.MaskBits, 8, 1}, {dropout.MaskBits, 9, 2},
		{dropout.MaskBytes, 9, 9}, {dropout.MaskNone, 9, 0}} {
		if got := tc.f.Bytes(tc.n); got != tc.want {
			t.Errorf("%v.Bytes(%d) = %d, want %d", tc.f, tc.n, got, tc.want)
		}
	}
}

func TestParseMaskFormat(t *testing.T) {
	for _, f := range []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes} {
		g, err := dropout.ParseMaskFormat(f.String())
		if err != nil || g != f {
			t.Errorf("ParseMaskFormat(%q) = %v, %v", f.String(), g, err)
		}
	}
	if _, err := dropout.ParseMaskFormat("bools"); !errors.Is(err, dropout.ErrMaskFormat) {
		t.Errorf("ParseMaskFormat(bools) = %v, want ErrMaskFormat", err)
	}
}

// TestPlanBroadcast checks the canonical noise-shape form against the
// definition: element i uses the mask element at its coordinates with the
// broadcast axes set to 0.
func TestPlanBroadcast(t *testing.T) {
	for _, tc := range []struct {
		shape, noise []int
		dims         []int
	}{
		{[]int{4, 3, 5}, []int{4, 3, 1}, []int{12, 5}},
		{[]int{2, 3, 4, 5}, []int{2, 1, 1, 5}, []int{2, 12, 5}},
		{[]int{5, 1, 9}, []int{1, 1, 9}, []int{5, 9}},
		{[]int{3, 5, 7}, []int{3, 1, 7}, []int{3, 5, 7}},
		{[]int{6}, []int{1}, []int{6}},
	} {
		n := 1
		for _, d := range tc.shape {
			n *= d
		}
		x := make(dropout.Float32s, n)
		p := dropout.Params{P: 0.5, Shape: tc.shape, NoiseShape: tc.noise}
		pl, err := dropout.NewPlan(x, x, nil, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(pl.Dims) != len(tc.dims) {
			t.Fatalf("shape %v noise %v: dims %v, want %v", tc.shape, tc.noise, pl.Dims, tc.dims)
		}
		for i := range tc.dims {
			if pl.Dims[i] != tc.dims[i] {
				t.Fatalf("shape %v noise %v: dims %v, want %v", tc.shape, tc.noise, pl.Dims, tc.dims)
			}
		}
		for i := 0; i < n; i++ {
			// coordinates of i, then the row-major index over the noise shape
			c := make([]int, len(tc.shape))
			r := i
			for d := len(tc.shape) - 1; d >= 0; d-- {
				c[d] = r % tc.shape[d]
				r /= tc.shape[d]
			}
			j := 0
			for d := range tc.shape {
				if tc.noise[d] == 1 {
					c[d] = 0
				}
				j = j*tc.noise[d] + c[d]
			}
			if got := pl.MaskIndex(i); got != j {
				t.Fatalf("shape %v noise %v: MaskIndex(%d) = %d, want %d", tc.shape, tc.noise, i, got, j)
			}
		}
	}
}

func TestNewPlanErrors(t *testing.T) {
	x := make(dropout.Float32s, 8)
	if _, err := dropout.NewPlan(x, make(dropout.Float32s, 7), nil, dropout.Params{}); !errors.Is(err, dropout.ErrLength) {
		t.Errorf("length mismatch: %v", err)
	}
	if _, err := dropout.NewPlan(x, x, make(dropout.Bytes, 2), dropout.Params{Mask: dropout.MaskBits}); !errors.Is(err, dropout.ErrLength) {
		t.Errorf("bits mask of 2 bytes for 8 elements: %v", err)
	}
	if _, err := dropout.NewPlan(x, x, make(dropout.Bytes, 1), dropout.Params{Mask: dropout.MaskBits}); err != nil {
		t.Errorf("bits mask of 1 byte for 8 elements: %v", err)
	}
	if _, err := dropout.NewPlan(x, x, nil, dropout.Params{P: 2}); !errors.Is(err, dropout.ErrP) {
		t.Errorf("p = 2: %v", err)
	}
}
