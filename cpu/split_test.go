package cpu

import (
	"fmt"
	"testing"

	"github.com/gpudropout/dropout"
)

// BenchmarkSplit measures where splitting a call over two workers starts to
// pay: forward float32, mask none, p = 0.5, one worker against two (whatever
// minSpan says), on both kernel sets.
func BenchmarkSplit(b *testing.B) {
	for _, k := range []kernels{best(), portable} {
		for sh := 12; sh <= 22; sh += 2 {
			n := 1 << sh
			for _, th := range []int{1, 2} {
				c := &CPU{threads: th, k: k, minSpan: 1}
				b.Run(fmt.Sprintf("%s/n=2^%d/threads=%d", k.name, sh, th), func(b *testing.B) {
					x := make(dropout.Float32s, n)
					for i := range x {
						x[i] = float32(i)
					}
					y := make(dropout.Float32s, n)
					p := dropout.Params{P: 0.5, Seed: 1}
					b.SetBytes(int64(8 * n))
					for i := 0; i < b.N; i++ {
						p.Offset = uint64(i * n)
						if err := c.Forward(y, x, nil, p); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "elems/s")
				})
			}
		}
	}
}
