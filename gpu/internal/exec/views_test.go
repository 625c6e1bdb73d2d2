package exec_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/gpu/internal/exec/exectest"
)

// sub returns elements [off, off+n) of a host tensor.
func sub(t dropout.Tensor, off, n int) dropout.Tensor {
	switch s := t.(type) {
	case dropout.Float32s:
		return s[off : off+n]
	case dropout.Float64s:
		return s[off : off+n]
	case dropout.Float16s:
		return s[off : off+n]
	case dropout.BFloat16s:
		return s[off : off+n]
	case dropout.Bytes:
		return s[off : off+n]
	}
	panic(fmt.Sprintf("sub of %T", t))
}

// filled returns a buffer of n elements of dt holding data (seed) and that
// data on the host.
func filled(t *testing.T, b dropout.Backend, dt dropout.DType, n int, seed uint64) (dropout.Buffer, dropout.Tensor) {
	t.Helper()
	var h dropout.Tensor
	if dt == dropout.Uint8 {
		m := make(dropout.Bytes, n)
		for i := range m {
			m[i] = byte(uint64(i)*37 + seed)
		}
		h = m
	} else {
		h = dropouttest.Data(dt, n, seed)
	}
	u, err := b.Alloc(dt, n)
	if err == nil {
		err = u.Write(h)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Release() })
	return u, h
}

