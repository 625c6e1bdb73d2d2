package dropouttest

import (
	"math"
	"testing"

	"github.com/gpudropout/dropout"
)

// TestHalfGolden checks the suite's 16-bit conversions on values worked
// out by hand from the formats' definitions.
func TestHalfGolden(t *testing.T) {
	for _, tc := range []struct {
		f    format16
		v    float32
		bits uint16
	}{
		{binary16, 1, 0x3c00},
		{binary16, -2, 0xc000},
		{binary16, 65504, 0x7bff},                 // largest finite
		{binary16, 0x1p-24, 0x0001},               // smallest subnormal
		{binary16, 0x1p-14, 0x0400},               // smallest normal
		{binary16, 0x1p-25, 0x0000},               // half the smallest subnormal: a tie, to even 0
		{binary16, 0x1.8p-24, 0x0002},             // 1.5 subnormal quanta: a tie, to even 2
		{binary16, 1 + 0x1p-11, 0x3c00},           // tie between 1 and 1+2^-10: to even
		{binary16, 1 + 3*0x1p-11, 0x3c02},         // tie between 1+2^-10 and 1+2^-9: to even
		{binary16, 1 + 0x1p-11 + 0x1p-20, 0x3c01}, // above the tie
		{binary16, 65519.996, 0x7bff},             // below the overflow tie
		{binary16, 65520, 0x7c00},                 // the tie overflows (to even)
		{binary16, float32(math.Inf(-1)), 0xfc00},
		{binary16, float32(math.Copysign(0, -1)), 0x8000},
		{binary16, 0x1.ffcp-15, 0x0400}, // the largest subnormal plus a tie rounds up to the smallest normal
		{bfloat16, 1, 0x3f80},
		{bfloat16, math.Float32frombits(0x40490fdb), 0x4049}, // pi
		{bfloat16, 1 + 0x1p-8, 0x3f80},                       // tie, to even
		{bfloat16, 1 + 3*0x1p-8, 0x3f82},                     // tie, to even
		{bfloat16, math.MaxFloat32, 0x7f80},                  // overflows
		{bfloat16, math.Float32frombits(0x00008000), 0x0000}, // subnormal tie, to even 0
		{bfloat16, math.Float32frombits(0x00018000), 0x0002}, // subnormal tie, to even 2
		{bfloat16, math.Float32frombits(0x00010001), 0x0001},
		{bfloat16, math.Float32frombits(0x807fffff), 0x8080}, // rounds up to -smallest normal
	} {
		if got := tc.f.round(tc.v); got != tc.bits {
			t.Errorf("round(%v) to %d mantissa bits = %#04x, want %#04x", tc.v, tc.f.mbits, got, tc.bits)
		}
	}
	for _, tc := range []struct {
		f    format16
		bits uint16
		v    float32
	}{
		{binary16, 0x3c00, 1}, {binary16, 0xc000, -2}, {binary16, 0x7bff, 65504},
		{binary16, 0x0001, 0x1p-24}, {binary16, 0x03ff, 1023 * 0x1p-24}, {binary16, 0x0400, 0x1p-14},
		{binary16, 0x3555, 0.333251953125}, {binary16, 0xfc00, float32(math.Inf(-1))},
		{bfloat16, 0x3f80, 1}, {bfloat16, 0x4049, 3.140625}, {bfloat16, 0x0001, 0x1p-133},
		{bfloat16, 0x0080, 0x1p-126}, {bfloat16, 0x7f7f, math.Float32frombits(0x7f7f0000)}, {bfloat16, 0xff80, float32(math.Inf(-1))},
	} {
		if w := tc.f.widen(tc.bits); w != tc.v {
			t.Errorf("widen(%#04x) with %d mantissa bits = %v, want %v", tc.bits, tc.f.mbits, w, tc.v)
		}
	}
	if w := binary16.widen(0x8000); w != 0 || !math.Signbit(float64(w)) {
		t.Errorf("widen(0x8000) = %v, want -0", w)
	}
	for _, h := range []uint16{0x7e00, 0x7c01, 0xfd00} {
		if !binary16.isNaN(h) || !binary16.isNaN(binary16.round(binary16.widen(h))) {
			t.Errorf("float16 %#04x is a NaN", h)
		}
	}
}

