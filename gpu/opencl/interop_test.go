//go:build cgo && !noopencl

package opencl

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
)

// pipeline is a backend over a test's own context and queue, with helpers
// for the test's own memory.
type pipeline struct {
	t   *testing.T
	b   *Backend
	ctx *cl.Context
	dev *cl.Device
	q   *cl.CommandQueue
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	ctx, dev, q, err := callerObjects()
	dropouttest.Require(t, "OpenCL device "+pocl, err)
	t.Cleanup(func() { q.Release(); ctx.Release() })
	b, err := NewBackend(ctx, dev, q, dropout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &pipeline{t: t, b: b, ctx: ctx, dev: dev, q: q}
}

// mem returns a cl_mem of the test's holding data.
func (p *pipeline) mem(data []float32) *cl.MemObject {
	p.t.Helper()
	m, err := p.ctx.CreateBuffer(cl.MemReadWrite|cl.MemCopyHostPtr, bytesOf(append(data, 0)))
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(m.Release)
	return m
}

// read reads n float32 from m at byte off, blocking.
func (p *pipeline) read(m *cl.MemObject, off, n int) []float32 {
	p.t.Helper()
	out := make([]float32, n)
	if n == 0 {
		return out
	}
	if _, err := p.q.EnqueueReadBuffer(m, true, off, 4*n, unsafe.Pointer(&out[0]), nil); err != nil {
		p.t.Fatal(err)
	}
	return out
}

func (p *pipeline) wrap(m *cl.MemObject, off, n int) dropout.Buffer {
	p.t.Helper()
	u, err := p.b.Wrap(m, 4*off, dropout.Float32, n)
	if err != nil {
		p.t.Fatal(err)
	}
	return u
}

func ramp(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i)*0.25 - 7
	}
	return x
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestWrapOffsets wraps the test's cl_mems at element offsets whose byte
// offsets are not multiples of 16 (the kernels' unaligned path) and checks
// Forward, Backward and the fused op there against the reference, and that
// nothing outside the views changed.
func TestWrapOffsets(t *testing.T) {
	p := newPipeline(t)
	ref := cpu.NewReference()
	const n = 1029
	par := dropout.Params{P: 0.3, Seed: 7, Offset: 5, Mask: dropout.MaskBits}
	for _, off := range [][3]int{{1, 3, 5}, {3, 0, 6}, {4, 4, 33}, {0, 2, 0}} {
		t.Run(fmt.Sprint(off), func(t *testing.T) {
			x := ramp(n + off[0])
			xm, ym, rm := p.mem(x), p.mem(make([]float32, n+off[1]+3)), p.mem(ramp(n+off[2]))
			xv, yv, rv := p.wrap(xm, off[0], n), p.wrap(ym, off[1], n), p.wrap(rm, off[2], n)
			mask, err := p.b.Alloc(dropout.Uint8, par.Mask.Bytes(n))
			if err != nil {
				t.Fatal(err)
			}
			defer mask.Release()
			want, wmask := make([]float32, n), make([]byte, par.Mask.Bytes(n))
			if err := ref.Forward(dropout.Float32s(want), dropout.Float32s(x[off[0]:]), dropout.Bytes(wmask), par); err != nil {
				t.Fatal(err)
			}
			if err := p.b.Forward(yv, xv, mask, par); err != nil {
				t.Fatal(err)
			}
			got := p.read(ym, 0, n+off[1]+3)
			sameBits(t, "Forward", got[off[1]:off[1]+n], want)
			sameBits(t, "before the view", got[:off[1]], make([]float32, off[1]))
			sameBits(t, "after the view", got[off[1]+n:], make([]float32, 3))
			// Backward from the mask, into the residual's view.
			if err := ref.Backward(dropout.Float32s(want), dropout.Float32s(x[off[0]:]), dropout.Bytes(wmask), par); err != nil {
				t.Fatal(err)
			}
			if err := p.b.Backward(rv, xv, mask, par); err != nil {
				t.Fatal(err)
			}
			sameBits(t, "Backward", p.read(rm, 4*off[2], n), want)
			// Fused: y = r + dropout(x + bias), the bias a view too.
			bm := p.mem(ramp(8))
			bias := p.wrap(bm, 1, 7)
			fp := dropout.Params{P: 0.3, Seed: 7, Offset: 5, Shape: []int{n / 7, 7}}
			r := p.read(rm, 4*off[2], n)
			if err := ref.ForwardFused(dropout.Float32s(want), dropout.Float32s(x[off[0]:]), dropout.Float32s(ramp(8)[1:]), dropout.Float32s(r), nil, fp); err != nil {
				t.Fatal(err)
			}
			if err := p.b.ForwardFused(yv, xv, bias, rv, nil, fp); err != nil {
				t.Fatal(err)
			}
			sameBits(t, "ForwardFused", p.read(ym, 4*off[1], n), want)
		})
	}
}