// read returns a buffer's contents.
func read(t *testing.T, u dropout.Buffer) dropout.Tensor {
	t.Helper()
	h := dropouttest.Zeros(u.DType(), u.Len())
	if u.DType() == dropout.Uint8 {
		h = make(dropout.Bytes, u.Len())
	}
	if err := u.Read(h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestViews runs Forward and Backward on views at element offsets off any
// alignment, mask views off whole words among them, on a plain device and
// a WordData one, and checks the views against the same calls on host
// copies and every byte outside the views against what was there.
func TestViews(t *testing.T) {
	const n, pad = 77, 40
	for _, cfg := range []struct {
		name string
		dev  exectest.Config
	}{{"Default", exectest.Config{}}, {"WordData", exectest.Config{Queues: 1, MaxLaunchElems: 64, WordData: true}}} {
		b, d := newBackend(t, cfg.dev, dropout.Options{})
		for _, dt := range []dropout.DType{dropout.Float32, dropout.Float64, dropout.Float16} {
			for _, f := range []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes} {
				for _, mo := range []int{0, 1, 6} {
					name := fmt.Sprintf("%s/%v/%v/mask@%d", cfg.name, dt, f, mo)
					xr, xh := filled(t, b, dt, n+pad, 1)
					yr, yh := filled(t, b, dt, n+pad, 2)
					mr, mh := filled(t, b, dropout.Uint8, 128, 3)
					xv, _ := xr.Slice(5, n)
					yv, _ := yr.Slice(3, n)
					p := dropout.Params{P: 0.4, Seed: 9, Offset: 3, Mask: f}
					var mv dropout.Buffer
					var wantM dropout.Tensor
					if f != dropout.MaskNone {
						var err error
						if mv, err = mr.Slice(mo, f.Bytes(n)); err != nil {
							t.Fatal(err)
						}
						wantM = sub(mh, mo, f.Bytes(n))
					}
					wantY := dropouttest.Zeros(dt, n)
					if err := b.Forward(wantY, sub(xh, 5, n), wantM, p); err != nil {
						t.Fatal(err)
					}
					if err := b.Forward(yv, xv, mv, p); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					checkRoot(t, name+" forward y", read(t, yr), yh, 3, wantY)
					if f != dropout.MaskNone {
						checkRoot(t, name+" forward mask", read(t, mr), mh, mo, wantM)
					}
					checkRoot(t, name+" forward x", read(t, xr), xh, 0, xh) // x untouched

					// Backward in place on the y view, reading the mask view.
					wantDX := dropouttest.Zeros(dt, n)
					if err := b.Backward(wantDX, wantY, wantM, p); err != nil {
						t.Fatal(err)
					}
					if err := b.Backward(yv, yv, mv, p); err != nil {
						t.Fatalf("%s: backward: %v", name, err)
					}
					checkRoot(t, name+" backward", read(t, yr), yh, 3, wantDX)
				}
			}
		}
		if s := d.Stats(); cfg.dev.WordData && s.Launches[exec.Copy] == 0 {
			t.Errorf("%s: no Copy launches: 16-bit views off whole words were not staged", cfg.name)
		}
	}
}

// checkRoot checks that root holds want at element off and before what
// elsewhere.
func checkRoot(t *testing.T, what string, root, before dropout.Tensor, off int, want dropout.Tensor) {
	t.Helper()
	n := want.Len()
	if err := dropouttest.Equal(sub(root, off, n), want); err != nil {
		t.Errorf("%s: the view: %v", what, err)
	}
	if err := dropouttest.Equal(sub(root, 0, off), sub(before, 0, off)); err != nil {
		t.Errorf("%s: before the view: %v", what, err)
	}
	if end := off + n; end < root.Len() {
		if err := dropouttest.Equal(sub(root, end, root.Len()-end), sub(before, end, root.Len()-end)); err != nil {
			t.Errorf("%s: after the view: %v", what, err)
		}
	}
}

// TestWrapNative checks buffers over memory the backend does not own.
func TestWrapNative(t *testing.T) {
	b, d := newBackend(t, exectest.Config{}, dropout.Options{})
	m, err := d.Alloc(400)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		size, off int64
		dt        dropout.DType
		n         int
		want      error
	}{
		{400, 4, dropout.Float32, 99, nil},
		{400, 6, dropout.Float16, 197, nil},
		{400, 8, dropout.Float64, 49, nil},
		{400, 6, dropout.Float32, 10, dropout.ErrLength}, // off not on an element
		{400, 4, dropout.Float32, 100, dropout.ErrLength},
		{400, -4, dropout.Float32, 1, dropout.ErrLength},
		{400, 0, dropout.DType(0), 1, dropout.ErrDType},
	} {
		u, err := exec.Wrap(b, m, c.size, c.off, c.dt, c.n)
		if !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
			t.Errorf("Wrap(%d, %d, %v, %d): %v, want %v", c.size, c.off, c.dt, c.n, err, c.want)
		}
		if err != nil {
			continue
		}
		if mm, off, err := exec.Native(b, u); err != nil || mm != m || off != c.off {
			t.Errorf("Native of a wrap at %d: %v, %d, %v", c.off, mm, off, err)
		}
		v, err := u.Slice(3, 5)
		if err != nil {
			t.Fatal(err)
		}
		if _, off, err := exec.Native(b, v); err != nil || off != c.off+3*int64(c.dt.Size()) {
			t.Errorf("Native of a view of a wrap at %d: offset %d, %v", c.off, off, err)
		}
		x := dropouttest.Data(c.dt, c.n, 5)
		got := dropouttest.Zeros(c.dt, c.n)
		if err := errors.Join(u.Write(x), u.Read(got)); err != nil {
			t.Fatal(err)
		}
		if err := dropouttest.Equal(got, x); err != nil {
			t.Error(err)
		}
		mems := d.Stats().Mems
		u.Release()
		if d.Stats().Mems != mems {
			t.Errorf("Release of a wrapped buffer freed the caller's memory")
		}
		if _, _, err := exec.Native(b, v); !errors.Is(err, dropout.ErrReleased) {
			t.Errorf("Native of a view of a released wrap: %v, want ErrReleased", err)
		}
	}
	u, err := exec.Wrap(b, m, 400, 0, dropout.Float32, 100)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := newBackend(t, exectest.Config{}, dropout.Options{})
	if _, _, err := exec.Native(other, u); !errors.Is(err, dropout.ErrForeignBuffer) {
		t.Errorf("Native on another backend: %v, want ErrForeignBuffer", err)
	}
	if _, _, err := exec.Native(b, dropout.Float32s{1}); !errors.Is(err, dropout.ErrForeignBuffer) {
		t.Errorf("Native of host memory: %v, want ErrForeignBuffer", err)
	}
	d.Free(m) // the caller's memory, freed before the device closes
	b.Close()
	if err := u.Write(dropout.Float32s(make([]float32, 100))); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("Write of a wrap after Close: %v, want ErrClosed", err)
	}
	if _, err := exec.Wrap(b, m, 400, 0, dropout.Float32, 1); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("Wrap after Close: %v, want ErrClosed", err)
	}
}

