package dropouttest

import (
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
)

// skewed is a broken backend: it drops with probability p+dp, and with
// scale set its outputs are off by that factor. The statistical checks must catch it.
type skewed struct {
	dropout.Backend
	dp    float64
	scale float32 // if non-zero, outputs are off by this factor
}

func (s skewed) Forward(dst, x, mask dropout.Tensor, p dropout.Params) error {
	want := dropout.Scale32(p.P)
	p.P += s.dp
	if err := s.Backend.Forward(dst, x, mask, p); err != nil {
		return err
	}
	if s.scale != 0 {
		y := dst.(dropout.Float32s)
		for i := range y {
			y[i] = y[i] / dropout.Scale32(p.P) * want * s.scale
		}
	}
	return nil
}

func TestChecksCatchBrokenBackends(t *testing.T) {
	ref := cpu.NewReference()
	c, err := KeepRate(skewed{Backend: ref, dp: 0.001}, 0.5, 10_000_000, 1)
	if err != nil || c.Pass {
		t.Errorf("KeepRate passed a backend that drops 0.1%% too many: %v %v", c, err)
	}
	c, err = KeepRate(ref, 0.5, 10_000_000, 1)
	if err != nil || !c.Pass {
		t.Errorf("KeepRate failed the reference: %v %v", c, err)
	}
	c, err = MeanSum(skewed{Backend: ref, scale: 1.3}, SeedExample, 0.2, 10_000, 3)
	if err != nil || c.Pass {
		t.Errorf("MeanSum passed a backend that scales 30%% too much: %v %v", c, err)
	}
	c, err = MeanSumLarge(skewed{Backend: ref, scale: 1.01}, 1<<22, 0.5, 3)
	if err != nil || c.Pass {
		t.Errorf("MeanSumLarge passed a backend that scales 1%% too much: %v %v", c, err)
	}
	c, err = MeanSumLarge(ref, 1<<22, 0.5, 3)
	if err != nil || !c.Pass {
		t.Errorf("MeanSumLarge failed the reference: %v %v", c, err)
	}
}

func TestEqual(t *testing.T) {
	nan := float32(0)
	nan = nan / nan
	for _, tc := range []struct {
		a, b dropout.Tensor
		ok   bool
	}{
		{dropout.Float32s{1, 2}, dropout.Float32s{1, 2}, true},
		{dropout.Float32s{1, 2}, dropout.Float32s{1, 3}, false},
		{dropout.Float32s{0}, dropout.Float32s{-nan * 0}, false},
		{dropout.Float32s{nan}, dropout.Float32s{-nan}, true},
		{dropout.Float32s{1}, dropout.Float32s{1, 1}, false},
		{dropout.Float32s{1}, dropout.Float64s{1}, false},
		{dropout.Bytes{1, 0}, dropout.Bytes{1, 1}, false},
	} {
		if err := Equal(tc.a, tc.b); (err == nil) != tc.ok {
			t.Errorf("Equal(%v, %v) = %v, want ok=%v", tc.a, tc.b, err, tc.ok)
		}
	}
	var z, nz float32 = 0, 0
	nz = -nz
	if Equal(dropout.Float32s{z}, dropout.Float32s{nz}) == nil {
		t.Error("Equal does not tell +0 from -0")
	}
}