// TestHalfExhaustive checks both formats on every pattern: widening and
// rounding back is the identity, and between neighbours a and b the
// midpoint rounds to the one with an even mantissa while anything nearer
// rounds to the nearer.
func TestHalfExhaustive(t *testing.T) {
	for _, f := range []format16{binary16, bfloat16} {
		for h := range 1 << 16 {
			a := uint16(h)
			if f.isNaN(a) {
				continue
			}
			if got := f.round(f.widen(a)); got != a {
				t.Fatalf("%d mantissa bits: round(widen(%#04x)) = %#04x", f.mbits, a, got)
			}
			if a&0x7fff >= f.expMask()-1 { // the largest finite value and infinities
				continue
			}
			b := a + 1 // the next value away from zero
			wa, wb := f.widen(a), f.widen(b)
			mid := float32((float64(wa) + float64(wb)) / 2) // exact in float32
			even := a
			if a&1 == 1 {
				even = b
			}
			if got := f.round(mid); got != even {
				t.Fatalf("%d mantissa bits: the midpoint of %#04x and %#04x rounds to %#04x, want %#04x", f.mbits, a, b, got, even)
			}
			below, above := math.Nextafter32(mid, wa), math.Nextafter32(mid, wb)
			if f.round(below) != a || f.round(above) != b {
				t.Fatalf("%d mantissa bits: around the midpoint of %#04x and %#04x: %#04x, %#04x", f.mbits, a, b, f.round(below), f.round(above))
			}
		}
	}
}

// TestModelAgainstScalarDefinitions checks the model on hand-computed
// elements. float16 0x3c01 (1+2^-10) at p = 1/3 (s = 1.5) is
// 1.5·(1+2^-10) = 0x3e00 plus 1.5 quanta of 2^-10: a tie between 0x3e01
// and 0x3e02, rounded to the even 0x3e02.
func TestModelAgainstScalarDefinitions(t *testing.T) {
	p := dropout.Params{P: 1.0 / 3, Seed: 1, Offset: 0}
	if dropout.Scale32(p.P) != 1.5 {
		t.Fatalf("Scale32(1/3) = %v", dropout.Scale32(p.P))
	}
	x := dropout.Float16s{0x3c01, 0x3c01, 0x3c01, 0x3c01, 0x3c01, 0x3c01, 0x3c01, 0x3c01}
	md := newModel(p, len(x))
	y, _ := md.forward(x)
	for i, v := range y.(dropout.Float16s) {
		want := uint16(0)
		if dropout.Keep(p.Seed, p.Offset, uint64(i), p.P) {
			want = 0x3e02
		}
		if v != want {
			t.Errorf("element %d: %#04x, want %#04x", i, v, want)
		}
	}
	// Alpha dropout, float32, p = 0.5: kept x = 1 gives float32(A)+float32(B)
	// rounded to float32, dropped float32(D).
	p = dropout.Params{P: 0.5, Seed: 3, Alpha: true}
	A, B, D := dropout.AlphaCoefficients(0.5)
	x32 := dropout.Float32s{1, 1, 1, 1, 1, 1, 1, 1}
	y, _ = newModel(p, 8).forward(x32)
	for i, v := range y.(dropout.Float32s) {
		want := float32(D)
		if dropout.Keep(3, 0, uint64(i), 0.5) {
			want = float32(A) + float32(B)
		}
		if v != want {
			t.Errorf("alpha element %d: %v, want %v", i, v, want)
		}
	}
	// A region of a noise-shaped mask: global 4x6, noise 4x1, block rows
	// 1-2, columns 3-5: block element (r, c) uses word offset + 1 + r.
	p = dropout.Params{P: 0.5, Seed: 9, Offset: 100, Global: []int{4, 6}, Start: []int{1, 3}, Shape: []int{2, 3}, NoiseShape: []int{4, 1}, Mask: dropout.MaskBytes}
	md = newModel(p, 6)
	if len(md.keep) != 2 {
		t.Fatalf("the block's mask has %d elements, want 2", len(md.keep))
	}
	for r := range 2 {
		if md.keep[r] != dropout.Keep(9, 100, uint64(1+r), 0.5) {
			t.Errorf("block mask row %d differs from word %d", r, 101+r)
		}
		for c := range 3 {
			if md.maskIndex(r*3+c) != r {
				t.Errorf("element (%d, %d) uses mask element %d, want %d", r, c, md.maskIndex(r*3+c), r)
			}
		}
	}
}