// TestSlice checks Slice's bounds and what Release does to views.
func TestSlice(t *testing.T) {
	b, _ := newBackend(t, exectest.Config{}, dropout.Options{})
	u, _ := filled(t, b, dropout.Float32, 10, 1)
	for _, c := range [][2]int{{-1, 1}, {0, 11}, {11, 0}, {5, 6}, {3, -1}} {
		if _, err := u.Slice(c[0], c[1]); !errors.Is(err, dropout.ErrLength) {
			t.Errorf("Slice(%d, %d): %v, want ErrLength", c[0], c[1], err)
		}
	}
	v, err := u.Slice(10, 0)
	if err != nil || v.Len() != 0 {
		t.Fatalf("Slice(10, 0): %v, %v", v, err)
	}
	v, _ = u.Slice(2, 6)
	w, err := v.Slice(1, 4) // elements 3..6 of u
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(dropout.Float32s{7, 8, 9, 10}); err != nil {
		t.Fatal(err)
	}
	got := read(t, u).(dropout.Float32s)
	if got[3] != 7 || got[6] != 10 {
		t.Errorf("a view of a view wrote %v", got)
	}
	w.Release()
	if err := w.Read(make(dropout.Float32s, 4)); !errors.Is(err, dropout.ErrReleased) {
		t.Errorf("Read of a released view: %v, want ErrReleased", err)
	}
	if err := v.Read(make(dropout.Float32s, 6)); err != nil {
		t.Errorf("the released view's parent: %v", err)
	}
	u.Release()
	if err := v.Read(make(dropout.Float32s, 6)); !errors.Is(err, dropout.ErrReleased) {
		t.Errorf("Read of a view of a released buffer: %v, want ErrReleased", err)
	}
	if _, err := v.Slice(0, 1); !errors.Is(err, dropout.ErrReleased) {
		t.Errorf("Slice of a view of a released buffer: %v, want ErrReleased", err)
	}
}

// TestOverlap checks that operands sharing memory in part are refused.
func TestOverlap(t *testing.T) {
	b, d := newBackend(t, exectest.Config{}, dropout.Options{})
	u, _ := filled(t, b, dropout.Float32, 100, 1)
	a, _ := u.Slice(0, 50)
	c, _ := u.Slice(1, 50)
	e, _ := u.Slice(50, 50)
	p := dropout.Params{P: 0.5, Seed: 1}
	if err := b.Forward(c, a, nil, p); !errors.Is(err, dropout.ErrOverlap) {
		t.Errorf("Forward between overlapping views: %v, want ErrOverlap", err)
	}
	if err := b.Copy(c, a); !errors.Is(err, dropout.ErrOverlap) {
		t.Errorf("Copy between overlapping views: %v, want ErrOverlap", err)
	}
	if err := errors.Join(b.Forward(a, a, nil, p), b.Forward(e, a, nil, p), b.Copy(e, a)); err != nil {
		t.Errorf("in place and disjoint views: %v", err)
	}
	m, err := d.Alloc(400)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free(m)
	x, _ := exec.Wrap(b, m, 400, 0, dropout.Float32, 100)
	mk, _ := exec.Wrap(b, m, 400, 40, dropout.Uint8, 20)
	pm := p
	pm.Mask = dropout.MaskBytes
	if err := b.Forward(dropouttest.Zeros(dropout.Float32, 20), sub(dropouttest.Data(dropout.Float32, 20, 1), 0, 20), mk, pm); err != nil {
		t.Fatal(err)
	}
	xv, _ := x.Slice(0, 20)
	if err := b.Forward(xv, xv, mk, pm); !errors.Is(err, dropout.ErrOverlap) {
		t.Errorf("a mask over the data: %v, want ErrOverlap", err)
	}
}

