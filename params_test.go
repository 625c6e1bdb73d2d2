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

func TestCheckCall(t *testing.T) {
	x := make(dropout.Float32s, 8)
	for _, tc := range []struct {
		name     string
		dst, src dropout.Tensor
		mask     dropout.Tensor
		p        dropout.Params
		want     error
	}{
		{"valid", x, x, nil, dropout.Params{P: 0.5}, nil},
		{"valid bits mask", x, x, make(dropout.Bytes, 1), dropout.Params{P: 0.5, Mask: dropout.MaskBits}, nil},
		{"short dst", x[:7], x, nil, dropout.Params{}, dropout.ErrLength},
		{"nil src", x, nil, nil, dropout.Params{}, dropout.ErrLength},
		{"dtype mismatch", make(dropout.Float64s, 8), x, nil, dropout.Params{}, dropout.ErrDType},
		{"uint8 data", make(dropout.Bytes, 8), make(dropout.Bytes, 8), nil, dropout.Params{}, dropout.ErrDType},
		{"bad p", x, x, nil, dropout.Params{P: math.NaN()}, dropout.ErrP},
		{"missing mask", x, x, nil, dropout.Params{Mask: dropout.MaskBytes}, dropout.ErrMaskFormat},
		{"short mask", x, x, make(dropout.Bytes, 7), dropout.Params{Mask: dropout.MaskBytes}, dropout.ErrLength},
	} {
		err := tc.p.CheckCall(tc.dst, tc.src, tc.mask)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: CheckCall = %v, want %v", tc.name, err, tc.want)
		}
	}
}
