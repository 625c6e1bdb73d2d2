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