// TestAsync checks the On calls: commands queued with no Wait, results as
// the synchronous calls', and what they refuse.
func TestAsync(t *testing.T) {
	b, d := newBackend(t, exectest.Config{}, dropout.Options{})
	q, err := d.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			q.Wait()
			q.Release()
		}
	}()
	const n = 1024
	xr, xh := filled(t, b, dropout.Float32, n, 1)
	yr, _ := filled(t, b, dropout.Float32, n+1, 2)
	zr, _ := filled(t, b, dropout.Float32, n, 3)
	mr, _ := filled(t, b, dropout.Uint8, n, 4)
	yv, _ := yr.Slice(1, n) // at element 1
	p := dropout.Params{P: 0.3, Seed: 5, Mask: dropout.MaskBits}
	mv, _ := mr.Slice(4, p.Mask.Bytes(n))
	waits := d.Stats().Waits
	err = errors.Join(
		exec.ForwardOn(b, q, yv, xr, mv, p),
		exec.BackwardOn(b, q, zr, yv, mv, p),
		exec.CopyOn(b, q, yv, zr),
		exec.ForwardFusedOn(b, q, zr, yv, nil, xr, nil, dropout.Params{P: 0.3, Seed: 5}))
	if err != nil {
		t.Fatal(err)
	}
	if w := d.Stats().Waits; w != waits {
		t.Errorf("asynchronous calls waited %d times", w-waits)
	}
	if err := q.Wait(); err != nil {
		t.Fatal(err)
	}
	wantY, wantM, wantZ := dropouttest.Zeros(dropout.Float32, n), dropouttest.NewMask(p.Mask, n), dropouttest.Zeros(dropout.Float32, n)
	wantF := dropouttest.Zeros(dropout.Float32, n)
	err = errors.Join(b.Forward(wantY, xh, wantM, p), b.Backward(wantZ, wantY, wantM, p),
		dropout.ForwardFused(b, wantF, wantZ, nil, xh, nil, dropout.Params{P: 0.3, Seed: 5}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what      string
		got, want dropout.Tensor
	}{{"mask", sub(read(t, mr), 4, p.Mask.Bytes(n)), wantM}, {"copied y", sub(read(t, yr), 1, n), wantZ}, {"fused", read(t, zr), wantF}} {
		if err := dropouttest.Equal(c.got, c.want); err != nil {
			t.Errorf("%s: %v", c.what, err)
		}
	}
	for _, c := range []struct {
		what string
		err  error
		want error
	}{
		{"host x", exec.ForwardOn(b, q, yv, xh, nil, dropout.Params{P: 0.5}), dropout.ErrUnsupported},
		{"host mask", exec.ForwardOn(b, q, yv, xr, wantM, p), dropout.ErrUnsupported},
		{"mask off a word", exec.ForwardOn(b, q, zr, xr, func() dropout.Buffer { v, _ := mr.Slice(1, p.Mask.Bytes(n)); return v }(), p), dropout.ErrUnsupported},
		{"noise shape with no mask", exec.ForwardOn(b, q, zr, xr, nil, dropout.Params{P: 0.5, Shape: []int{8, 128}, NoiseShape: []int{1, 128}}), dropout.ErrUnsupported},
		{"bad p", exec.ForwardOn(b, q, zr, xr, nil, dropout.Params{P: 2}), dropout.ErrP},
		{"no queue", exec.ForwardOn(b, nil, zr, xr, nil, dropout.Params{P: 0.5}), dropout.ErrUnsupported},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.what, c.err, c.want)
		}
	}
	released = true
	if err := errors.Join(q.Wait(), q.Release()); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := exec.ForwardOn(b, q, zr, xr, nil, dropout.Params{P: 0.5}); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// TestMapHost checks calls on large host tensors on a device that maps
