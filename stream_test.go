package dropout_test

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/gpudropout/dropout"
)

func TestThreshold(t *testing.T) {
	for _, tc := range []struct {
		p    float64
		want uint64
	}{
		{0, 0},
		{1e-9, 4}, // floor(4.294967296)
		{0.1, 429496729},
		{0.2, 858993459},
		{0.5, 1 << 31},
		{0.9, 3865470566},
		{1 - 1e-7, 4294966866}, // floor(4294966866.503...)
		{1, 1 << 32},
		{math.Nextafter(1, 0), 1<<32 - 1},
		{0x1p-32, 1},
		{math.Nextafter(0x1p-32, 0), 0},
	} {
		if got := dropout.Threshold(tc.p); got != tc.want {
			t.Errorf("Threshold(%v) = %d, want %d", tc.p, got, tc.want)
		}
	}
}

func TestScale(t *testing.T) {
	for _, tc := range []struct {
		p   float64
		s32 float32
		s64 float64
	}{
		{0, 1, 1},
		{0.5, 2, 2},
		{0.2, 1.25, 1.25},
		{0.1, float32(1 / 0.9), 1 / 0.9},
		{1e-9, 1, 1 / (1 - 1e-9)}, // rounds to 1 in float32 only
		{1, 0, 0},
	} {
		if got := dropout.Scale32(tc.p); math.Float32bits(got) != math.Float32bits(tc.s32) {
			t.Errorf("Scale32(%v) = %v, want %v", tc.p, got, tc.s32)
		}
		if got := dropout.Scale64(tc.p); got != tc.s64 {
			t.Errorf("Scale64(%v) = %v, want %v", tc.p, got, tc.s64)
		}
	}
	// One rounding: float32 of the float64 quotient, not a float32 division.
	p := 0.3
	if got, want := dropout.Scale32(p), float32(1/(1-p)); got != want {
		t.Errorf("Scale32(0.3) = %v, want %v", got, want)
	}
}

func TestKeep(t *testing.T) {
	// Keep is the compare of the stream word against the threshold.
	for j := uint64(0); j < 64; j++ {
		w := dropout.Word(7, 1<<32+3+j)
		if got, want := dropout.Keep(7, 1<<32+3, j, 0.5), w >= 1<<31; got != want {
			t.Fatalf("Keep(j=%d) = %v, word %08x says %v", j, got, w, want)
		}
		if !dropout.Keep(7, 0, j, 0) || dropout.Keep(7, 0, j, 1) {
			t.Fatal("p = 0 must keep everything and p = 1 nothing")
		}
	}
}

const nWords = 1 << 20

func words(seed, offset uint64, n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = float64(dropout.Word(seed, offset+uint64(i)))
	}
	return w
}

// TestUniformity bins stream words by their top and bottom bytes and runs
// a chi-square test against the uniform distribution.
func TestUniformity(t *testing.T) {
	for _, tc := range []struct {
		seed, offset uint64
	}{{0, 0}, {1 << 40, 3}, {12345, 1<<32 - 7}} {
		w := words(tc.seed, tc.offset, nWords)
		for _, shift := range []uint{24, 12, 0} {
			obs := make([]float64, 256)
			for _, v := range w {
				obs[uint32(v)>>shift&0xff]++
			}
			exp := make([]float64, 256)
			for i := range exp {
				exp[i] = nWords / 256.0
			}
			chi := stat.ChiSquare(obs, exp)
			pv := distuv.ChiSquared{K: 255}.Survival(chi)
			if pv < 1e-6 || pv > 1-1e-6 {
				t.Errorf("seed %#x offset %#x, byte at bit %d: chi-square %.1f, p-value %.3g", tc.seed, tc.offset, shift, chi, pv)
			}
		}
	}
}

// TestIndependence checks that there is no linear correlation between
// neighbouring words, between seeds s and s+1, or between offsets.
func TestIndependence(t *testing.T) {
	bound := distuv.UnitNormal.Quantile(1-1e-6/2) / math.Sqrt(nWords)
	base := words(42, 0, nWords+1)
	for _, tc := range []struct {
		name string
		a, b []float64
	}{
		{"neighbouring words", base[:nWords], base[1:]},
		{"seeds s and s+1", base[:nWords], words(43, 0, nWords)},
		{"seeds s and s+2^32", base[:nWords], words(42+1<<32, 0, nWords)},
		{"offsets g and g+4", base[:nWords], words(42, 4, nWords)},
		{"offsets g and g+2^32", base[:nWords], words(42, 1<<32, nWords)},
		{"offsets g and g+2^34", base[:nWords], words(42, 1<<34, nWords)},
	} {
		if r := stat.Correlation(tc.a, tc.b, nil); math.Abs(r) > bound {
			t.Errorf("%s: correlation %.5f, bound %.5f", tc.name, r, bound)
		}
	}
	// The test can fail: a word and itself plus a little noise correlate.
	shifted := words(42, 0, nWords)
	for i := range shifted {
		shifted[i] = shifted[i] + base[i+1]*0.05
	}
	if r := stat.Correlation(base[:nWords], shifted, nil); math.Abs(r) <= bound {
		t.Errorf("correlated streams not detected: r = %v", r)
	}
}
