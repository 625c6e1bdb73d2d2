//go:build cgo && !novulkan && unix

package vulkan

import (
	"fmt"
	"syscall"
	"testing"

	vk "github.com/vulkan-go/vulkan"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
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
	return benchBufferOf(b, be, dropout.Float32, n)
}

func benchBufferOf(b *testing.B, be *Backend, dt dropout.DType, n int) dropout.Buffer {
	buf, err := be.Alloc(dt, n)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { buf.Release() })
	return buf
}

// BenchmarkMaskFormats measures forward float32 dropout on device-resident
// buffers for each mask format (the mask a device buffer too): the
// throughput at 2^24 elements and the per-call rate of small (4096-element)
// synchronous calls, where submission overhead dominates.
func BenchmarkMaskFormats(b *testing.B) {
	be := openBench(b)
	for _, n := range []int{4096, 1 << 24} {
		for _, f := range []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes} {
			b.Run(fmt.Sprintf("%v/n=%d", f, n), func(b *testing.B) { benchForward(b, be, n, f) })
		}
	}
}

// BenchmarkBitsLayout measures forward float32 dropout writing a bit mask
// (device buffers, 2^24 elements) with the device's own kernel layout and
// with a GPU's forced (config.layout): on lavapipe, whether the GPU's
// (one quad per invocation, mask words from 8 invocations' nibbles) would
// pay there too.
func BenchmarkBitsLayout(b *testing.B) {
	for _, l := range []struct {
		name string
		knob layoutKnob
	}{{"device", layoutDevice}, {"GPUSubgroup", layoutGPU}, {"GPUShared", layoutShared}} {
		b.Run(l.name, func(b *testing.B) {
			be, err := open(dropout.Options{}, config{layout: l.knob})
			dropouttest.Require(b, "Vulkan device", err)
			b.Cleanup(func() { be.Close() }) // after benchForward's buffers
			benchForward(b, be, 1<<24, dropout.MaskBits)
		})
	}
}

// benchForward measures forward float32 dropout of n elements on device
// buffers, writing a mask of format f (a device buffer too).
func benchForward(b *testing.B, be *Backend, n int, f dropout.MaskFormat) {
	x, y := benchBuffer(b, be, n), benchBuffer(b, be, n)
	var m dropout.Tensor
	if f != dropout.MaskNone {
		m = benchBufferOf(b, be, dropout.Uint8, f.Bytes(n))
	}
	p := dropout.Params{P: 0.1, Seed: 1, Mask: f}
	benchCalls(b, n, func() error { return be.Forward(y, x, m, p) })
}

// benchCalls measures call, a call over n float32 elements: once outside
// the timing (the first builds the pipeline: the driver compiles the
// shader, which -benchtime=Nx would otherwise count), then b.N times,
// reporting bytes, calls/s and the process's CPU time per call.
func benchCalls(b *testing.B, n int, call func() error) {
	if err := call(); err != nil {
		b.Fatal(err)
	}
	report(b, n)
	cpu0 := cpuTime()
	for b.Loop() {
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	// The process's CPU time (the driver's threads included) per call:
	// steadier than the wall time on a loaded host.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkEmptyDispatch measures the floor of a synchronous call: one
// dispatch of a shader that does nothing (kernels/glsl/empty.comp, one work
// group), bound as the dropout shaders are, submitted and waited for.
func BenchmarkEmptyDispatch(b *testing.B) {
	be := openBench(b)
	d := be.dev
	eq, err := d.NewQueue()
	if err != nil {
		b.Fatal(err)
	}
	defer eq.Release()
	q := eq.(*vkQueue)
	alg, err := d.alg(algKey{module: "empty"})
	if err != nil {
		b.Fatal(err)
	}
	dummy := vkx.Range{Buf: d.dummy, Size: d.dummy.Size}
	r := [vkx.Bindings]vkx.Range{dummy, dummy, dummy, dummy, dummy}
	var pc push
	for b.Loop() {
		set, err := q.seq.Bind(r)
		if err != nil {
			b.Fatal(err)
		}
		if err := q.seq.Dispatch(alg, set, &pc.w, vkx.WorkGroup); err != nil {
			b.Fatal(err)
		}
		if err := q.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// cpuTime returns the user and system CPU time of the process in
// nanoseconds, or 0 where it is unavailable.
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkPipelineCalls measures 1,000 forward calls of 4096 float32
// elements (mask none, device buffers) per op, three ways: synchronous
// calls (each records, submits and waits), asynchronous calls
// (ForwardAsync, one wait at the end), and recorded into one command
// buffer of the program's (RecordForward, one submission and one wait).
// It reports calls/s; the goal is the asynchronous rate at least
// 5× the synchronous one.
func BenchmarkPipelineCalls(b *testing.B) {
	const n, calls = 4096, 1000
	be := openBench(b)
	b.Logf("device: %s (%s)", be.Device().Name, be.Device().Platform)
	x, y := benchBuffer(b, be, n), benchBuffer(b, be, n)
	p := dropout.Params{P: 0.1, Seed: 1}
	run := func(b *testing.B, f func() error) {
		if err := f(); err != nil { // pipelines built, slots made
			b.Fatal(err)
		}
		for b.Loop() {
			if err := f(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(calls)*float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	}
	b.Run("sync", func(b *testing.B) {
		run(b, func() error {
			for range calls {
				if err := be.Forward(y, x, nil, p); err != nil {
					return err
				}
			}
			return nil
		})
	})
	b.Run("async", func(b *testing.B) {
		run(b, func() error {
			var last *Pending
			for range calls {
				pd, err := be.ForwardAsync(y, x, nil, p)
				if err != nil {
					return err
				}
				last = pd
			}
			return last.Wait()
		})
	})
	b.Run("recorded", func(b *testing.B) {
		c, err := be.dev.m.NewCommands()
		if err != nil {
			b.Fatal(err)
		}
		defer c.Destroy()
		run(b, func() error {
			if err := c.Begin(); err != nil {
				return err
			}
			for i := range calls {
				if i > 0 {
					vkx.CmdBarrier(c.Cmd, vkx.StagesCompute, vkx.StagesCompute, vk.AccessFlags(vk.AccessShaderWriteBit),
						vk.AccessFlags(vk.AccessShaderReadBit|vk.AccessShaderWriteBit))
				}
				if err := be.RecordForward(c.Cmd, y, x, nil, p); err != nil {
					return err
				}
			}
			if err := c.Submit(); err != nil {
				return err
			}
			return c.Wait()
		})
	})
}
