//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// program is a test's stand-in for a program with its own Vulkan device:
// an instance under the validation layer with synchronization validation,
// a device on lavapipe with one compute queue, and a backend made on it
// with NewBackend. The test fails if the layer reports anything.
type program struct {
	in *vkx.Instance
	m  *vkx.Manager
	b  *Backend
}

func newProgram(t *testing.T) *program {
	t.Helper()
	in, err := vkx.NewInstance(true)
	dropouttest.Require(t, "Vulkan with the validation layer", err)
	devs, err := in.PhysicalDevices()
	if err != nil {
		in.Destroy()
		t.Fatal(err)
	}
	i, err := selectDevice(devs, lavapipe)
	if err != nil {
		in.Destroy()
		dropouttest.Require(t, "lavapipe", err)
	}
	m, err := vkx.NewManager(devs[i])
	if err != nil {
		in.Destroy()
		t.Fatal(err)
	}
	q, fam := m.Queue()
	b, err := NewBackend(External{Instance: in.Handle(), PhysicalDevice: devs[i].Handle(), Device: m.Device(),
		QueueFamily: fam, Queue: q, Float64: devs[i].Float64}, dropout.Options{})
	if err != nil {
		m.Destroy()
		in.Destroy()
		t.Fatal(err)
	}
	pr := &program{in: in, m: m, b: b}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		m.Destroy()
		if msgs := in.Messages.All(); len(msgs) > 0 {
			t.Errorf("the validation layer reported %d messages:\n%s", len(msgs), strings.Join(msgs, "\n"))
		}
		in.Destroy()
	})
	return pr
}

// buffer returns a host-visible storage buffer of the program of size bytes.
func (pr *program) buffer(t *testing.T, size uint64) *vkx.Buffer {
	t.Helper()
	buf, err := pr.m.NewBuffer(size, vkx.HostStorage)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(buf.Destroy)
	return buf
}

// submit records with rec into a command buffer of the program, submits
// it and waits; the backend's writes are made visible to the host.
func (pr *program) submit(t *testing.T, rec func(cmd vk.CommandBuffer) error) {
	t.Helper()
	c := pr.commands(t)
	if err := rec(c.Cmd); err != nil {
		vk.EndCommandBuffer(c.Cmd)
		t.Fatal(err)
	}
	vkx.CmdBarrier(c.Cmd, vkx.StagesCompute|vkx.StagesTransfer, vkx.StagesHost,
		vk.AccessFlags(vk.AccessShaderWriteBit|vk.AccessTransferWriteBit), vk.AccessFlags(vk.AccessHostReadBit))
	if err := c.Submit(); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}

// commands returns a command buffer of the program, recording.
func (pr *program) commands(t *testing.T) *vkx.Commands {
	t.Helper()
	c, err := pr.m.NewCommands()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Destroy)
	if err := c.Begin(); err != nil {
		t.Fatal(err)
	}
	return c
}

// between records the barrier a program places between two dependent
// recorded calls (the package documentation's before and after barriers
// in one).
func between(cmd vk.CommandBuffer) {
	st := vkx.StagesCompute | vkx.StagesTransfer
	rw := vk.AccessFlags(vk.AccessShaderReadBit | vk.AccessShaderWriteBit | vk.AccessTransferReadBit | vk.AccessTransferWriteBit)
	vkx.CmdBarrier(cmd, st, st, vk.AccessFlags(vk.AccessShaderWriteBit|vk.AccessTransferWriteBit), rw)
}

// TestInterop runs the interop API on one backend made on a program's
// device (so that its pipelines are built once): the Async subtest closes
// it, last.
func TestInterop(t *testing.T) {
	pr := newProgram(t)
	for _, c := range []struct {
		name string
		f    func(*testing.T, *program)
	}{
		{"Wrap", testInteropWrap}, {"Native", testInteropNative}, {"Record", testInteropRecord},
		{"NewBackendErrors", testNewBackendErrors}, {"Async", testInteropAsync},
	} {
		t.Run(c.name, func(t *testing.T) { c.f(t, pr) })
	}
}

