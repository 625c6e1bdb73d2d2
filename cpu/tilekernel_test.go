package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/internal/half"
	"github.com/gpudropout/dropout/internal/philox"
)

// tileKernelSets are the kernel sets whose tile kernels the tests check:
// the portable one, the machine's best SIMD set and, where that is wider,
// the AVX2 set (DROPOUT_CPU_KERNELS caps the choice).
func tileKernelSets(t *testing.T) []kernels {
	ks := []kernels{portable}
	if k, ok := simdKernels(); ok {
		ks = append(ks, k)
	}
	t.Setenv("DROPOUT_CPU_KERNELS", "avx2")
	if k, ok := simdKernels(); ok && k.name != ks[len(ks)-1].name {
		ks = append(ks, k)
	}
	for _, k := range ks {
		t.Log("kernel set", k.name)
	}
	return ks
}

// TestKernelSetsComplete: every kernel set fills every slot.
func TestKernelSetsComplete(t *testing.T) {
	for _, k := range tileKernelSets(t) {
		v := reflect.ValueOf(k)
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.Kind() == reflect.Func && f.IsNil() {
				t.Errorf("kernel set %s has no %s", k.name, v.Type().Field(i).Name)
			}
		}
	}
}

// tileSizes cross the 8, 32 and 64-element boundaries and a tile.
var tileSizes = []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 1000, tileLen - 1, tileLen}

const guard = 0x5c

// guarded returns a slice of n elements followed, in its backing array, by
// guard elements that a kernel must not touch.
func guarded[E any](n int, fill E) []E {
	s := make([]E, n+9)
	for i := range s {
		s[i] = fill
	}
	return s[:n]
}

func checkGuard[E comparable](t *testing.T, what string, s []E, fill E) {
	t.Helper()
	for i, v := range s[len(s):cap(s)] {
		if v != fill {
			t.Fatalf("%s: wrote past its end (element %d)", what, len(s)+i)
		}
	}
}

// TestKeepBits compares keepBits with the definition: bit i is set iff
// word g0+i is >= t, for starts near 2^64 and at every lane of a block.
func TestKeepBits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, k := range tileKernelSets(t) {
		for _, n := range tileSizes {
			for _, g0 := range []uint64{0, 1, 2, 3, 1<<64 - 1, 1<<64 - 6, 1<<64 - 33, r.Uint64()} {
				for _, p := range []float64{0, 0.3, 0.5, 1} {
					a := span{seed: r.Uint64(), g0: g0, t: dropout.Threshold(p)}
					bits := guarded[byte]((n+7)/8, guard)
					k.keepBits(bits, n, &a)
					what := fmt.Sprintf("%s keepBits n=%d g0=%#x p=%v", k.name, n, g0, p)
					checkGuard(t, what, bits, guard)
					for i := 0; i < 8*len(bits); i++ {
						want := byte(0)
						if i < n && uint64(philox.Word(a.seed, g0+uint64(i))) >= a.t {
							want = 1
						}
						if got := bits[i>>3] >> (i & 7) & 1; got != want {
							t.Fatalf("%s: bit %d = %d, want %d", what, i, got, want)
						}
					}
				}
			}
		}
	}
}

// randomBits returns a bit mask of n elements, padding bits set (the
// kernels must ignore them).
func randomBits(r *rand.Rand, n int) []byte {
	b := make([]byte, (n+7)/8)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func bit(bits []byte, i int) bool { return bits[i>>3]>>(i&7)&1 == 1 }

func randomFloats(r *rand.Rand, n int) []float64 {
	special := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1e-40, 1e-310, 6e-8, 65504, 1e39, 1, -1}
	v := make([]float64, n)
	for i := range v {
		v[i] = (r.Float64()*2 - 1) * math.Exp2(float64(r.IntN(30)-15))
		if r.IntN(8) == 0 {
			v[i] = special[r.IntN(len(special))]
		}
	}
	return v
}

func same32(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b }
func same64(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) || a != a && b != b }
func sameHalf(a, b uint16, bf bool) bool {
	nan := func(h uint16) bool {
		if bf {
			return h&0x7fff > 0x7f80
		}
		return h&0x7fff > 0x7c00
	}
	return a == b || nan(a) && nan(b)
}

