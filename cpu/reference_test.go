package cpu_test

import (
	"math"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/driver"
)

// TestAlphaKnownAnswers checks alpha dropout's coefficients and a few
// outputs derived by hand: at p = 0.5, a = 1/sqrt((α²/2 + 1)/2) =
// 0.88640489… (PyTorch's alpha_dropout computes the same expression in
// double), B = a·α/2 = 0.77919394…, D = −B; a kept 1.0 gives float32(A) +
// float32(B) = 1.6656930 (0x3fd53258), a kept −2.0 gives −0.99361968
// (0xbf7e5d9b), a dropped element D (0xbf477941).
func TestAlphaKnownAnswers(t *testing.T) {
	p := dropout.Params{P: 0.5, Seed: 1, Offset: 0, Alpha: true}
	x := dropout.Float32s{1, -2, 1, -2, 1, -2, 1, -2, 1, -2, 1, -2}
	pl, err := driver.NewPlan(x, x, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if pl.AlphaA32 != float32(pl.AlphaA64) || math.Abs(pl.AlphaA64-0.8864048946659319) > 1e-15 {
		t.Errorf("A = %v, %v", pl.AlphaA32, pl.AlphaA64)
	}
	if math.Abs(pl.AlphaB64-0.7791939) > 1e-7 || pl.AlphaB32 != float32(pl.AlphaB64) || pl.AlphaD32 != -pl.AlphaB32 {
		t.Errorf("B = %v, D = %v", pl.AlphaB32, pl.AlphaD32)
	}
	for _, be := range []dropout.Backend{cpu.NewReference(), cpu.New(dropout.Options{})} {
		y := make(dropout.Float32s, len(x))
		m := make(dropout.Bytes, len(x))
		p.Mask = dropout.MaskBytes
		if err := be.Forward(y, x, m, p); err != nil {
			t.Fatal(err)
		}
		var kept, dropped int
		for i, v := range y {
			want := uint32(0xbf477941)
			if dropout.Keep(p.Seed, p.Offset, uint64(i), p.P) {
				kept++
				want = 0x3fd53258
				if x[i] == -2 {
					want = 0xbf7e5d9b
				}
			} else {
				dropped++
			}
			if got := math.Float32bits(v); got != want {
				t.Errorf("%s: y[%d] = %#x, want %#x", be.Name(), i, got, want)
			}
		}
		if kept == 0 || dropped == 0 {
			t.Errorf("%d kept, %d dropped: choose another seed", kept, dropped)
		}
	}
}

// TestHalfKnownAnswers: float16 1.5 (0x3e00) at p = 0.25 is 1.5·(4/3) = 2
// (0x4000); at p = 0.1, float16 1.0 (0x3c00) times float32(1/0.9) =
// 1.1111112 rounds to 1 + 114/1024 (0x3c72); bfloat16 1.0 (0x3f80) at p =
// 0.1 rounds to 1.109375 (0x3f8e); p = 0 copies a signalling NaN's bits;
// p = 1 gives +0.
func TestHalfKnownAnswers(t *testing.T) {
	for _, be := range []dropout.Backend{cpu.NewReference(), cpu.New(dropout.Options{})} {
		for _, c := range []struct {
			bf      bool
			p       float64
			in, out uint16
		}{
			{false, 0.25, 0x3e00, 0x4000},
			{false, 0.1, 0x3c00, 0x3c72},
			{true, 0.1, 0x3f80, 0x3f8e},
			{false, 0, 0x7d01, 0x7d01},
			{true, 0, 0x7f81, 0x7f81},
			{false, 1, 0x3c00, 0},
		} {
			p := dropout.Params{P: c.p, Seed: 3}
			// the first kept element of the stream
			j := 0
			for c.p < 1 && !dropout.Keep(p.Seed, 0, uint64(j), c.p) {
				j++
			}
			var x, y dropout.Tensor = make(dropout.Float16s, j+1), make(dropout.Float16s, j+1)
			if c.bf {
				x, y = make(dropout.BFloat16s, j+1), make(dropout.BFloat16s, j+1)
			}
			setBits(x, j, uint64(c.in))
			if err := be.Forward(y, x, nil, p); err != nil {
				t.Fatal(err)
			}
			if got := uint16(getBits(y, j)); got != c.out {
				t.Errorf("%s: bf=%v p=%v x=%#x: y = %#x, want %#x", be.Name(), c.bf, c.p, c.in, got, c.out)
			}
		}
	}
}
