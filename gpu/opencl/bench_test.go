//go:build cgo && !noopencl

package opencl

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/kernels"
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

// benchBackend opens the benchmarks' device; DROPOUT_OPENCL_GRID=1 forces
// grid-stride launches (the GPU form) and =0 flat ones, to compare them.
func benchBackend(b *testing.B) *Backend {
	cfg := config{src: kernels.OpenCL}
	switch os.Getenv("DROPOUT_OPENCL_GRID") {
	case "1":
		cfg.grid = true
	case "0":
		cfg.flat = true
	}
	be := openWith(b, dropout.Options{Device: os.Getenv("DROPOUT_OPENCL_DEVICE")}, cfg)
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

// maskBuffer returns a device mask of format f for n elements, nil for
// MaskNone.
func maskBuffer(b *testing.B, be *Backend, f dropout.MaskFormat, n int) dropout.Tensor {
	if f == dropout.MaskNone {
		return nil
	}
	m, err := be.Alloc(dropout.Uint8, f.Bytes(n))
	if err != nil {
		b.Skipf("Alloc(%d): %v", f.Bytes(n), err)
	}
	b.Cleanup(func() { m.Release() })
	return m
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

// BenchmarkMasks measures forward dropout, p = 0.5, on device-resident
// float32 buffers for each mask format, at the sizes of DROPOUT_BENCH_LOG2
// (bytes counted as in BenchmarkForward: 8 per element).
//
//	DROPOUT_BENCH_LOG2=24 go test -run '^$' -bench Masks -benchtime 20x ./gpu/opencl/
func BenchmarkMasks(b *testing.B) {
	be := benchBackend(b)
	for _, k := range benchSizes(b) {
		n := 1 << k
		for _, f := range dropout.AllMaskFormats() {
			b.Run(fmt.Sprintf("%v/n=2^%d", f, k), func(b *testing.B) {
				x, y := deviceBuffers(b, be, n)
				m := maskBuffer(b, be, f, n)
				g := dropout.NewGenerator(1)
				b.SetBytes(8 * int64(n))
				if _, err := g.Forward(be, y, x, m, dropout.Params{P: 0.5, Mask: f}); err != nil { // builds the kernel
					b.Fatal(err)
				}
				b.ResetTimer()
				for range b.N {
					if _, err := g.Forward(be, y, x, m, dropout.Params{P: 0.5, Mask: f}); err != nil {
						b.Fatal(err)
					}
				}
				reportElems(b, n)
			})
		}
	}
}

// BenchmarkSmall measures synchronous forward calls of 4096 float32
// elements on device buffers, for each mask format: the per-call overhead
// (calls/s, and cpu-us/call, the process's CPU time per call, PoCL's
// threads included, which a loaded machine disturbs less than wall time).
//
//	go test -run '^$' -bench Small -benchtime 2s ./gpu/opencl/
func BenchmarkSmall(b *testing.B) {
	be := benchBackend(b)
	const n = 4096
	for _, f := range dropout.AllMaskFormats() {
		b.Run(fmt.Sprintf("%v", f), func(b *testing.B) {
			x, y := deviceBuffers(b, be, n)
			m := maskBuffer(b, be, f, n)
			g := dropout.NewGenerator(1)
			if _, err := g.Forward(be, y, x, m, dropout.Params{P: 0.5, Mask: f}); err != nil { // builds the kernel (PoCL compiles lazily)
				b.Fatal(err)
			}
			b.ResetTimer()
			t0 := cpuTime()
			for range b.N {
				if _, err := g.Forward(be, y, x, m, dropout.Params{P: 0.5, Mask: f}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
			b.ReportMetric((cpuTime()-t0)/float64(b.N)*1e6, "cpu-us/call")
		})
	}
}

// BenchmarkEmptyKernel measures the floor of a synchronous call: an empty
// kernel of one work-group launched and waited for through the executor
// (a queue taken and returned, one enqueue, clFinish), in calls/s.
//
//	go test -run '^$' -bench EmptyKernel -benchtime 2s ./gpu/opencl/
func BenchmarkEmptyKernel(b *testing.B) {
	be := benchBackend(b)
	var t0 float64
	for i := -1; i < b.N; i++ { // i = -1 builds the kernel (PoCL compiles lazily)
		if i == 0 {
			b.ResetTimer()
			t0 = cpuTime()
		}
		err := exec.Do(be.Backend, func(q exec.Queue) error {
			cq := q.(*clQueue)
			return cq.launch(cq.k.empty, 1, u32Arg(0))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	b.ReportMetric((cpuTime()-t0)/float64(b.N)*1e6, "cpu-us/call")
}

// BenchmarkPipeline measures 1,000 forward calls of 4096 float32
// elements on device buffers: Sync, each call waited for (Forward), and
// Async, each enqueued with ForwardAsync without a wait, its event released
// at once but the last one's, which is waited for once at the end. calls/s
// is the rate of the calls (compare Async's with Sync's); enqueue-us/call
// is the host's time per asynchronous call, the wait left out, and
// cpu-us/call the process's CPU time per call, PoCL's threads included.
//
//	go test -run '^$' -bench Pipeline -count 5 ./gpu/opencl/
func BenchmarkPipeline(b *testing.B) {
	be := benchBackend(b)
	const n, calls = 4096, 1000
	x, y := deviceBuffers(b, be, n)
	p := dropout.Params{P: 0.5, Seed: 1}
	if err := be.Forward(y, x, nil, p); err != nil { // builds the kernel (PoCL compiles lazily)
		b.Fatal(err)
	}
	b.Run("Sync", func(b *testing.B) {
		t0 := cpuTime()
		for range b.N {
			for range calls {
				if err := be.Forward(y, x, nil, p); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(calls*b.N)/b.Elapsed().Seconds(), "calls/s")
		b.ReportMetric((cpuTime()-t0)/float64(calls*b.N)*1e6, "cpu-us/call")
	})
	b.Run("Async", func(b *testing.B) {
		var enq time.Duration // the host's time to enqueue, without the wait
		c0 := cpuTime()
		for range b.N {
			t0 := time.Now()
			var last *cl.Event
			for range calls {
				ev, err := be.ForwardAsync(y, x, nil, p)
				if err != nil {
					b.Fatal(err)
				}
				if last != nil {
					last.Release()
				}
				last = ev
			}
			enq += time.Since(t0)
			if err := cl.WaitForEvents([]*cl.Event{last}); err != nil {
				b.Fatal(err)
			}
			last.Release()
		}
		b.ReportMetric(float64(calls*b.N)/b.Elapsed().Seconds(), "calls/s")
		b.ReportMetric(enq.Seconds()/float64(calls*b.N)*1e6, "enqueue-us/call")
		b.ReportMetric((cpuTime()-c0)/float64(calls*b.N)*1e6, "cpu-us/call")
	})
}

// cpuTime returns the process's CPU time (user and system, all threads,
// PoCL's workers included) in seconds: on a shared machine a steadier
// measure of a call's cost than wall time.
func cpuTime() float64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return float64(u.Utime.Nano()+u.Stime.Nano()) / 1e9
}

// BenchmarkStaged measures forward on 2^26 float32 host tensors that are
// staged (they start one element into their allocation, so they are not
// used in place on PoCL) in the executor's default 64 MiB chunks: Overlap
// alternates two queues (the host stages chunk k+1 while the device runs
// chunk k), OneQueue waits after each chunk; Device is the same call on
// device buffers, the rate the host round trips are compared with.
//
//	go test -run '^$' -bench Staged -count 5 ./gpu/opencl/
func BenchmarkStaged(b *testing.B) {
	const n = 1 << 26
	x := dropouttest.Data(dropout.Float32, n+1, 1).(dropout.Float32s)[1:]
	y := make(dropout.Float32s, n+1)[1:]
	p := dropout.Params{P: 0.5, Seed: 1}
	for _, c := range []struct {
		name    string
		overlap bool
	}{{"Overlap", true}, {"OneQueue", false}} {
		b.Run(c.name, func(b *testing.B) {
			cfg := config{src: kernels.OpenCL, tune: func(i *exec.Info) { i.Overlap = c.overlap }}
			be := openWith(b, dropout.Options{Device: os.Getenv("DROPOUT_OPENCL_DEVICE")}, cfg)
			b.SetBytes(8 * n)
			for range b.N {
				if err := be.Forward(y, x, nil, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("Device", func(b *testing.B) {
		be := benchBackend(b)
		dx, dy := deviceBuffers(b, be, n)
		b.SetBytes(8 * n)
		for range b.N {
			if err := be.Forward(dy, dx, nil, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
