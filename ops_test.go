package dropout_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/gpudropout/dropout"
)

// TestAlphaCoefficients checks alpha dropout's coefficients against values
// computed independently (Python's math module, the formula of PyTorch's
// alpha_dropout): a = 1/sqrt((α²p + 1)(1 − p)), B = a·α·p, D = −a·α·(1 − p).
func TestAlphaCoefficients(t *testing.T) {
	for _, c := range []struct{ p, a, b, d float64 }{
		{0.1, 0.9212845161497115, 0.16197097005757022, -1.457738730518132},
		{0.5, 0.8864048946659319, 0.7791939305180315, -0.7791939305180315},
		{0.9, 1.626108276040131, 2.5729738994273568, -0.2858859888252618},
		{0, 1, 0, -dropout.SELUAlpha},
		{1, 0, 0, 0},
	} {
		a, b, d := dropout.AlphaCoefficients(c.p)
		for _, v := range []struct {
			name      string
			got, want float64
		}{{"A", a, c.a}, {"B", b, c.b}, {"D", d, c.d}} {
			if math.Abs(v.got-v.want) > 1e-15*math.Max(1, math.Abs(v.want)) {
				t.Errorf("p=%v: %s = %v, want %v", c.p, v.name, v.got, v.want)
			}
		}
	}
	// A kept SELU-normal input keeps its mean: E[y] = A·(1−p)·0 + B·(1−p) + D·p = 0.
	for _, p := range []float64{0.05, 0.3, 0.5, 0.77} {
		_, b, d := dropout.AlphaCoefficients(p)
		if m := (1-p)*b + p*d; math.Abs(m) > 1e-15 {
			t.Errorf("p=%v: mean of a dropped-and-shifted zero is %v, want 0", p, m)
		}
	}
}

func TestRegionParams(t *testing.T) {
	for _, c := range []struct {
		name      string
		p         dropout.Params
		n         int
		mask      []int
		maskLen   int
		streamLen int
		wantErr   error
		isRegion  bool
	}{
		{name: "whole", p: dropout.Params{Shape: []int{4, 6}}, n: 24, mask: []int{4, 6}, maskLen: 24, streamLen: 24},
		{name: "block", p: dropout.Params{Global: []int{4, 6}, Start: []int{1, 2}, Shape: []int{2, 3}}, n: 6,
			mask: []int{2, 3}, maskLen: 6, streamLen: 24, isRegion: true},
		{name: "noise", p: dropout.Params{Global: []int{4, 6}, Start: []int{1, 2}, Shape: []int{2, 3}, NoiseShape: []int{4, 1}},
			n: 6, mask: []int{2, 1}, maskLen: 2, streamLen: 4, isRegion: true},
		{name: "empty block", p: dropout.Params{Global: []int{4, 6}, Start: []int{4, 0}, Shape: []int{0, 6}}, n: 0,
			mask: []int{0, 6}, maskLen: 0, streamLen: 24, isRegion: true},
		{name: "too far", p: dropout.Params{Global: []int{4, 6}, Start: []int{3, 0}, Shape: []int{2, 6}}, n: 12, wantErr: dropout.ErrShape},
		{name: "no shape", p: dropout.Params{Global: []int{4, 6}, Start: []int{0, 0}}, n: 24, wantErr: dropout.ErrShape},
		{name: "rank", p: dropout.Params{Global: []int{24}, Start: []int{0, 0}, Shape: []int{4, 6}}, n: 24, wantErr: dropout.ErrShape},
		{name: "start alone", p: dropout.Params{Start: []int{0}, Shape: []int{24}}, n: 24, wantErr: dropout.ErrShape},
		{name: "noise on block", p: dropout.Params{Global: []int{4, 6}, Start: []int{0, 0}, Shape: []int{2, 6}, NoiseShape: []int{2, 1}}, n: 12, wantErr: dropout.ErrShape},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Validate(c.n)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("Validate: %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.p.IsRegion(); got != c.isRegion {
				t.Errorf("IsRegion = %v", got)
			}
			if got := c.p.MaskShape(); !slices.Equal(got, c.mask) {
				t.Errorf("MaskShape = %v, want %v", got, c.mask)
			}
			if got := c.p.MaskLen(c.n); got != c.maskLen {
				t.Errorf("MaskLen = %d, want %d", got, c.maskLen)
			}
			if got := c.p.StreamLen(c.n); got != c.streamLen {
				t.Errorf("StreamLen = %d, want %d", got, c.streamLen)
			}
		})
	}
}

// TestGeneratorRegion: every block of a global call reserves the global
// call's words, so blocks drawn in turn get successive global masks.
func TestGeneratorRegion(t *testing.T) {
	g := dropout.NewGenerator(3)
	p := dropout.Params{Global: []int{8, 8}, Start: []int{2, 0}, Shape: []int{2, 8}}
	q := g.Next(p, 16)
	if q.Offset != 0 || g.Offset() != 64 {
		t.Fatalf("after one region call: offset %d, generator at %d; want 0 and 64", q.Offset, g.Offset())
	}
}

func TestCheckFused(t *testing.T) {
	x := make(dropout.Float32s, 12)
	p := dropout.Params{P: 0.5, Shape: []int{3, 4}}
	for _, c := range []struct {
		name    string
		bias, r dropout.Tensor
		p       dropout.Params
		want    error
	}{
		{"both", make(dropout.Float32s, 4), make(dropout.Float32s, 12), p, nil},
		{"neither", nil, nil, p, nil},
		{"bias over the whole without a shape", make(dropout.Float32s, 12), nil, dropout.Params{P: 0.5}, nil},
		{"short bias", make(dropout.Float32s, 3), nil, p, dropout.ErrLength},
		{"bias dtype", make(dropout.Float64s, 4), nil, p, dropout.ErrDType},
		{"short residual", nil, make(dropout.Float32s, 11), p, dropout.ErrLength},
		{"residual dtype", nil, make(dropout.Float16s, 12), p, dropout.ErrDType},
		{"alpha", nil, nil, dropout.Params{P: 0.5, Alpha: true}, dropout.ErrUnsupported},
		{"bad p", nil, nil, dropout.Params{P: 2}, dropout.ErrP},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.CheckFused(make(dropout.Float32s, 12), x, c.bias, c.r, nil)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("CheckFused: %v, want %v", err, c.want)
			}
		})
	}
}

// noFuser is a Backend that does not implement Fuser.
type noFuser struct{ dropout.Backend }

func (noFuser) Name() string { return "nofuser" }

func TestForwardFusedUnsupported(t *testing.T) {
	x := make(dropout.Float32s, 4)
	err := dropout.ForwardFused(noFuser{}, x, x, nil, nil, nil, dropout.Params{P: 0.5})
	if !errors.Is(err, dropout.ErrUnsupported) {
		t.Fatalf("ForwardFused on a backend without Fuser: %v, want ErrUnsupported", err)
	}
	// a bad call still reports its own error first
	err = dropout.ForwardFused(noFuser{}, x, x, nil, nil, nil, dropout.Params{P: -1})
	if !errors.Is(err, dropout.ErrP) {
		t.Fatalf("bad p: %v, want ErrP", err)
	}
}
