package dropout_test

import (
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
)

func TestCapabilities(t *testing.T) {
	c := dropout.Capabilities{
		DTypes:      []dropout.DType{dropout.Float32},
		MaskFormats: []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits},
		NoiseShape:  true,
	}
	for _, tc := range []struct {
		dt        dropout.DType
		f         dropout.MaskFormat
		bcast     bool
		alpha     bool
		ok        bool
		reasonHas string
	}{
		{dropout.Float32, dropout.MaskNone, false, false, true, ""},
		{dropout.Float32, dropout.MaskBits, true, false, true, ""},
		{dropout.Float64, dropout.MaskNone, false, false, false, "float64 data is not supported (the device takes float32)"},
		{dropout.Float32, dropout.MaskBytes, false, false, false, "bytes mask"},
		{dropout.Float32, dropout.MaskNone, false, true, false, "alpha"},
	} {
		ok, reason := c.Supports(tc.dt, tc.f, tc.bcast, tc.alpha)
		if ok != tc.ok || !strings.Contains(reason, tc.reasonHas) {
			t.Errorf("Supports(%v, %v, %v, %v) = %v, %q; want %v, %q", tc.dt, tc.f, tc.bcast, tc.alpha, ok, reason, tc.ok, tc.reasonHas)
		}
	}
	if got, want := c.String(), "dtypes float32; masks none,bits; noise-shape"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	c.NoiseShape = false
	if ok, _ := c.Supports(dropout.Float32, dropout.MaskNone, true, false); ok {
		t.Error("a broadcast call is supported without NoiseShape")
	}
}
