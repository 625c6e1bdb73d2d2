package cpu_test

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
)

var benchSizes = []struct {
	name string
	n    int
}{{"small", 1 << 12}, {"medium", 1 << 20}, {"large", 1 << 26}}

// BenchmarkForward measures forward float32 dropout at p = 0.5 on the
// reference and fast backends; bytes are the 8 read+written per element
// (+1/8 or +1 for a stored mask).
func BenchmarkForward(b *testing.B) {
	for _, bk := range []struct {
		name string
		be   dropout.Backend
	}{
		{"reference", cpu.NewReference()},
		{"cpu", cpu.New(dropout.Options{})},
		{"portable", cpu.New(dropout.Options{Portable: true})},
	} {
		for _, f := range []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes} {
			for _, sz := range benchSizes {
				if bk.name == "reference" && f != dropout.MaskNone {
					continue // the oracle is slow by design; mask-free is enough
				}
				b.Run(fmt.Sprintf("%s/mask=%v/%s", bk.name, f, sz.name), func(b *testing.B) {
					x := make(dropout.Float32s, sz.n)
					for i := range x {
						x[i] = float32(i)
					}
					y := make(dropout.Float32s, sz.n)
					var mask dropout.Tensor
					if f != dropout.MaskNone {
						mask = make(dropout.Bytes, f.Bytes(sz.n))
					}
					p := dropout.Params{P: 0.5, Seed: 1, Mask: f}
					b.SetBytes(int64(8*sz.n + f.Bytes(sz.n)))
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						p.Offset = uint64(i * sz.n)
						if err := bk.be.Forward(y, x, mask, p); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(sz.n)*float64(b.N)/b.Elapsed().Seconds(), "elems/s")
				})
			}
		}
	}
}

// BenchmarkThreads measures what a second worker buys: forward
// float32, mask none, p = 0.5, on the SIMD and portable kernels with one and
// two threads.
func BenchmarkThreads(b *testing.B) {
	for _, k := range []struct {
		name     string
		portable bool
	}{{"cpu", false}, {"portable", true}} {
		for _, th := range []int{1, 2} {
			be := cpu.New(dropout.Options{Threads: th, Portable: k.portable})
			for _, sz := range benchSizes[1:] {
				b.Run(fmt.Sprintf("%s/threads=%d/%s", k.name, th, sz.name), func(b *testing.B) {
					benchForward(b, be, dropout.Float32, dropout.MaskNone, sz.n)
				})
			}
		}
	}
}

// BenchmarkDropout64 measures forward float64 dropout (16 bytes read and
// written per element, plus the mask).
func BenchmarkDropout64(b *testing.B) {
	for _, bk := range []struct {
		name string
		be   dropout.Backend
	}{
		{"cpu", cpu.New(dropout.Options{})},
		{"portable", cpu.New(dropout.Options{Portable: true})},
	} {
		for _, f := range []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes} {
			for _, sz := range benchSizes[1:] {
				b.Run(fmt.Sprintf("%s/mask=%v/%s", bk.name, f, sz.name), func(b *testing.B) {
					benchForward(b, bk.be, dropout.Float64, f, sz.n)
				})
			}
		}
	}
}

// BenchmarkBackward measures backward float32 dropout on the fast backend:
// regenerating the mask (none) and reading a stored one (bits, bytes).
func BenchmarkBackward(b *testing.B) {
	be := cpu.New(dropout.Options{})
	for _, f := range []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes} {
		for _, sz := range benchSizes[1:] {
			b.Run(fmt.Sprintf("cpu/mask=%v/%s", f, sz.name), func(b *testing.B) {
				x := make(dropout.Float32s, sz.n)
				for i := range x {
					x[i] = float32(i)
				}
				y := make(dropout.Float32s, sz.n)
				var mask dropout.Tensor
				if f != dropout.MaskNone {
					mask = make(dropout.Bytes, f.Bytes(sz.n))
				}
				p := dropout.Params{P: 0.5, Seed: 1, Mask: f}
				if err := be.Forward(y, x, mask, p); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(8*sz.n + f.Bytes(sz.n)))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := be.Backward(x, y, mask, p); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(sz.n)*float64(b.N)/b.Elapsed().Seconds(), "elems/s")
			})
		}
	}
}