// to16 returns the 16-bit bits of v's float32 value.
func to16(v []float64, bf bool) []uint16 {
	h := make([]uint16, len(v))
	for i, x := range v {
		h[i] = round16(float32(x), bf)
	}
	return h
}

// TestTileKernels compares every tile apply kernel with a per-element loop
// written from CONTRACT.md, in place and not, with output guards.
func TestTileKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, k := range tileKernelSets(t) {
		for _, n := range tileSizes {
			for _, inPlace := range []bool{false, true} {
				bits := randomBits(r, n)
				xs, rs := randomFloats(r, n), randomFloats(r, n)
				bl := 1 + r.IntN(40)
				bs := randomFloats(r, bl)
				b0 := r.IntN(bl)
				p := []float64{0, 0.2, 0.5, 0.9, 1}[r.IntN(5)]
				s32, s64 := dropout.Scale32(p), dropout.Scale64(p)
				A, B, D := dropout.AlphaCoefficients(p)
				A32, B32, D32 := float32(A), float32(B), float32(D)
				what := func(op string) string {
					return fmt.Sprintf("%s %s n=%d p=%v inplace=%v", k.name, op, n, p, inPlace)
				}
				// float32 and float64
				x32, r32, b32 := make([]float32, n), make([]float32, n), make([]float32, bl)
				for i := range xs {
					x32[i], r32[i] = float32(xs[i]), float32(rs[i])
				}
				for i := range bs {
					b32[i] = float32(bs[i])
				}
				run32 := func(op string, f func(y, x []float32), want func(i int) float32) {
					y := guarded[float32](n, 7)
					x := x32
					if inPlace {
						copy(y, x32)
						x = y
					}
					f(y, x)
					checkGuard(t, what(op), y, 7)
					for i := range y {
						if w := want(i); !same32(y[i], w) {
							t.Fatalf("%s: y[%d] = %v, want %v (x %v)", what(op), i, y[i], w, x32[i])
						}
					}
				}
				run32("alpha32", func(y, x []float32) { k.alpha32(y, x, bits, A32, B32, D32) }, func(i int) float32 {
					if bit(bits, i) {
						return float32(A32*x32[i]) + B32
					}
					return D32
				})
				for _, o := range []struct{ bias, res bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
					var bb, rr []float32
					if o.bias {
						bb = b32
					}
					if o.res {
						rr = r32
					}
					run32(fmt.Sprintf("fused32 %+v", o), func(y, x []float32) { k.fused32(y, x, rr, bb, b0, bits, s32) }, func(i int) float32 {
						t := x32[i]
						if bb != nil {
							t += bb[(b0+i)%bl]
						}
						var u float32
						if bit(bits, i) {
							u = float32(t * s32)
						}
						if rr != nil {
							u = rr[i] + u
						}
						return u
					})
				}
				x64 := xs
				run64 := func(op string, f func(y, x []float64), want func(i int) float64) {
					y := guarded[float64](n, 7)
					x := x64
					if inPlace {
						copy(y, x64)
						x = y
					}
					f(y, x)
					checkGuard(t, what(op), y, 7)
					for i := range y {
						if w := want(i); !same64(y[i], w) {
							t.Fatalf("%s: y[%d] = %v, want %v", what(op), i, y[i], w)
						}
					}
				}
				run64("alpha64", func(y, x []float64) { k.alpha64(y, x, bits, A, B, D) }, func(i int) float64 {
					if bit(bits, i) {
						return float64(A*x64[i]) + B
					}
					return D
				})
				run64("fused64", func(y, x []float64) { k.fused64(y, x, rs, bs, b0, bits, s64) }, func(i int) float64 {
					t := x64[i] + bs[(b0+i)%bl]
					var u float64
					if bit(bits, i) {
						u = float64(t * s64)
					}
					return rs[i] + u
				})
				// 16-bit
				for _, bf := range []bool{false, true} {
					x16, r16, b16 := to16(xs, bf), to16(rs, bf), to16(bs, bf)
					w := func(h uint16) float32 {
						if bf {
							return half.BFloat16ToFloat32(h)
						}
						return half.Float16ToFloat32(h)
					}
					n16 := func(f float32) uint16 {
						if bf {
							return half.Float32ToBFloat16(f)
						}
						return half.Float32ToFloat16(f)
					}
					run16 := func(op string, f func(y, x []uint16), want func(i int) uint16) {
						y := guarded[uint16](n, 0x1234)
						x := x16
						if inPlace {
							copy(y, x16)
							x = y
						}
						f(y, x)
						checkGuard(t, what(op), y, 0x1234)
						for i := range y {
							if wv := want(i); !sameHalf(y[i], wv, bf) {
								t.Fatalf("%s bf=%v: y[%d] = %#x, want %#x (x %#x)", what(op), bf, i, y[i], wv, x16[i])
							}
						}
					}
					run16("apply16", func(y, x []uint16) { k.apply16(y, x, bits, s32, bf) }, func(i int) uint16 {
						if bit(bits, i) {
							return n16(w(x16[i]) * s32)
						}
						return 0
					})
					run16("alpha16", func(y, x []uint16) { k.alpha16(y, x, bits, A32, B32, D32, bf) }, func(i int) uint16 {
						if bit(bits, i) {
							return n16(float32(A32*w(x16[i])) + B32)
						}
						return n16(D32)
					})
					for _, o := range []struct{ bias, res bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
						var bb, rr []uint16
						if o.bias {
							bb = b16
						}
						if o.res {
							rr = r16
						}
						run16(fmt.Sprintf("fused16 %+v", o), func(y, x []uint16) { k.fused16(y, x, rr, bb, b0, bits, s32, bf) }, func(i int) uint16 {
							t := x16[i]
							if bb != nil {
								t = n16(w(t) + w(bb[(b0+i)%bl]))
							}
							var u uint16
							if bit(bits, i) {
								u = n16(w(t) * s32)
							}
							if rr != nil {
								u = n16(w(rr[i]) + w(u))
							}
							return u
						})
					}
				}
			}
		}
	}
}