// TestMem checks that Mem hands out the cl_mem and byte offset of
// buffers, wrapped buffers and views, that a Wrap of what Mem handed out
// is the same memory to the backend (overlap is ErrOverlap), and Mem's and
// Wrap's errors.
func TestMem(t *testing.T) {
	p := newPipeline(t)
	a, err := p.b.Alloc(dropout.Float32, 100)
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.Slice(3, 50)
	if err != nil {
		t.Fatal(err)
	}
	m, off, err := p.b.Mem(v)
	if err != nil || off != 12 || m == nil {
		t.Fatalf("Mem(view at 3) = %v, %d, %v; want a cl_mem at byte 12", m, off, err)
	}
	if ma, offa, err := p.b.Mem(a); err != nil || ma != m || offa != 0 {
		t.Fatalf("Mem(buffer) = %v, %d, %v; want the view's cl_mem at 0", ma, offa, err)
	}
	// The caller's kernels see our data there: write through the handle.
	if _, err := p.q.EnqueueWriteBuffer(m, true, off, 8, unsafe.Pointer(&[]float32{1.5, 2.5}[0]), nil); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 2)
	head, _ := v.Slice(0, 2)
	if err := head.Read(dropout.Float32s(got)); err != nil || got[0] != 1.5 || got[1] != 2.5 {
		t.Fatalf("the view after a write through Mem: %v, %v", got, err)
	}
	// Wrapping what Mem handed out is the same memory.
	w := p.wrap(m, 10, 50)
	if err := p.b.Forward(w, v, nil, dropout.Params{P: 0.5, Seed: 1}); !errors.Is(err, dropout.ErrOverlap) {
		t.Errorf("Forward between a view and an overlapping Wrap of its cl_mem: %v, want ErrOverlap", err)
	}
	if mw, offw, err := p.b.Mem(w); err != nil || mw != m || offw != 40 {
		t.Errorf("Mem(Wrap(m, 40)) = %v, %d, %v", mw, offw, err)
	}
	// cl_mems released and made again (an implementation may give the new
	// one the old one's handle) wrap as new memory.
	var released []dropout.Buffer // kept: their memory's entries stay
	for i := range 16 {
		m, err := p.ctx.CreateBuffer(cl.MemReadWrite|cl.MemCopyHostPtr, bytesOf([]float32{1, 2, 3, 4, 5, float32(i)}))
		if err != nil {
			t.Fatal(err)
		}
		u := p.wrap(m, 1, 5)
		got := make(dropout.Float32s, 5)
		if err := errors.Join(u.Write(dropout.Float32s{9, 8, 7, 6, 5}), u.Read(got)); err != nil || got[4] != 5 {
			t.Fatalf("round %d: a wrap of a new cl_mem: %v, %v", i, got, err)
		}
		if err := u.Release(); err != nil {
			t.Fatal(err)
		}
		released = append(released, u)
		m.Release()
	}
	runtime.KeepAlive(released)
	cm := p.mem(make([]float32, 9)) // 40 bytes
	for _, tc := range []struct {
		name    string
		m       *cl.MemObject
		off, n  int
		dt      dropout.DType
		wantErr error
	}{
		{"OffsetNotElement", cm, 2, 1, dropout.Float32, dropout.ErrLength},
		{"PastTheEnd", cm, 4, 10, dropout.Float32, dropout.ErrLength},
		{"Negative", cm, -4, 1, dropout.Float32, dropout.ErrLength},
		{"Nil", nil, 0, 1, dropout.Float32, dropout.ErrLength},
		{"Fits16", cm, 2, 19, dropout.Float16, nil},
	} {
		u, err := p.b.Wrap(tc.m, tc.off, tc.dt, tc.n)
		if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
			t.Errorf("Wrap %s: %v, want %v", tc.name, err, tc.wantErr)
		}
		if u != nil {
			u.Release()
		}
	}
	other, err := Open(dropout.Options{Device: pocl})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Wrap(cm, 0, dropout.Float32, 1); !errors.Is(err, ErrMismatch) {
		t.Errorf("Wrap of another context's memory: %v, want ErrMismatch", err)
	}
	if _, _, err := other.Mem(a); !errors.Is(err, dropout.ErrForeignBuffer) {
		t.Errorf("Mem of another backend's buffer: %v, want ErrForeignBuffer", err)
	}
	if _, _, err := p.b.Mem(dropout.Float32s(got)); !errors.Is(err, dropout.ErrForeignBuffer) {
		t.Errorf("Mem of a host tensor: %v, want ErrForeignBuffer", err)
	}
	a.Release()
	if _, _, err := p.b.Mem(v); !errors.Is(err, dropout.ErrReleased) {
		t.Errorf("Mem of a view of a released buffer: %v, want ErrReleased", err)
	}
	wc := p.wrap(cm, 0, 9)
	p.b.Close()
	if _, err := p.b.Wrap(cm, 0, dropout.Float32, 1); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("Wrap after Close: %v, want ErrClosed", err)
	}
	if _, _, err := p.b.Mem(wc); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("Mem after Close: %v, want ErrClosed", err)
	}
	// Close left the caller's memory alone.
	if got := p.read(cm, 0, 9); len(got) != 9 {
		t.Errorf("the caller's cl_mem after Close: %v", got)
	}
}

