//go:build cgo && !noopencl

package opencl

import (
	"sync"
	"testing"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/gpu/internal/exec/exectest"
	"github.com/gpudropout/dropout/kernels"
)

// pocl selects PoCL's CPU device by its platform vendor ("The pocl project").
const pocl = "pocl"

// openDevice opens the backend with opts, skipping the test (or failing it
// under DROPOUT_REQUIRE_DEVICES) when no such OpenCL device exists.
func openDevice(t testing.TB, opts dropout.Options) *Backend {
	t.Helper()
	return openWith(t, opts, config{src: kernels.OpenCL})
}

// openWith is openDevice with the knobs of cfg.
func openWith(t testing.TB, opts dropout.Options, cfg config) *Backend {
	t.Helper()
	b, err := open(opts, cfg)
	dropouttest.Require(t, "OpenCL device "+opts.Device, err)
	t.Cleanup(func() { b.Close() })
	return b
}

// overlap turns on what a GPU has (exec.Info.Overlap): host tensors
// staged in several chunks alternate two queues. PoCL runs without it
// (BenchmarkStaged: slower there, the host's copies competing with the
// kernels for the same cores); PoCLChunked runs with it.
func overlap(i *exec.Info) { i.Overlap = true }

// smallLaunches makes every launch small: at most 4096 elements (the
// executor's launch limit), in enqueues of at most 256 work-items (the
// device's), so kernels run as several launches from a global work
// offset, as they do on large tensors.
var smallLaunches = config{src: kernels.OpenCL, maxItems: 256, tune: func(i *exec.Info) { i.MaxLaunchElems = 4096 }}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   dropout.Options
		cfg    dropouttest.Config
		dev    config
		caller bool // a backend over the test's own context and queue (NewBackend)
	}{
		// The default path: one chunk per call up to 64 MiB, with views
		// of cl_mems made outside the backend (Wrap).
		{"PoCL", dropout.Options{Device: pocl}, dropouttest.Config{}, config{src: kernels.OpenCL}, false},
		// A backend over the caller's objects: the core of the suite.
		{"PoCLCaller", dropout.Options{}, dropouttest.Config{Large: 1<<14 + 3, SkipClose: true, CoreOnly: true}, config{src: kernels.OpenCL}, true},
		// Chunks of 4 KiB: 1024 float32 or 512 float64 elements, so the
		// suite's 1023-element and large cases cross chunk boundaries,
		// alternating two queues as on a GPU (overlap).
		{"PoCLChunked", dropout.Options{Device: pocl, MaxChunkBytes: 4096}, dropouttest.Config{Large: 1<<16 + 3, SkipClose: true, CoreOnly: true}, config{src: kernels.OpenCL, tune: overlap}, false},
		// Launches of 4096 elements in enqueues of 256 work-items.
		{"PoCLSmallLaunches", dropout.Options{Device: pocl}, dropouttest.Config{Large: 1<<14 + 3, SkipClose: true, CoreOnly: true}, smallLaunches, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probe := openWith(t, tc.opts, tc.dev)
			cfg := tc.cfg
			cfg.DTypes = probe.DTypes()
			probe.Close()
			var mu sync.Mutex
			var first *Backend // the backend the suite checks, which Wrap wraps into
			if tc.name == "PoCL" || tc.caller {
				cfg.Wrap = func(dt dropout.DType, n, off int) (dropout.Buffer, func(), error) {
					mu.Lock()
					b := first
					mu.Unlock()
					return wrapOutside(b, dt, n, off)
				}
			}
			dropouttest.Run(t, func() (dropout.Backend, error) {
				var b *Backend
				var err error
				if tc.caller {
					b, err = openCaller(tc.opts, tc.dev)
				} else {
					b, err = open(tc.opts, tc.dev)
				}
				if err != nil {
					return nil, err
				}
				mu.Lock()
				if first == nil {
					first = b
				}
				mu.Unlock()
				return b, nil
			}, cfg)
		})
	}
}

// TestStatistics runs the suite's statistical checks (keep rates, the seed
// document's mean-sum property) on the backend's own output.
func TestStatistics(t *testing.T) {
	dropouttest.Statistics(t, openDevice(t, dropout.Options{Device: pocl}))
}

// TestOps checks 16-bit data, alpha dropout, the fused op and regions
// (exectest.CheckOps: every data type, mask format, p in {0, 0.3, 1}, host
// tensors and buffers, forward and backward) against the reference, on
// the default launches and, in short, on small chunked launches and with
// grid-stride launches (the GPU form) on PoCL.
func TestOps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  dropout.Options
		dev   config
		short bool
	}{
		{"PoCL", dropout.Options{Device: pocl}, config{src: kernels.OpenCL}, false},
		{"PoCLSmallLaunches", dropout.Options{Device: pocl, MaxChunkBytes: 256}, smallLaunches, true},
		{"PoCLGrid", dropout.Options{Device: pocl}, config{src: kernels.OpenCL, grid: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exectest.CheckOps(t, openWith(t, tc.opts, tc.dev), exectest.OpCases(), tc.short)
		})
	}
}

// wrapOutside makes memory for off+n elements of dt in b's context with
// go-opencl, outside the backend, and wraps it from element off: the
// suite's Config.Wrap. free releases the cl_mem.
func wrapOutside(b *Backend, dt dropout.DType, n, off int) (dropout.Buffer, func(), error) {
	size := (off + n) * dt.Size()
	m, err := b.Context().CreateEmptyBuffer(cl.MemReadWrite, max(size, 1))
	if err != nil {
		return nil, nil, check("clCreateBuffer", err)
	}
	u, err := b.Wrap(m, off*dt.Size(), dt, n)
	if err != nil {
		m.Release()
		return nil, nil, err
	}
	return u, m.Release, nil
}

// callerObjects makes what a pipeline has before it meets this package:
// a context and an in-order queue on PoCL's device, with go-opencl.
func callerObjects() (*cl.Context, *cl.Device, *cl.CommandQueue, error) {
	devs, err := devices()
	if err != nil {
		return nil, nil, nil, err
	}
	d, err := choose(devs, pocl)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, err := cl.CreateContext([]*cl.Device{d.dev})
	if err != nil {
		return nil, nil, nil, check("clCreateContext", err)
	}
	q, err := ctx.CreateCommandQueue(d.dev, 0)
	if err != nil {
		ctx.Release()
		return nil, nil, nil, check("clCreateCommandQueue", err)
	}
	return ctx, d.dev, q, nil
}

// openCaller returns a backend over callerObjects' context, device and
// queue, with the caller's own references released at once: the backend
// holds its own.
func openCaller(opts dropout.Options, cfg config) (*Backend, error) {
	ctx, dev, q, err := callerObjects()
	if err != nil {
		return nil, err
	}
	defer ctx.Release()
	defer q.Release()
	return newBackend(ctx, dev, q, opts, cfg)
}