// TestBitRuns checks the bit-run helpers of the tile driver against
// per-bit loops.
func TestBitRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for it := 0; it < 2000; it++ {
		src := randomBits(r, 1+r.IntN(300))
		dst := make([]byte, 1+r.IntN(40))
		n := r.IntN(min(8*len(src), 8*len(dst)) + 1)
		spos, dpos := r.IntN(8*len(src)-n+1), r.IntN(8*len(dst)-n+1)
		want := append([]byte(nil), dst...)
		for i := 0; i < n; i++ {
			if bit(src, spos+i) {
				want[(dpos+i)>>3] |= 1 << ((dpos + i) & 7)
			}
		}
		got := append([]byte(nil), dst...)
		orBitRun(got, dpos, src, spos, n)
		if string(got) != string(want) {
			t.Fatalf("orBitRun(dpos %d, spos %d, n %d): %x, want %x", dpos, spos, n, got, want)
		}
		fill := make([]byte, len(dst))
		fillBitRun(fill, dpos, n)
		for i := 0; i < 8*len(fill); i++ {
			if bit(fill, i) != (i >= dpos && i < dpos+n) {
				t.Fatalf("fillBitRun(%d, %d): bit %d", dpos, n, i)
			}
		}
		m := make([]byte, r.IntN(100))
		for i := range m {
			m[i] = byte(r.IntN(3)) * byte(r.IntN(200))
		}
		bits := make([]byte, (len(m)+7)/8)
		for i := range bits {
			bits[i] = 0xff
		}
		packBits(bits, m)
		for i := 0; i < 8*len(bits); i++ {
			if bit(bits, i) != (i < len(m) && m[i] != 0) {
				t.Fatalf("packBits(%v): bit %d", m, i)
			}
		}
		back := make([]byte, len(m))
		unpackBits(back, bits)
		for i := range m {
			if back[i] != b2u8(m[i] != 0) {
				t.Fatalf("unpackBits: element %d", i)
			}
		}
	}
}
