//go:build !purego

package cpu

import (
	"fmt"
	"runtime"
	"sort"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gpudropout/dropout"
)

// threadCPU returns the CPU time the calling OS thread has used
// (CLOCK_THREAD_CPUTIME_ID): on a machine shared with other work, kernel
// throughput measured in it does not count the time the thread waited for
// a core.
func threadCPU(t testing.TB) time.Duration {
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3 /* CLOCK_THREAD_CPUTIME_ID */, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		t.Fatal(e)
	}
	return time.Duration(ts.Nano())
}

// benchCPU runs f b.N times on a locked thread and reports the thread's CPU
// time per element (n per call) besides the wall time.
func benchCPU(b *testing.B, n, bytesPerElem int, f func(i int)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(int64(n * bytesPerElem))
	b.ResetTimer()
	c0 := threadCPU(b)
	for i := 0; i < b.N; i++ {
		f(i)
	}
	c := threadCPU(b) - c0
	b.ReportMetric(float64(c.Nanoseconds())/float64(n)/float64(b.N), "cpu-ns/elem")
	b.ReportMetric(float64(n)*float64(b.N)/c.Seconds()/1e9, "cpu-Gelem/s")
}

// BenchmarkKernelSets times the forward float32 kernels of each set on one
// thread over 2^14 elements (cache-resident: the Philox cost, not the
// memory's), in thread CPU time.
func BenchmarkKernelSets(b *testing.B) {
	const n = 1 << 14
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(i)
	}
	bits, bytes := make([]byte, n/8), make([]byte, n)
	for _, k := range append([]kernels{portable}, simdSets(b)...) {
		for _, m := range []struct {
			name        string
			bits, bytes []byte
		}{{"none", nil, nil}, {"bits", bits, nil}, {"bytes", nil, bytes}} {
			b.Run(k.name+"/mask="+m.name, func(b *testing.B) {
				a := span{seed: 1, t: 1 << 31, s32: 2}
				benchCPU(b, n, 8, func(i int) {
					a.g0 = uint64(i) * n
					k.fwd32(y, x, m.bits, m.bytes, &a)
				})
			})
		}
	}
}

// BenchmarkTileKernels times the tile kernels of each set on one thread
// over one cache-resident tile (tileLen elements), in thread CPU time:
// keepBits, apply16 on float16 and bfloat16, and fused32 with bias and
// residual.
func BenchmarkTileKernels(b *testing.B) {
	const n = tileLen
	bits := make([]byte, n/8)
	for i := range bits {
		bits[i] = byte(i * 37)
	}
	x16, y16 := make([]uint16, n), make([]uint16, n)
	for i := range x16 {
		x16[i] = uint16(i * 7)
	}
	x, r, y, bias := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, 1024)
	for _, k := range append([]kernels{portable}, simdSets(b)...) {
		a := span{seed: 1, t: 1 << 31}
		for _, c := range []struct {
			name string
			f    func()
		}{
			{"keepBits", func() { k.keepBits(bits, n, &a) }},
			{"apply16/float16", func() { k.apply16(y16, x16, bits, 2, false) }},
			{"apply16/bfloat16", func() { k.apply16(y16, x16, bits, 2, true) }},
			{"fused32", func() { k.fused32(y, x, r, bias, 5, bits, 2) }},
		} {
			b.Run(k.name+"/"+c.name, func(b *testing.B) { benchCPU(b, n, 0, func(int) { c.f() }) })
		}
	}
}

// BenchmarkRooflineThread is BenchmarkRoofline on one thread, in thread CPU
// time, for each kernel set: Go's copy and forward float32 (p = 0.5, with
// non-temporal stores where the backend uses them at this size) over 2^26
// elements, alternated. The metric is forward's bandwidth (mask included)
// over copy's, the median of the paired ratios: how close one core's
// kernel comes to one core's copy, whatever else the machine runs.
func BenchmarkRooflineThread(b *testing.B) {
	const n = 1 << 26
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(i)
	}
	for _, k := range append([]kernels{portable}, simdSets(b)...) {
		for _, m := range []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes} {
			b.Run(fmt.Sprintf("%s/mask=%v", k.name, m), func(b *testing.B) {
				var bits, bytes []byte
				switch m {
				case dropout.MaskBits:
					bits = make([]byte, n/8)
				case dropout.MaskBytes:
					bytes = make([]byte, n)
				}
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				var fracs []float64
				var fwd time.Duration
				for i := 0; i < b.N; i++ {
					c0 := threadCPU(b)
					copy(y, x)
					c1 := threadCPU(b)
					a := span{seed: 1, g0: uint64(i) * n, t: 1 << 31, s32: 2, nt: true}
					k.fwd32(y, x, bits, bytes, &a)
					c2 := threadCPU(b)
					fwd += c2 - c1
					fracs = append(fracs, float64(8*n+m.Bytes(n))/float64(8*n)*float64(c1-c0)/float64(c2-c1))
				}
				sort.Float64s(fracs)
				b.ReportMetric(fracs[len(fracs)/2], "frac-of-copy")
				b.ReportMetric(float64(n)*float64(b.N)/fwd.Seconds()/1e9, "cpu-Gelem/s")
			})
		}
	}
}
