//go:build cgo && !noopencl

package opencl

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
)

// The benchmarks run on the device DROPOUT_OPENCL_DEVICE names (Options.Device;
// default the first, GPUs before CPUs) over float32 tensors of 2^k elements
// for each k in DROPOUT_BENCH_LOG2 (default 20,24,26). SetBytes counts 4
// bytes read and 4 written per element for both dropout and Copy, so the
// MB/s columns compare directly: dropout's MB/s over Copy's is the fraction
// of the device's own copy bandwidth. elem/s is elements per second.
//
//	go test -run '^$' -bench 'Forward|Copy' -benchtime 10x ./gpu/opencl/

func benchSizes(b *testing.B) []int {
	s := os.Getenv("DROPOUT_BENCH_LOG2")
	if s == "" {
		s = "20,24,26"
	}
	var ks []int
	for _, f := range strings.Split(s, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 0 || k > 34 {
			b.Fatalf("DROPOUT_BENCH_LOG2=%q: want a list of exponents such as 20,24,26", s)
		}
		ks = append(ks, k)
	}
	return ks
}

func benchBackend(b *testing.B) *Backend {
	be := openDevice(b, dropout.Options{Device: os.Getenv("DROPOUT_OPENCL_DEVICE")})
	b.Logf("device: %s [%s]", be.Device().Name, be.Device().Platform)
	return be
}

func reportElems(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "elem/s")
}

func deviceBuffers(b *testing.B, be *Backend, n int) (x, y dropout.Buffer) {
	x, err := be.Alloc(dropout.Float32, n)
	if err != nil {
		b.Skipf("Alloc(%d): %v", n, err)
	}
	b.Cleanup(func() { x.Release() })
	y, err = be.Alloc(dropout.Float32, n)
	if err != nil {
		b.Skipf("Alloc(%d): %v", n, err)
	}
	b.Cleanup(func() { y.Release() })
	h := make(dropout.Float32s, n)
	for i := range h {
		h[i] = float32(i%1000) - 500
	}
	if err := x.Write(h); err != nil {
		b.Fatal(err)
	}
	return x, y
}

// BenchmarkForward measures forward dropout, p = 0.5 and no mask, on
// device-resident buffers (no host transfer) and on host slices (copied to
// the device and back in every call).
func BenchmarkForward(b *testing.B) {
	be := benchBackend(b)
	for _, k := range benchSizes(b) {
		n := 1 << k
		b.Run(fmt.Sprintf("device/n=2^%d", k), func(b *testing.B) {
			x, y := deviceBuffers(b, be, n)
			g := dropout.NewGenerator(1)
			b.SetBytes(8 * int64(n))
			b.ResetTimer()
			for range b.N {
				if _, err := g.Forward(be, y, x, nil, dropout.Params{P: 0.5}); err != nil {
					b.Fatal(err)
				}
			}
			reportElems(b, n)
		})
		b.Run(fmt.Sprintf("host/n=2^%d", k), func(b *testing.B) {
			x, y := make(dropout.Float32s, n), make(dropout.Float32s, n)
			g := dropout.NewGenerator(1)
			b.SetBytes(8 * int64(n))
			b.ResetTimer()
			for range b.N {
				if _, err := g.Forward(be, y, x, nil, dropout.Params{P: 0.5}); err != nil {
					b.Fatal(err)
				}
			}
			reportElems(b, n)
		})
	}
}

// BenchmarkCopy measures the device's plain buffer copy
// (clEnqueueCopyBuffer), the ceiling dropout's bandwidth is compared with.
func BenchmarkCopy(b *testing.B) {
	be := benchBackend(b)
	for _, k := range benchSizes(b) {
		n := 1 << k
		b.Run(fmt.Sprintf("device/n=2^%d", k), func(b *testing.B) {
			x, y := deviceBuffers(b, be, n)
			b.SetBytes(8 * int64(n))
			b.ResetTimer()
			for range b.N {
				if err := be.Copy(y, x); err != nil {
					b.Fatal(err)
				}
			}
			reportElems(b, n)
		})
	}
}
