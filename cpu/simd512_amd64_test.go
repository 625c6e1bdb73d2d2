//go:build amd64 && !purego

package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gpudropout/dropout/internal/philox"
)

func avx512OrSkip(t testing.TB) {
	if !hasAVX512() {
		t.Skip("no AVX-512 F/BW/DQ/VL on this CPU")
	}
}

// TestAVX512Words compares the stream words of the AVX-512 Philox core, in
// the order its kernels consume them, with internal/philox.
func TestAVX512Words(t *testing.T) {
	avx512OrSkip(t)
	r := rand.New(rand.NewPCG(5, 6))
	starts := []uint64{0, 4, 1<<34 - 4, 1<<34 - 64, 1<<34 - 68, ^uint64(0)&^3 - 1024,
		math.MaxUint64 - 3, math.MaxUint64 - 31, math.MaxUint64 - 63, math.MaxUint64 - 127}
	for i := 0; i < 20; i++ {
		starts = append(starts, r.Uint64()&^3)
	}
	for i, g := range starts {
		seed := r.Uint64()
		groups := 1 + i%4
		a := span{seed: seed, g0: g}
		var p avxParams
		p.init(&a, g, 0)
		got := make([]uint32, avx512Group*groups)
		wordsAVX512(p.rows(), &got[0], groups)
		want := make([]uint32, len(got))
		philox.Fill(want, seed, g)
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("seed %#x, word %#x: AVX-512 %#08x, philox %#08x", seed, g+uint64(j), got[j], want[j])
			}
		}
	}
}
