package cpu_test

import (
	"fmt"
	"testing"

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
