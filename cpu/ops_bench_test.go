package cpu_test

import (
	"fmt"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
)

// BenchmarkOps times the tile-driver operations at 2^22 elements on each
// kernel set: 16-bit data, alpha dropout, the fused op (bias and residual,
// and the three separate passes it replaces), a region whose mask is not
// one run of the stream, and a noise-shape broadcast.
func BenchmarkOps(b *testing.B) {
	const n, cols = 1 << 22, 1024
	for _, portable := range []bool{true, false} {
		be := cpu.New(dropout.Options{Portable: portable})
		x32, y32, r32 := make(dropout.Float32s, n), make(dropout.Float32s, n), make(dropout.Float32s, n)
		for i := range x32 {
			x32[i], r32[i] = float32(i), float32(-i)
		}
		bias := make(dropout.Float32s, cols)
		x16, y16 := make(dropout.Float16s, n), make(dropout.Float16s, n)
		shape := []int{n / cols, cols}
		p := dropout.Params{P: 0.5, Seed: 1}
		for _, c := range []struct {
			name string
			f    func() error
		}{
			{"float16", func() error { return be.Forward(y16, x16, nil, p) }},
			{"bfloat16", func() error { return be.Forward(dropout.BFloat16s(y16), dropout.BFloat16s(x16), nil, p) }},
			{"alpha32", func() error { q := p; q.Alpha = true; return be.Forward(y32, x32, nil, q) }},
			{"fused32", func() error {
				q := p
				q.Shape = shape
				return dropout.ForwardFused(be, y32, x32, bias, r32, nil, q)
			}},
			{"separate32", func() error { // bias add, dropout, residual add: three passes
				q := p
				q.Shape = shape
				if err := dropout.ForwardFused(be, y32, x32, bias, nil, nil, dropout.Params{Shape: shape}); err != nil {
					return err
				}
				if err := be.Forward(y32, y32, nil, q); err != nil {
					return err
				}
				return dropout.ForwardFused(be, y32, y32, nil, r32, nil, dropout.Params{})
			}},
			{"region32", func() error {
				q := p
				q.Global, q.Start, q.Shape = []int{n / cols, 2 * cols}, []int{0, 7}, shape
				return be.Forward(y32, x32, nil, q)
			}},
			{"broadcast32", func() error {
				q := p
				q.Shape, q.NoiseShape = shape, []int{n / cols, 1}
				return be.Forward(y32, x32, nil, q)
			}},
			{"plain32", func() error { return be.Forward(y32, x32, nil, p) }},
		} {
			b.Run(fmt.Sprintf("%s/%s", be.Kernels(), c.name), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if err := c.f(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
			})
		}
	}
}