// testInteropWrap runs calls on the program's VkBuffers wrapped at byte
// offsets that are not multiples of 16 (nor of 4 elements for 16-bit
// data), writing the input into the mapped memory and reading the output
// from it: the backend uses the buffers in place.
func testInteropWrap(t *testing.T, pr *program) {
	ref := cpu.NewReference()
	for _, dt := range []dropout.DType{dropout.Float32} { // other types: TestConformance's Wrapped
		for _, off := range []int{1, 3, 6} {
			for _, f := range dropouttest.Formats {
				const n = 1029
				es := dt.Size()
				name := fmt.Sprintf("%v at element %d, mask %v", dt, off, f)
				p := dropout.Params{P: 0.4, Seed: 7, Offset: 5, Mask: f}
				xb, yb := pr.buffer(t, uint64((off+n)*es+4)), pr.buffer(t, uint64((off+n)*es+4))
				x := dropouttest.Data(dt, n, uint64(off))
				xw, err := pr.b.Wrap(xb.Handle(), xb.Size, uint64(off*es), dt, n)
				if err != nil {
					t.Fatalf("%s: Wrap: %v", name, err)
				}
				yw, err := pr.b.Wrap(yb.Handle(), yb.Size, uint64(off*es), dt, n)
				if err != nil {
					t.Fatal(err)
				}
				copy(xb.Host()[off*es:], hostBytes(x))
				var mask dropout.Tensor
				wm := dropouttest.NewMask(f, n)
				if f != dropout.MaskNone {
					mask = dropouttest.NewMask(f, n)
				} else {
					wm = nil
				}
				if err := pr.b.Forward(yw, xw, mask, p); err != nil {
					t.Fatalf("%s: Forward: %v", name, err)
				}
				want := dropouttest.Zeros(dt, n)
				if err := ref.Forward(want, x, wm, p); err != nil {
					t.Fatal(err)
				}
				if got := yb.Host()[off*es : (off+n)*es]; string(got) != string(hostBytes(want)) {
					t.Errorf("%s: the wrapped output differs from the reference", name)
				}
				if f != dropout.MaskNone {
					if err := dropouttest.Equal(mask, wm); err != nil {
						t.Errorf("%s: mask: %v", name, err)
					}
				}
				for _, w := range []dropout.Buffer{xw, yw} {
					if err := w.Release(); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
}

// testInteropNative hands the VkBuffer of the backend's buffers and views
// out, and wraps it back: the wrap sees the buffer's contents.
func testInteropNative(t *testing.T, pr *program) {
	b := pr.b
	buf, err := b.Alloc(dropout.Float32, 100)
	if err != nil {
		t.Fatal(err)
	}
	x := dropouttest.Data(dropout.Float32, 100, 1)
	if err := buf.Write(x); err != nil {
		t.Fatal(err)
	}
	v, err := buf.Slice(3, 50)
	if err != nil {
		t.Fatal(err)
	}
	h, off, err := b.NativeBuffer(buf)
	if err != nil || h == nil || off != 0 {
		t.Fatalf("NativeBuffer(buffer) = %v, %d, %v", h, off, err)
	}
	hv, offv, err := b.NativeBuffer(v)
	if err != nil || hv != h || offv != 12 {
		t.Fatalf("NativeBuffer(view at 3) = %v, %d, %v; want %v, 12", hv, offv, err, h)
	}
	w, err := b.Wrap(hv, 400, offv, dropout.Float32, 50)
	if err != nil {
		t.Fatal(err)
	}
	got := make(dropout.Float32s, 50)
	if err := w.Read(got); err != nil {
		t.Fatal(err)
	}
	if err := dropouttest.Equal(got, x.(dropout.Float32s)[3:53]); err != nil {
		t.Errorf("a wrap of the native buffer: %v", err)
	}
	// errors: foreign tensors, released buffers, another backend's buffer
	if _, _, err := b.NativeBuffer(x); !errors.Is(err, dropout.ErrForeignBuffer) {
		t.Errorf("NativeBuffer(host slice): %v, want ErrForeignBuffer", err)
	}
	other := openTest(t, dropout.Options{})
	ob, err := other.Alloc(dropout.Float32, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.NativeBuffer(ob); !errors.Is(err, dropout.ErrForeignBuffer) {
		t.Errorf("NativeBuffer(another backend's buffer): %v, want ErrForeignBuffer", err)
	}
	if err := v.Release(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.NativeBuffer(v); !errors.Is(err, dropout.ErrReleased) {
		t.Errorf("NativeBuffer(released view): %v, want ErrReleased", err)
	}
	if _, _, err := b.NativeBuffer(buf); err != nil {
		t.Errorf("NativeBuffer(buffer) after releasing a view: %v", err)
	}
	// Wrap's argument errors
	for _, c := range []struct {
		name      string
		h         vk.Buffer
		size, off uint64
		dt        dropout.DType
		n         int
		want      error
	}{
		{"a nil VkBuffer", nil, 400, 0, dropout.Float32, 1, dropout.ErrLength},
		{"an offset off the element size", h, 400, 2, dropout.Float32, 1, dropout.ErrLength},
		{"past the end", h, 400, 4, dropout.Float32, 100, dropout.ErrLength},
		{"a negative length", h, 400, 0, dropout.Float32, -1, dropout.ErrLength},
		{"an unknown type", h, 400, 0, dropout.DType(99), 1, dropout.ErrDType},
	} {
		if _, err := b.Wrap(c.h, c.size, c.off, c.dt, c.n); !errors.Is(err, c.want) {
			t.Errorf("Wrap with %s: %v, want %v", c.name, err, c.want)
		}
	}
	if err := w.Release(); err != nil {
		t.Fatal(err)
	}
}

// testInteropRecord records forward (every mask format), backward from
// the stored mask, the fused op and a copy into the program's command
// buffers at element offsets that are not multiples of 4, with the
// documented barriers between dependent calls, and compares with the
// reference. The validation layer (synchronization validation) must
// report nothing.
func testInteropRecord(t *testing.T, pr *program) {
	b, ref := pr.b, cpu.NewReference()
	const n = 517
	x := dropouttest.Data(dropout.Float32, n, 3)
	dy := dropouttest.Data(dropout.Float32, n, 4)
	bias := dropouttest.Data(dropout.Float32, 11, 5)
	root := make([]dropout.Buffer, 6) // x, y, dy, dx, bias, copy
	for i := range root {
		buf, err := b.Alloc(dropout.Float32, n+8)
		if err != nil {
			t.Fatal(err)
		}
		root[i] = buf
	}
	view := func(i, off, n int) dropout.Buffer {
		v, err := root[i].Slice(off, n)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	xv, yv, dyv, dxv, bv, cv := view(0, 1, n), view(1, 5, n), view(2, 3, n), view(3, 6, n), view(4, 2, 11), view(5, 7, n)
	for _, w := range []struct {
		v dropout.Buffer
		t dropout.Tensor
	}{{xv, x}, {dyv, dy}, {bv, bias}} {
		if err := w.v.Write(w.t); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range dropouttest.Formats {
		p := dropout.Params{P: 0.3, Seed: 11, Offset: 3, Mask: f}
		var mask dropout.Buffer
		if f != dropout.MaskNone {
			var err error
			if mask, err = b.Alloc(dropout.Uint8, f.Bytes(n)); err != nil {
				t.Fatal(err)
			}
		}
		pr.submit(t, func(cmd vk.CommandBuffer) error {
			if err := b.RecordForward(cmd, yv, xv, tensorOrNil(mask), p); err != nil {
				return err
			}
			between(cmd)
			if err := b.RecordBackward(cmd, dxv, dyv, tensorOrNil(mask), p); err != nil {
				return err
			}
			between(cmd)
			return b.RecordCopy(cmd, cv, yv)
		})
		want, wm := dropouttest.Zeros(dropout.Float32, n), dropouttest.NewMask(f, n)
		wdx := dropouttest.Zeros(dropout.Float32, n)
		if f == dropout.MaskNone {
			wm = nil
		}
		if err := ref.Forward(want, x, wm, p); err != nil {
			t.Fatal(err)
		}
		if err := ref.Backward(wdx, dy, wm, p); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			got  dropout.Buffer
			want dropout.Tensor
		}{{"forward", yv, want}, {"backward", dxv, wdx}, {"copy", cv, want}} {
			got := dropouttest.Zeros(dropout.Float32, n)
			if err := c.got.Read(got); err != nil {
				t.Fatal(err)
			}
			if err := dropouttest.Equal(got, c.want); err != nil {
				t.Errorf("recorded %s, mask %v: %v", c.name, f, err)
			}
		}
		if mask != nil {
			if err := mask.Release(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// the fused op, in place on the residual (the forward output)
	p := dropout.Params{P: 0.2, Seed: 13, Shape: []int{n / 11, 11}}
	resid := dropouttest.Zeros(dropout.Float32, n)
	if err := yv.Read(resid); err != nil {
		t.Fatal(err)
	}
	pr.submit(t, func(cmd vk.CommandBuffer) error { return b.RecordForwardFused(cmd, yv, xv, bv, yv, nil, p) })
	want, got := dropouttest.Zeros(dropout.Float32, n), dropouttest.Zeros(dropout.Float32, n)
	if err := dropout.ForwardFused(ref, want, x, bias, resid, nil, p); err != nil {
		t.Fatal(err)
	}
	if err := yv.Read(got); err != nil {
		t.Fatal(err)
	}
	if err := dropouttest.Equal(got, want); err != nil {
		t.Errorf("recorded fused op: %v", err)
	}
	if err := root[1].Release(); err != nil {
		t.Fatal(err)
	}
	// errors: host tensors, scratch, nil command buffer, after Close
	c := pr.commands(t)
	for _, e := range []struct {
		name string
		err  error
		want error
	}{
		{"a host tensor", b.RecordForward(c.Cmd, dxv, x, nil, dropout.Params{P: 0.5}), dropout.ErrUnsupported},
		{"a noise shape without a mask", b.RecordForward(c.Cmd, dxv, xv, nil, dropout.Params{P: 0.5, Shape: []int{11, n / 11}, NoiseShape: []int{1, n / 11}}), dropout.ErrUnsupported},
		{"a released view", b.RecordForward(c.Cmd, dxv, yv, nil, dropout.Params{P: 0.5}), dropout.ErrReleased},
		{"no command buffer", b.RecordForward(nil, dxv, xv, nil, dropout.Params{P: 0.5}), dropout.ErrUnsupported},
	} {
		if !errors.Is(e.err, e.want) {
			t.Errorf("RecordForward with %s: %v, want %v", e.name, e.err, e.want)
		}
	}
	vk.EndCommandBuffer(c.Cmd)
}

func tensorOrNil(b dropout.Buffer) dropout.Tensor {
	if b == nil {
		return nil
	}
	return b
}

// testInteropAsync chains asynchronous calls without waits (more than the
// slots in flight, so slots are recycled), waits once, and compares; then
// runs asynchronous and synchronous calls from several goroutines.
func testInteropAsync(t *testing.T, pr *program) {
	b, ref := pr.b, cpu.NewReference()
	const n, calls = 4099, maxSlots + 20
	x := dropouttest.Data(dropout.Float32, n, 9)
	bufs := make([]dropout.Buffer, 2)
	for i := range bufs {
		buf, err := b.Alloc(dropout.Float32, n+1)
		if err != nil {
			t.Fatal(err)
		}
		if bufs[i], err = buf.Slice(1, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := bufs[0].Write(x); err != nil {
		t.Fatal(err)
	}
	want := dropouttest.Zeros(dropout.Float32, n)
	if err := ref.Forward(want, x, nil, dropout.Params{}); err != nil { // a copy
		t.Fatal(err)
	}
	var last *Pending
	for i := range calls {
		p := dropout.Params{P: 0.1, Seed: uint64(i)}
		pd, err := b.ForwardAsync(bufs[(i+1)%2], bufs[i%2], nil, p)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		next := dropouttest.Zeros(dropout.Float32, n)
		if err := ref.Forward(next, want, nil, p); err != nil {
			t.Fatal(err)
		}
		want, last = next, pd
	}
	if err := last.Wait(); err != nil {
		t.Fatal(err)
	}
	if !last.Done() {
		t.Error("Done is false after Wait")
	}
	if err := last.Wait(); err != nil {
		t.Errorf("a second Wait: %v", err)
	}
	got := dropouttest.Zeros(dropout.Float32, n)
	if err := bufs[calls%2].Read(got); err != nil {
		t.Fatal(err)
	}
	if err := dropouttest.Equal(got, want); err != nil {
		t.Errorf("%d chained asynchronous calls: %v", calls, err)
	}
	if _, err := b.BackwardAsync(bufs[0], x, nil, dropout.Params{P: 0.5}); !errors.Is(err, dropout.ErrUnsupported) {
		t.Errorf("BackwardAsync of a host tensor: %v, want ErrUnsupported", err)
	}

	// goroutines: each its own buffers, asynchronous and synchronous calls
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for g := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[g] = asyncWorker(b, g)
		}()
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", g, err)
		}
	}
	// after Close
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ForwardAsync(bufs[0], bufs[1], nil, dropout.Params{}); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("ForwardAsync after Close: %v, want ErrClosed", err)
	}
	if err := b.RecordForward(vk.CommandBuffer(unsafe.Pointer(&errs)), bufs[0], bufs[1], nil, dropout.Params{}); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("RecordForward after Close: %v, want ErrClosed", err)
	}
	if _, _, err := b.NativeBuffer(bufs[0]); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("NativeBuffer after Close: %v, want ErrClosed", err)
	}
}

// asyncWorker runs forward asynchronously, backward synchronously from
// its mask, a fused op asynchronously and a copy, and checks each.
func asyncWorker(b *Backend, g int) error {
	ref := cpu.NewReference()
	const n = 301
	x := dropouttest.Data(dropout.Float32, n, uint64(g))
	bufs := make([]dropout.Buffer, 3)
	for i := range bufs {
		buf, err := b.Alloc(dropout.Float32, n)
		if err != nil {
			return err
		}
		defer buf.Release()
		bufs[i] = buf
	}
	mask, err := b.Alloc(dropout.Uint8, dropout.MaskBits.Bytes(n))
	if err != nil {
		return err
	}
	defer mask.Release()
	if err := bufs[0].Write(x); err != nil {
		return err
	}
	for i := range 10 {
		p := dropout.Params{P: 0.5, Seed: uint64(g*100 + i), Mask: dropout.MaskBits}
		pd, err := b.ForwardAsync(bufs[1], bufs[0], mask, p)
		if err != nil {
			return err
		}
		cp, err := b.CopyAsync(bufs[2], bufs[1])
		if err != nil {
			return err
		}
		if i%2 == 0 {
			if err := pd.Wait(); err != nil {
				return err
			}
		}
		if err := cp.Wait(); err != nil {
			return err
		}
		want, wm := dropouttest.Zeros(dropout.Float32, n), dropouttest.NewMask(dropout.MaskBits, n)
		if err := ref.Forward(want, x, wm, p); err != nil {
			return err
		}
		got := dropouttest.Zeros(dropout.Float32, n)
		if err := bufs[2].Read(got); err != nil {
			return err
		}
		if err := dropouttest.Equal(got, want); err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		if err := b.Backward(bufs[1], bufs[0], mask, p); err != nil { // synchronous, after the asynchronous ones
			return err
		}
		if err := ref.Backward(want, x, wm, p); err != nil {
			return err
		}
		if err := bufs[1].Read(got); err != nil {
			return err
		}
		if err := dropouttest.Equal(got, want); err != nil {
			return fmt.Errorf("call %d, backward: %w", i, err)
		}
	}
	return nil
}

// testNewBackendErrors checks the arguments of NewBackend.
func testNewBackendErrors(t *testing.T, pr *program) {
	q, fam := pr.m.Queue()
	ext := External{Instance: pr.in.Handle(), PhysicalDevice: pr.m.Phys.Handle(), Device: pr.m.Device(), QueueFamily: fam, Queue: q}
	if _, err := NewBackend(ext, dropout.Options{Debug: true}); !errors.Is(err, dropout.ErrUnsupported) {
		t.Errorf("NewBackend with Debug: %v, want ErrUnsupported", err)
	}
	bad := ext
	bad.QueueFamily = 1000
	if _, err := NewBackend(bad, dropout.Options{}); err == nil || !strings.Contains(err.Error(), "queue family") {
		t.Errorf("NewBackend with queue family 1000: %v", err)
	}
	bad = ext
	bad.Device = nil
	if _, err := NewBackend(bad, dropout.Options{}); err == nil {
		t.Error("NewBackend with no device: no error")
	}
}

// hostBytes returns the bytes of a host tensor.
func hostBytes(t dropout.Tensor) []byte {
	b, _ := driver.RawBytes(t)
	return b
}
