//go:build cgo && !novulkan

package vulkan

import (
	"fmt"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
)

// benchSizes are the float32 element counts of the benchmarks.
var benchSizes = []int{1 << 20, 1 << 24, 1 << 26}

// openBench opens the best device (a GPU where there is one; lavapipe
// otherwise), without validation.
func openBench(b *testing.B) *Backend {
	be, err := Open(dropout.Options{})
	dropouttest.Require(b, "Vulkan device", err)
	b.Cleanup(func() { be.Close() })
	return be
}

// report sets the bytes per op (4 read + 4 written per float32 element,
// the traffic of both dropout with mask none and a copy) and elements/s.
func report(b *testing.B, n int) {
	b.SetBytes(8 * int64(n))
}

func reportElems(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "elem/s")
}

// BenchmarkForward measures forward float32 dropout, mask none, on
// device-resident buffers and with host slices (staging both ways).
func BenchmarkForward(b *testing.B) {
	be := openBench(b)
	b.Logf("device: %s (%s)", be.Device().Name, be.Device().Platform)
	for _, n := range benchSizes {
		p := dropout.Params{P: 0.1, Seed: 1}
		b.Run(fmt.Sprintf("device/n=%d", n), func(b *testing.B) {
			x, y := benchBuffer(b, be, n), benchBuffer(b, be, n)
			report(b, n)
			for b.Loop() {
				if err := be.Forward(y, x, nil, p); err != nil {
					b.Fatal(err)
				}
			}
			reportElems(b, n)
		})
		b.Run(fmt.Sprintf("host/n=%d", n), func(b *testing.B) {
			x, y := make(dropout.Float32s, n), make(dropout.Float32s, n)
			report(b, n)
			for b.Loop() {
				if err := be.Forward(y, x, nil, p); err != nil {
					b.Fatal(err)
				}
			}
			reportElems(b, n)
		})
	}
}

// BenchmarkCopy measures the device's own buffer copy (vkCmdCopyBuffer),
// the bandwidth ceiling dropout is compared with, and the host round trip.
func BenchmarkCopy(b *testing.B) {
	be := openBench(b)
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("device/n=%d", n), func(b *testing.B) {
			x, y := benchBuffer(b, be, n), benchBuffer(b, be, n)
			report(b, n)
			for b.Loop() {
				if err := be.Copy(y, x); err != nil {
					b.Fatal(err)
				}
			}
			reportElems(b, n)
		})
		b.Run(fmt.Sprintf("host/n=%d", n), func(b *testing.B) {
			x, y := make(dropout.Float32s, n), make(dropout.Float32s, n)
			report(b, n)
			for b.Loop() {
				if err := be.Copy(y, x); err != nil {
					b.Fatal(err)
				}
			}
			reportElems(b, n)
		})
	}
}

func benchBuffer(b *testing.B, be *Backend, n int) dropout.Buffer {
	buf, err := be.Alloc(dropout.Float32, n)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { buf.Release() })
	return buf
}