// TestNewBackendChecks checks what NewBackend refuses.
func TestNewBackendChecks(t *testing.T) {
	ctx, dev, q, err := callerObjects()
	dropouttest.Require(t, "OpenCL device "+pocl, err)
	defer ctx.Release()
	defer q.Release()
	ctx2, err := cl.CreateContext([]*cl.Device{dev})
	if err != nil {
		t.Fatal(err)
	}
	defer ctx2.Release()
	q2, err := ctx2.CreateCommandQueue(dev, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Release()
	notDev := clObject[cl.Device](handle[uintptr](ctx2)) // a handle that is no device of ctx
	type objects struct {
		name string
		ctx  *cl.Context
		dev  *cl.Device
		q    *cl.CommandQueue
		opts dropout.Options
		want error
	}
	cases := []objects{
		{"QueueOfAnotherContext", ctx, dev, q2, dropout.Options{}, ErrMismatch},
		{"DeviceNotInContext", ctx, notDev, q, dropout.Options{}, ErrMismatch},
		{"NilQueue", ctx, dev, nil, dropout.Options{}, dropout.ErrUnsupported},
		{"DeviceOption", ctx, dev, q, dropout.Options{Device: "pocl"}, dropout.ErrUnsupported},
	}
	ooo, err := ctx.CreateCommandQueue(dev, cl.CommandQueueOutOfOrderExecModeEnable)
	if err != nil {
		t.Fatalf("an out-of-order queue on PoCL: %v", err)
	}
	defer ooo.Release()
	cases = append(cases, objects{"OutOfOrder", ctx, dev, ooo, dropout.Options{}, dropout.ErrUnsupported})
	for _, tc := range cases {
		b, err := NewBackend(tc.ctx, tc.dev, tc.q, tc.opts)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if b != nil {
			b.Close()
		}
	}
	// The right objects make a backend that reports the device, and whose
	// Queue is the caller's.
	b, err := NewBackend(ctx, dev, q, dropout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bq, err := b.Queue()
	if err != nil || handle[uintptr](bq) != handle[uintptr](q) || b.Context() == nil || b.CLDevice() != dev {
		t.Errorf("Queue() = %v, %v; Context %v, CLDevice %v", bq, err, b.Context(), b.CLDevice())
	}
	if info := b.Device(); info.Index < 0 || info.Platform == "" {
		t.Errorf("Device() = %+v", info)
	}
	b.Close()
	if _, err := b.Queue(); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("Queue after Close: %v, want ErrClosed", err)
	}
	// The caller's queue still works after Close.
	if err := q.Finish(); err != nil {
		t.Errorf("clFinish on the caller's queue after Close: %v", err)
	}
}

// TestAsync chains asynchronous calls on the caller's queue through wait
// lists and events, gated by a user event so that nothing can run before
// every call has returned (a call that waited on the host would hang:
// the test fails after a timeout instead), and checks the results
// against the reference.
func TestAsync(t *testing.T) {
	for _, own := range []bool{false, true} {
		t.Run(map[bool]string{false: "CallerQueue", true: "OwnQueue"}[own], func(t *testing.T) {
			p := newPipeline(t)
			b := p.b
			if own {
				ob, err := Open(dropout.Options{Device: pocl})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ob.Close() })
				b = ob
			}
			asyncChain(t, b)
		})
	}
}

