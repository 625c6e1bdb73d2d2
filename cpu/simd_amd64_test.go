//go:build amd64 && !purego

package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	xcpu "golang.org/x/sys/cpu"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/internal/philox"
)

// TestAVXParamsLayout checks avxParams against the offsets the generator
// (_asm/main.go) compiled into philox_amd64.s.
func TestAVXParamsLayout(t *testing.T) {
	var p avxParams
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"keys", unsafe.Offsetof(p.keys), 0},
		{"t", unsafe.Offsetof(p.t), 640},
		{"s32", unsafe.Offsetof(p.s32), 672},
		{"s64", unsafe.Offsetof(p.s64), 704},
		{"ctr", unsafe.Offsetof(p.ctr), 736},
		{"shift", unsafe.Offsetof(p.shift), 768},
		{"size", unsafe.Sizeof(p), 800},
	} {
		if c.got != c.want {
			t.Errorf("avxParams.%s at %d, the kernels read it at %d", c.name, c.got, c.want)
		}
	}
}

// TestAVX2Words compares the stream words of the kernels' Philox core, in
// the order the kernels consume them, with internal/philox.
func TestAVX2Words(t *testing.T) {
	simdOrSkip(t)
	r := rand.New(rand.NewPCG(1, 2))
	starts := []uint64{0, 4, 1<<34 - 4, 1<<34 - 32, 1<<34 - 36, 1 << 40, ^uint64(0)&^3 - 1024,
		// across the end of the stream (block 2^62-1, then block 0), with
		// 3, 4, 5 and 1 groups
		math.MaxUint64 - 3, math.MaxUint64 - 15, math.MaxUint64 - 35, math.MaxUint64 - 27}
	for i := 0; i < 20; i++ {
		starts = append(starts, r.Uint64()&^3)
	}
	for i, g := range starts {
		seed := r.Uint64()
		if i == 0 {
			seed = 0 // block 0 of seed 0 is the Random123 all-zero vector
		}
		groups := 1 + i%5
		a := span{seed: seed, g0: g}
		var p avxParams
		p.init(&a, g, 0)
		got := make([]uint32, avxGroup*groups)
		wordsAVX2(p.rows(), &got[0], groups)
		want := make([]uint32, len(got))
		philox.Fill(want, seed, g)
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("seed %#x, word %#x: AVX2 %#08x, philox %#08x", seed, g+uint64(j), got[j], want[j])
			}
		}
		if z := philox.KnownAnswers()[0].Out; i == 0 && (got[0] != z[0] || got[3] != z[3]) {
			t.Errorf("block 0 of seed 0: %#08x, want the Random123 vector", got[:4])
		}
	}
}

// TestAVX2KnownAnswers runs the kernels' general Philox round on the three
// Random123 known-answer vectors (in one lane each, the other lanes on
// random counters checked against internal/philox).
func TestAVX2KnownAnswers(t *testing.T) {
	simdOrSkip(t)
	kat := philox.KnownAnswers()
	r := rand.New(rand.NewPCG(3, 4))
	for ki, v := range kat {
		for lane := 0; lane < 8; lane++ {
			var ctr [4][8]uint32
			var ctrs [8][4]uint32
			for l := range ctrs {
				if l == lane {
					ctrs[l] = v.Ctr
				} else {
					ctrs[l] = [4]uint32{r.Uint32(), r.Uint32(), r.Uint32(), r.Uint32()}
				}
				for i := range 4 {
					ctr[i][l] = ctrs[l][i]
				}
			}
			a := span{seed: uint64(v.Key[0]) | uint64(v.Key[1])<<32}
			var p avxParams
			p.init(&a, 0, 0)
			var out [2][4][4]uint64
			blocksAVX2(p.rows(), &ctr, &out)
			for l := range ctrs {
				want := philox.Block(ctrs[l], v.Key)
				if l == lane && want != v.Out {
					t.Fatalf("internal/philox fails vector %d", ki)
				}
				for i := range 4 {
					if got := uint32(out[l/4][i][l%4]); got != want[i] {
						t.Errorf("vector %d in lane %d: lane %d word %d = %#08x, want %#08x", ki, lane, l, i, got, want[i])
					}
				}
			}
		}
	}
}

// TestKernelsName checks the run-time choice: AVX2 where the CPU has it,
// portable on request.
func TestKernelsName(t *testing.T) {
	want := "portable"
	if xcpu.X86.HasAVX2 && xcpu.X86.HasBMI2 {
		want = "avx2"
	}
	if got := New(dropout.Options{}).Kernels(); got != want {
		t.Errorf("Kernels() = %q, want %q on this CPU", got, want)
	}
	if got := New(dropout.Options{Portable: true}).Kernels(); got != "portable" {
		t.Errorf("with Options.Portable, Kernels() = %q", got)
	}
}
