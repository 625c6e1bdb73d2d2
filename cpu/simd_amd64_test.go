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

// TestKernelsName checks the run-time choice: AVX-512, else AVX2 where the
// CPU has them, capped by DROPOUT_CPU_KERNELS, portable on request.
func TestKernelsName(t *testing.T) {
	want := "portable"
	switch {
	case hasAVX512():
		want = "avx512"
	case xcpu.X86.HasAVX2 && xcpu.X86.HasBMI2:
		want = "avx2"
	}
	t.Setenv("DROPOUT_CPU_KERNELS", "")
	if got := New(dropout.Options{}).Kernels(); got != want {
		t.Errorf("Kernels() = %q, want %q on this CPU", got, want)
	}
	if got := New(dropout.Options{Portable: true}).Kernels(); got != "portable" {
		t.Errorf("with Options.Portable, Kernels() = %q", got)
	}
	t.Setenv("DROPOUT_CPU_KERNELS", "portable")
	if got := New(dropout.Options{}).Kernels(); got != "portable" {
		t.Errorf("with DROPOUT_CPU_KERNELS=portable, Kernels() = %q", got)
	}
	if want != "portable" {
		t.Setenv("DROPOUT_CPU_KERNELS", "avx2")
		if got := New(dropout.Options{}).Kernels(); got != "avx2" {
			t.Errorf("with DROPOUT_CPU_KERNELS=avx2, Kernels() = %q", got)
		}
	}
}

// simdSets returns every SIMD kernel set this machine runs, whatever
// DROPOUT_CPU_KERNELS says.
func simdSets(t testing.TB) []kernels {
	var sets []kernels
	if xcpu.X86.HasAVX2 && xcpu.X86.HasBMI2 {
		sets = append(sets, avx2)
	}
	if hasAVX512() {
		sets = append(sets, avx512)
	}
	if len(sets) == 0 {
		t.Skip("no SIMD kernels on this machine")
	}
	return sets
}

// TestSIMDSetsVsPortable compares every SIMD set of the machine (not only
// the one New picks) with the portable kernels on lengths around both
// group sizes (32 and 192), every phase of the first word in its block, and
// counters across the end of the stream.
func TestSIMDSetsVsPortable(t *testing.T) {
	lengths := []int{0, 3, 31, 35, 63, 64, 67, 68, 127, 129, 130, 131, 195, 200, 255, 387, 390, 1027}
	starts := []uint64{0, 1, 2, 3, 1<<34 - 33, math.MaxUint64 - 2, math.MaxUint64 - 70}
	ps := []float64{0, 1, 0.5, 0x1p-32, 1 - 0x1p-32, 0.3333}
	for _, k := range simdSets(t) {
		if compareSIMDGrid(t, k, lengths, starts, ps); t.Failed() {
			return
		}
	}
}

// FuzzSIMDSetsVsPortable is FuzzSIMDvsPortable on every SIMD set.
func FuzzSIMDSetsVsPortable(f *testing.F) {
	f.Add(uint16(1000), uint64(0), uint64(1), 0.5, uint8(0), false)
	f.Add(uint16(1001), uint64(3), uint64(42), 0.5, uint8(1), false)
	f.Add(uint16(129), uint64(2), uint64(7), 0.25, uint8(2), true)
	f.Add(uint16(386), uint64(1), uint64(6), 0.5, uint8(1), false) // head 3, an AVX-512 group, 5 AVX2 groups, tail 31
	f.Add(uint16(4096), uint64(1<<34-7), uint64(0xDEADBEEF), 0.1, uint8(1), true)
	f.Fuzz(func(t *testing.T, n uint16, g0, seed uint64, p float64, mask uint8, f64 bool) {
		if !(p >= 0 && p <= 1) {
			p = 0.5
		}
		for _, k := range simdSets(t) {
			compareSIMD(t, k, simdCase{n: int(n), g0: g0, seed: seed, p: p,
				mask: dropout.MaskFormat(mask % 3), f64: f64, inPlac: seed&1 != 0, nt: seed&2 != 0, skew: uint8(seed >> 2 & 3)})
		}
	})
}