// benchForward times forward dropout of n elements of type dt at p = 0.5.
func benchForward(b *testing.B, be dropout.Backend, dt dropout.DType, f dropout.MaskFormat, n int) {
	var x, y dropout.Tensor
	switch dt {
	case dropout.Float32:
		xs := make(dropout.Float32s, n)
		for i := range xs {
			xs[i] = float32(i)
		}
		x, y = xs, make(dropout.Float32s, n)
	case dropout.Float64:
		xs := make(dropout.Float64s, n)
		for i := range xs {
			xs[i] = float64(i)
		}
		x, y = xs, make(dropout.Float64s, n)
	}
	var mask dropout.Tensor
	if f != dropout.MaskNone {
		mask = make(dropout.Bytes, f.Bytes(n))
	}
	p := dropout.Params{P: 0.5, Seed: 1, Mask: f}
	b.SetBytes(int64(2*dt.Size()*n + f.Bytes(n)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Offset = uint64(i * n)
		if err := be.Forward(y, x, mask, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "elems/s")
}

// BenchmarkCopy measures the backend's own Copy (all its threads), the
// ceiling forward dropout is compared with: 2·size bytes per element.
func BenchmarkCopy(b *testing.B) {
	be := cpu.New(dropout.Options{})
	for _, dt := range []dropout.DType{dropout.Float32, dropout.Float16} {
		for _, sz := range benchSizes {
			b.Run(fmt.Sprintf("%v/%s", dt, sz.name), func(b *testing.B) {
				var x, y dropout.Tensor
				switch dt {
				case dropout.Float32:
					x, y = make(dropout.Float32s, sz.n), make(dropout.Float32s, sz.n)
				case dropout.Float16:
					x, y = make(dropout.Float16s, sz.n), make(dropout.Float16s, sz.n)
				}
				b.SetBytes(int64(2 * dt.Size() * sz.n))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := be.Copy(y, x); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(sz.n)*float64(b.N)/b.Elapsed().Seconds(), "elems/s")
			})
		}
	}
}

// BenchmarkRoofline times forward dropout at 2^26 elements against the
// backend's own Copy of a tensor of the same data type, alternating the two
// in every iteration so that both see the same machine load, and reports
// forward's bandwidth (bytes it must move, mask included) as a fraction of
// Copy's: the median over iterations of the paired ratios. The cases are
// float32 for each mask format, float16 and bfloat16 (4 bytes an element),
// and the fused op on float32 with bias and residual (12 bytes an element:
// read x and r, write y; the bias stays in cache). DROPOUT_CPU_KERNELS
// (avx512, avx2, portable) picks the kernel set.
func BenchmarkRoofline(b *testing.B) {
	const n, cols = 1 << 26, 1024
	be := cpu.New(dropout.Options{})
	x32, y32, r32 := make(dropout.Float32s, n), make(dropout.Float32s, n), make(dropout.Float32s, n)
	for i := range x32 {
		x32[i], r32[i] = float32(i), float32(-i)
	}
	bias := make(dropout.Float32s, cols)
	x16, y16 := make(dropout.Float16s, n), make(dropout.Float16s, n)
	for i := range x16 {
		x16[i] = uint16(i) & 0x7bff
	}
	type rcase struct {
		name  string
		x, y  dropout.Tensor // Copy's operands
		bytes int            // bytes forward must move
		fwd   func(p dropout.Params) error
	}
	var cases []rcase
	for _, f := range []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes} {
		var mask dropout.Tensor
		if f != dropout.MaskNone {
			mask = make(dropout.Bytes, f.Bytes(n))
		}
		cases = append(cases, rcase{fmt.Sprintf("float32/mask=%v", f), x32, y32, 8*n + f.Bytes(n), func(p dropout.Params) error {
			p.Mask = f
			return be.Forward(y32, x32, mask, p)
		}})
	}
	xb, yb := dropout.BFloat16s(x16), make(dropout.BFloat16s, n)
	cases = append(cases,
		rcase{"float16/mask=none", x16, y16, 4 * n, func(p dropout.Params) error { return be.Forward(y16, x16, nil, p) }},
		rcase{"bfloat16/mask=none", xb, yb, 4 * n, func(p dropout.Params) error { return be.Forward(yb, xb, nil, p) }},
		rcase{"fused32/mask=none", x32, y32, 12 * n, func(p dropout.Params) error {
			p.Shape = []int{n / cols, cols}
			return dropout.ForwardFused(be, y32, x32, bias, r32, nil, p)
		}},
	)
	for _, c := range cases {
		b.Run(be.Kernels()+"/"+c.name, func(b *testing.B) {
			copyBytes := float64(2 * c.x.DType().Size() * n)
			p := dropout.Params{P: 0.5, Seed: 1}
			var fracs []float64
			var fwd time.Duration
			b.SetBytes(int64(c.bytes))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if err := be.Copy(c.y, c.x); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				p.Offset = uint64(i * n)
				if err := c.fwd(p); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				fwd += t2.Sub(t1)
				fracs = append(fracs, float64(c.bytes)/copyBytes*float64(t1.Sub(t0))/float64(t2.Sub(t1)))
			}
			sort.Float64s(fracs)
			b.ReportMetric(fracs[len(fracs)/2], "frac-of-copy")
			b.ReportMetric(float64(n)*float64(b.N)/fwd.Seconds(), "fwd-elems/s")
			b.ReportMetric(float64(c.bytes)*float64(b.N)/fwd.Seconds()/1e9, "fwd-GB/s")
		})
	}
}