// host memory: the tensors are used in place (no staging buffer, no
// chunks, one wait), with results as a staging device's, and host masks
// are mapped only where the kernels' whole words are theirs.
func TestMapHost(t *testing.T) {
	mb, md := newBackend(t, exectest.Config{MapHost: true}, dropout.Options{MaxChunkBytes: 4096})
	sb, _ := newBackend(t, exectest.Config{}, dropout.Options{})
	for _, c := range []struct {
		n    int
		f    dropout.MaskFormat
		dt   dropout.DType
		maps int // host tensors mapped by a forward call
	}{
		{1<<16 + 5, dropout.MaskNone, dropout.Float32, 2},
		{1 << 20, dropout.MaskBits, dropout.Float32, 3},   // a 128 KiB bit mask of whole words
		{1<<19 + 8, dropout.MaskBits, dropout.Float64, 2}, // a bit mask that ends mid-word: staged
		{1<<17 + 4, dropout.MaskBytes, dropout.Float16, 3},
		{1000, dropout.MaskBytes, dropout.Float32, 0}, // small: staged
	} {
		name := fmt.Sprintf("%v[%d]/%v", c.dt, c.n, c.f)
		x := dropouttest.Data(c.dt, c.n, 1)
		p := dropout.Params{P: 0.3, Seed: 7, Offset: 1 << 40, Mask: c.f}
		var y, m, wy, wm dropout.Tensor = dropouttest.Zeros(c.dt, c.n), dropouttest.NewMask(c.f, c.n), dropouttest.Zeros(c.dt, c.n), dropouttest.NewMask(c.f, c.n)
		if c.f == dropout.MaskNone {
			m, wm = nil, nil
		}
		before := md.Stats()
		if err := errors.Join(mb.Forward(y, x, m, p), sb.Forward(wy, x, wm, p)); err != nil {
			t.Fatal(err)
		}
		after := md.Stats()
		if got := after.Maps - before.Maps; got != c.maps {
			t.Errorf("%s: forward mapped %d host tensors, want %d", name, got, c.maps)
		}
		if all := 2 + min(int(c.f), 1); c.maps == all && after.Waits-before.Waits != 1 { // all in place: one launch, one wait
			t.Errorf("%s: forward waited %d times, want once", name, after.Waits-before.Waits)
		}
		err := dropouttest.Equal(y, wy)
		if m != nil {
			err = errors.Join(err, dropouttest.Equal(m, wm))
		}
		if err != nil {
			t.Errorf("%s: forward: %v", name, err)
		}
		// Backward in place on the host.
		if err := errors.Join(mb.Backward(y, y, m, p), sb.Backward(wy, wy, wm, p)); err != nil {
			t.Fatal(err)
		}
		if err := dropouttest.Equal(y, wy); err != nil {
			t.Errorf("%s: backward in place: %v", name, err)
		}
		if s := md.Stats(); s.Mems != 0 && c.maps > 0 && s.Held == 0 {
			t.Errorf("%s: mapped host memory left after the call", name)
		}
	}

	// On a WordData device, 16-bit data that ends mid-word is not mapped:
	// its kernels would write the next object's half word.
	wb, wd := newBackend(t, exectest.Config{MapHost: true, WordData: true}, dropout.Options{})
	for _, n := range []int{1 << 16, 1<<16 + 1} {
		x := dropouttest.Data(dropout.Float16, n, 1)
		y, wy := dropouttest.Zeros(dropout.Float16, n), dropouttest.Zeros(dropout.Float16, n)
		p := dropout.Params{P: 0.3, Seed: 7}
		before := wd.Stats().Maps
		if err := errors.Join(wb.Forward(y, x, nil, p), sb.Forward(wy, x, nil, p)); err != nil {
			t.Fatal(err)
		}
		if got, want := wd.Stats().Maps-before, 2*(1-n%2); got != want {
			t.Errorf("WordData float16[%d]: mapped %d host tensors, want %d", n, got, want)
		}
		if err := dropouttest.Equal(y, wy); err != nil {
			t.Errorf("WordData float16[%d]: %v", n, err)
		}
	}
}

// TestOverlapped checks that a call staging host tensors in several
// chunks on an Overlap device runs them on two queues (waiting for each
// queue only before it takes its next chunk), with the results of one
// queue, and that a device with no second queue to spare runs on one.
func TestOverlapped(t *testing.T) {
	for _, c := range []struct {
		queues, want int
	}{{4, 2}, {1, 1}} {
		var mu sync.Mutex
		waits := 0
		cfg := exectest.Config{Overlap: true, Queues: c.queues, Hook: func(op string) error {
			if op == "Wait" {
				mu.Lock()
				waits++
				mu.Unlock()
			}
			return nil
		}}
		b, d := newBackend(t, cfg, dropout.Options{MaxChunkBytes: 256})
		ref, _ := newBackend(t, exectest.Config{}, dropout.Options{})
		const n = 1000 // 16 chunks of 64 float32 elements
		x := dropouttest.Data(dropout.Float32, n, 1)
		bias := dropouttest.Data(dropout.Float32, 10, 2)
		p := dropout.Params{P: 0.3, Seed: 3, Mask: dropout.MaskBits, Shape: []int{100, 10}}
		y, m := dropouttest.Zeros(dropout.Float32, n), dropouttest.NewMask(p.Mask, n)
		wy, wm := dropouttest.Zeros(dropout.Float32, n), dropouttest.NewMask(p.Mask, n)
		err := errors.Join(dropout.ForwardFused(b, y, x, bias, x, m, p), dropout.ForwardFused(ref, wy, x, bias, x, wm, p))
		if err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(dropouttest.Equal(y, wy), dropouttest.Equal(m, wm)); err != nil {
			t.Errorf("%d queues: %v", c.queues, err)
		}
		if got := d.Stats().Queues; got != c.want {
			t.Errorf("%d queues: the call used %d, want %d", c.queues, got, c.want)
		}
		if c.want == 2 && waits > 16+4 { // one wait a chunk, a few around them
			t.Errorf("%d queues: %d waits for 16 chunks", c.queues, waits)
		}
		// Each chunk on two queues is flushed once queued (so that a
		// Vulkan device runs it while the host stages the next); on one
		// queue, the waits suffice.
		if got, want := d.Stats().Flushes, map[int]int64{2: 16, 1: 0}[c.want]; got != want {
			t.Errorf("%d queues: %d flushes, want %d", c.queues, got, want)
		}
	}
}