func asyncChain(t *testing.T, b *Backend) {
	ref := cpu.NewReference()
	const n = 4099
	x := ramp(n + 1)
	xb := allocF32(t, b, x)
	xv, _ := xb.Slice(1, n)
	y, dx, z := allocF32(t, b, make([]float32, n)), allocF32(t, b, make([]float32, n+3)), allocF32(t, b, make([]float32, n))
	dxv, _ := dx.Slice(3, n)
	mask, err := b.Alloc(dropout.Uint8, dropout.MaskBytes.Bytes(n))
	if err != nil {
		t.Fatal(err)
	}
	par := dropout.Params{P: 0.4, Seed: 11, Mask: dropout.MaskBytes}
	gate, err := b.Context().CreateUserEvent()
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		ev  *cl.Event
		err error
	}
	done := make(chan result, 1)
	go func() {
		ev1, err := b.ForwardAsync(y, xv, mask, par, gate)
		if err != nil {
			done <- result{nil, err}
			return
		}
		ev2, err := b.BackwardAsync(dxv, y, mask, par, ev1)
		if err != nil {
			done <- result{nil, err}
			return
		}
		ev3, err := b.CopyAsync(z, dxv, ev2, ev1)
		ev1.Release()
		ev2.Release()
		done <- result{ev3, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-time.After(time.Minute):
		gate.SetUserEventStatus(int(cl.CommmandExecStatusComplete))
		t.Fatal("the asynchronous calls did not return while their wait list was incomplete: they waited on the host")
	}
	if err := gate.SetUserEventStatus(int(cl.CommmandExecStatusComplete)); err != nil {
		t.Fatal(err)
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	if err := cl.WaitForEvents([]*cl.Event{res.ev}); err != nil {
		t.Fatal(err)
	}
	res.ev.Release()
	gate.Release()
	wy, wm, wdx := make([]float32, n), make([]byte, dropout.MaskBytes.Bytes(n)), make([]float32, n)
	if err := ref.Forward(dropout.Float32s(wy), dropout.Float32s(x[1:]), dropout.Bytes(wm), par); err != nil {
		t.Fatal(err)
	}
	if err := ref.Backward(dropout.Float32s(wdx), dropout.Float32s(wy), dropout.Bytes(wm), par); err != nil {
		t.Fatal(err)
	}
	sameBits(t, "y", readF32(t, y, n), wy)
	sameBits(t, "z = Backward(y)", readF32(t, z, n), wdx)

	// Errors: host tensors, nil events, after Close.
	if _, err := b.ForwardAsync(y, dropout.Float32s(x[:n]), nil, dropout.Params{P: 0.5}); !errors.Is(err, dropout.ErrUnsupported) {
		t.Errorf("ForwardAsync of a host tensor: %v, want ErrUnsupported", err)
	}
	if _, err := b.ForwardAsync(y, xv, nil, dropout.Params{P: 0.5}, nil); !errors.Is(err, dropout.ErrUnsupported) {
		t.Errorf("ForwardAsync after a nil event: %v, want ErrUnsupported", err)
	}
	if _, err := b.ForwardAsync(y, xv, nil, dropout.Params{P: 2}); !errors.Is(err, dropout.ErrP) {
		t.Errorf("ForwardAsync with p = 2: %v, want ErrP", err)
	}
	ev, err := b.ForwardFusedAsync(y, xv, nil, xv, nil, dropout.Params{P: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := cl.WaitForEvents([]*cl.Event{ev}); err != nil {
		t.Errorf("an event of work enqueued before Close: %v", err)
	}
	ev.Release()
	if _, err := b.ForwardAsync(y, xv, nil, dropout.Params{P: 0.5}); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("ForwardAsync after Close: %v, want ErrClosed", err)
	}
}

func allocF32(t *testing.T, b *Backend, data []float32) dropout.Buffer {
	t.Helper()
	u, err := b.Alloc(dropout.Float32, len(data))
	if err == nil {
		err = u.Write(dropout.Float32s(data))
	}
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func readF32(t *testing.T, u dropout.Buffer, n int) []float32 {
	t.Helper()
	out := make([]float32, n)
	if err := u.Read(dropout.Float32s(out)); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAsyncConcurrent runs asynchronous calls from many goroutines on one
// backend (they share its queue and kernel objects under a mutex), each on
// its own buffers, with synchronous calls among them; run with -race.
func TestAsyncConcurrent(t *testing.T) {
	p := newPipeline(t)
	ref := cpu.NewReference()
	const n, workers, rounds = 777, 4, 8
	x := ramp(n)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				xb, err := p.b.Alloc(dropout.Float32, n)
				if err != nil {
					return err
				}
				defer xb.Release()
				if err := xb.Write(dropout.Float32s(x)); err != nil {
					return err
				}
				y, err := p.b.Alloc(dropout.Float32, n)
				if err != nil {
					return err
				}
				defer y.Release()
				for r := range rounds {
					par := dropout.Params{P: 0.25, Seed: uint64(w*100 + r)}
					ev, err := p.b.ForwardAsync(y, xb, nil, par)
					if err != nil {
						return err
					}
					err = cl.WaitForEvents([]*cl.Event{ev})
					ev.Release()
					if err != nil {
						return err
					}
					got, want := make([]float32, n), make([]float32, n)
					if err := y.Read(dropout.Float32s(got)); err != nil {
						return err
					}
					if err := ref.Forward(dropout.Float32s(want), dropout.Float32s(x), nil, par); err != nil {
						return err
					}
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							return fmt.Errorf("worker %d round %d: element %d is %v, want %v", w, r, i, got[i], want[i])
						}
					}
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