// BenchmarkFused compares the fused bias + dropout + residual op on
// float32 (bias of 1024, residual, no mask) with the three passes it
// replaces: a bias add, Forward, and a residual add (the adds in Go on the
// backend's thread count). Bytes are the fused op's 12 an element.
func BenchmarkFused(b *testing.B) {
	const cols = 1024
	be := cpu.New(dropout.Options{})
	threads := runtime.GOMAXPROCS(0)
	for _, sz := range benchSizes {
		n := sz.n
		x, r, y, t := make(dropout.Float32s, n), make(dropout.Float32s, n), make(dropout.Float32s, n), make(dropout.Float32s, n)
		for i := range x {
			x[i], r[i] = float32(i), float32(-i)
		}
		bias := make(dropout.Float32s, cols)
		p := dropout.Params{P: 0.5, Seed: 1, Shape: []int{n / cols, cols}}
		b.Run("fused/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(12 * n))
			for i := 0; i < b.N; i++ {
				p.Offset = uint64(i * n)
				if err := dropout.ForwardFused(be, y, x, bias, r, nil, p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "elems/s")
		})
		b.Run("three-passes/"+sz.name, func(b *testing.B) {
			b.SetBytes(int64(12 * n))
			for i := 0; i < b.N; i++ {
				inParallel(n, threads, func(lo, hi int) {
					for j := lo; j < hi; j++ {
						t[j] = x[j] + bias[j%cols]
					}
				})
				p.Offset = uint64(i * n)
				if err := be.Forward(y, t, nil, dropout.Params{P: p.P, Seed: p.Seed, Offset: p.Offset}); err != nil {
					b.Fatal(err)
				}
				inParallel(n, threads, func(lo, hi int) {
					for j := lo; j < hi; j++ {
						y[j] = r[j] + y[j]
					}
				})
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "elems/s")
		})
	}
}

// inParallel runs f over [0, n) in w spans on w goroutines.
func inParallel(n, w int, f func(lo, hi int)) {
	var wg sync.WaitGroup
	per := (n + w - 1) / w
	for lo := 0; lo < n; lo += per {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, min(lo+per, n))
	}
	wg.Wait()
}

// BenchmarkForward16 measures forward float16 and bfloat16 dropout at p =
// 0.5 (4 bytes read and written per element, plus the mask).
func BenchmarkForward16(b *testing.B) {
	be := cpu.New(dropout.Options{})
	for _, dt := range []dropout.DType{dropout.Float16, dropout.BFloat16} {
		for _, f := range []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes} {
			for _, sz := range benchSizes {
				b.Run(fmt.Sprintf("%v/mask=%v/%s", dt, f, sz.name), func(b *testing.B) {
					var x, y dropout.Tensor = make(dropout.Float16s, sz.n), make(dropout.Float16s, sz.n)
					if dt == dropout.BFloat16 {
						x, y = make(dropout.BFloat16s, sz.n), make(dropout.BFloat16s, sz.n)
					}
					var mask dropout.Tensor
					if f != dropout.MaskNone {
						mask = make(dropout.Bytes, f.Bytes(sz.n))
					}
					p := dropout.Params{P: 0.5, Seed: 1, Mask: f}
					b.SetBytes(int64(4*sz.n + f.Bytes(sz.n)))
					for i := 0; i < b.N; i++ {
						p.Offset = uint64(i * sz.n)
						if err := be.Forward(y, x, mask, p); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(sz.n)*float64(b.N)/b.Elapsed().Seconds(), "elems/s")
				})
			}
		}
	}
}
