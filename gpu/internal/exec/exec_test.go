package exec_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/gpu/internal/exec/exectest"
)

// devices opens executors on test devices and, at the end of the test,
// checks that each was closed with nothing leaked and no breach of the
// device contract.
type devices struct {
	mu   sync.Mutex
	devs []*exectest.Device
}

func (ds *devices) open(t testing.TB, cfg exectest.Config, opts dropout.Options) func() (dropout.Backend, error) {
	t.Cleanup(func() {
		ds.mu.Lock()
		defer ds.mu.Unlock()
		for _, d := range ds.devs {
			if err := d.Check(); err != nil {
				t.Error(err)
			}
		}
		ds.devs = nil
	})
	return func() (dropout.Backend, error) {
		d := exectest.New(cfg)
		ds.mu.Lock()
		ds.devs = append(ds.devs, d)
		ds.mu.Unlock()
		return exec.New("exectest", d, opts)
	}
}

// The device configurations the conformance suite runs on.
var configs = []struct {
	name  string
	dev   exectest.Config
	opts  dropout.Options
	suite dropouttest.Config
}{
	// No device limits: 64 MiB chunks, four queues.
	// (The large case is a quarter of the suite's default: one chunk
	// either way, and the reference backend is slow under -race.)
	{"Default", exectest.Config{}, dropout.Options{}, dropouttest.Config{Large: 1<<18 + 3}},
	// Chunks of 256 bytes (64 float32 or 32 float64 elements): every call
	// of more than one chunk stages and launches piece by piece.
	{"TinyChunks", exectest.Config{}, dropout.Options{MaxChunkBytes: 256},
		dropouttest.Config{Large: 1<<12 + 3, SkipClose: true, CoreOnly: true}},
	// Vulkan's shape: one queue (calls serialised), bounded launch
	// windows and element counts, 12 broadcast axes, 32-bit indices.
	{"VulkanLike", exectest.Config{Queues: 1, MaxLaunchBytes: 4096, MaxLaunchElems: 96, ApplyMaxDims: 12, ApplyMaxElems: 1<<32 - 1},
		dropout.Options{}, dropouttest.Config{Large: 1<<14 + 3, SkipClose: true}},
	// OpenCL's shape: chunks of host tensors alternate two queues.
	{"Overlap", exectest.Config{Overlap: true}, dropout.Options{MaxChunkBytes: 256},
		dropouttest.Config{Large: 1<<12 + 3, SkipClose: true}},
	// Vulkan without 16-bit storage: 16-bit data in whole 32-bit words,
	// so 16-bit views off a word are staged.
	{"WordData", exectest.Config{Queues: 1, MaxLaunchBytes: 4096, MaxLaunchElems: 96, WordData: true},
		dropout.Options{}, dropouttest.Config{Large: 1<<12 + 3, SkipClose: true}},
	// A float32-only device with little memory and small allocations.
	{"SmallDevice", exectest.Config{Memory: 48 << 20, MaxAlloc: 1 << 20, DTypes: []dropout.DType{dropout.Float32}},
		dropout.Options{}, dropouttest.Config{DTypes: []dropout.DType{dropout.Float32}, Large: 1<<17 + 3, SkipClose: true, CoreOnly: true}},
}

func TestConformance(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			var ds devices
			open := ds.open(t, c.dev, c.opts)
			cfg := c.suite
			if c.name == "Default" || c.name == "WordData" {
				open, cfg.Wrap = wrapper(open)
			}
			dropouttest.Run(t, open, cfg)
		})
	}
}

// wrapper returns open, remembering the backend it opened last, and a
// dropouttest Wrap hook that wraps memory allocated straight from that
// backend's device, as a pipeline's own memory would be.
func wrapper(open func() (dropout.Backend, error)) (func() (dropout.Backend, error), func(dropout.DType, int, int) (dropout.Buffer, func(), error)) {
	var mu sync.Mutex
	var last *exec.Backend
	var dev *exectest.Device
	o := func() (dropout.Backend, error) {
		b, err := open()
		if err == nil {
			mu.Lock()
			last, dev = b.(*exec.Backend), exec.DeviceOf(b.(*exec.Backend)).(*exectest.Device)
			mu.Unlock()
		}
		return b, err
	}
	wrap := func(dt dropout.DType, n, off int) (dropout.Buffer, func(), error) {
		mu.Lock()
		b, d := last, dev
		mu.Unlock()
		es := int64(dt.Size())
		size := max(4, (int64(off+n)*es+3)&^3)
		m, err := d.Alloc(size)
		if err != nil {
			return nil, nil, err
		}
		u, err := exec.Wrap(b, m, size, int64(off)*es, dt, n)
		if err != nil {
			d.Free(m)
			return nil, nil, err
		}
		return u, func() { d.Free(m) }, nil
	}
	return o, wrap
}

func TestStatistics(t *testing.T) {
	var ds devices
	b, err := ds.open(t, exectest.Config{}, dropout.Options{})()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dropouttest.Statistics(t, b)
}

// FuzzExecAPI drives random API call sequences (dropouttest.FuzzAPI)
// through the executor on a device with tiny chunks and launches.
func FuzzExecAPI(f *testing.F) {
	var ds devices
	dropouttest.FuzzAPI(f, ds.open(f, exectest.Config{Queues: 2, MaxLaunchBytes: 2048, MaxLaunchElems: 64},
		dropout.Options{MaxChunkBytes: 128}))
}

// newBackend opens an executor on a test device; the test fails if the
// device is left unclosed, leaks or saw the contract broken.
func newBackend(t *testing.T, cfg exectest.Config, opts dropout.Options) (*exec.Backend, *exectest.Device) {
	t.Helper()
	d := exectest.New(cfg)
	b, err := exec.New("exectest", d, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Close()
		if err := d.Check(); err != nil {
			t.Error(err)
		}
	})
	return b, d
}

// TestChunks checks how calls are split: host tensors chunk by chunk with
// a wait after each, device buffers in one launch per kernel (or chunk by
// chunk where the device's launch limits say so) with one wait.
func TestChunks(t *testing.T) {
	b, d := newBackend(t, exectest.Config{}, dropout.Options{MaxChunkBytes: 256})
	const n = 1000 // 16 chunks of 64 float32 elements
	x := dropouttest.Data(dropout.Float32, n, 1)
	p := dropout.Params{P: 0.5, Seed: 3, Offset: 1<<64 - 100, Mask: dropout.MaskBits}
	before := d.Stats()
	if err := dropouttest.CompareForward(b, x, p); err != nil {
		t.Fatal(err)
	}
	s := d.Stats()
	if got := s.Launches[exec.GenBits] - before.Launches[exec.GenBits]; got != 16 {
		t.Errorf("host tensors: %d GenBits launches, want 16", got)
	}
	if got := s.Waits - before.Waits; got != 16 {
		t.Errorf("host tensors: %d waits, want 16 (one per chunk)", got)
	}
	xb, _ := b.Alloc(dropout.Float32, n)
	yb, _ := b.Alloc(dropout.Float32, n)
	mb, _ := b.Alloc(dropout.Uint8, (n+7)/8)
	defer xb.Release()
	defer yb.Release()
	defer mb.Release()
	before = d.Stats()
	if err := b.Forward(yb, xb, mb, p); err != nil {
		t.Fatal(err)
	}
	s = d.Stats()
	if got := s.Launches[exec.GenBits] - before.Launches[exec.GenBits]; got != 1 {
		t.Errorf("buffers: %d GenBits launches, want 1", got)
	}
	if got := s.Waits - before.Waits; got != 1 {
		t.Errorf("buffers: %d waits, want 1", got)
	}
	// p = 0 and p = 1 without a mask are a copy and zeros.
	for _, tc := range []struct {
		p float64
		k exec.Kernel
	}{{0, exec.Copy}, {1, exec.Zero}} {
		before = d.Stats()
		if err := b.Backward(yb, xb, nil, dropout.Params{P: tc.p}); err != nil {
			t.Fatal(err)
		}
		if got := d.Stats().Launches[tc.k] - before.Launches[tc.k]; got != 1 {
			t.Errorf("p=%v: %d %v launches, want 1", tc.p, got, tc.k)
		}
	}
	// A device whose launches take at most 64 elements splits buffer calls.
	b, d = newBackend(t, exectest.Config{MaxLaunchElems: 64}, dropout.Options{})
	xb, _ = b.Alloc(dropout.Float32, n)
	yb, _ = b.Alloc(dropout.Float32, n)
	defer xb.Release()
	defer yb.Release()
	before = d.Stats()
	if err := b.Forward(yb, xb, nil, dropout.Params{P: 0.5}); err != nil {
		t.Fatal(err)
	}
	s = d.Stats()
	if got := s.Launches[exec.GenNone] - before.Launches[exec.GenNone]; got != 16 {
		t.Errorf("buffers, 64-element launches: %d GenNone launches, want 16", got)
	}
	if got := s.Waits - before.Waits; got != 1 {
		t.Errorf("buffers, 64-element launches: %d waits, want 1", got)
	}
}

// TestCopy copies in the four directions, with byte lengths that are not
// whole words, across chunks. Only the copy between two buffers launches
// Copy, once (buffers are not chunked); the others move bytes straight to
// or from the buffer.
func TestCopy(t *testing.T) {
	b, d := newBackend(t, exectest.Config{}, dropout.Options{MaxChunkBytes: 256})
	for _, n := range []int{0, 1, 5, 255, 257, 1001} {
		src := make(dropout.Bytes, n)
		for i := range src {
			src[i] = byte(i*7 + 1)
		}
		u, err := b.Alloc(dropout.Uint8, n)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := b.Alloc(dropout.Uint8, n)
		host, back := make(dropout.Bytes, n), make(dropout.Bytes, n)
		before := d.Stats().Launches[exec.Copy]
		for _, step := range []struct {
			name     string
			dst, src dropout.Tensor
		}{{"host to host", host, src}, {"host to device", u, host}, {"device to device", v, u}, {"device to host", back, v}} {
			if err := b.Copy(step.dst, step.src); err != nil {
				t.Fatalf("n=%d, %s: %v", n, step.name, err)
			}
		}
		if err := dropouttest.Equal(back, src); err != nil {
			t.Errorf("n=%d: after four copies: %v", n, err)
		}
		if got, want := d.Stats().Launches[exec.Copy]-before, int64(min(n, 1)); got != want {
			t.Errorf("n=%d: %d Copy launches, want %d", n, got, want)
		}
		u.Release()
		v.Release()
	}
}

// TestOutOfMemory checks the accounting of device memory: errors name the
// bytes wanted and available, and idle staging buffers make room.
func TestOutOfMemory(t *testing.T) {
	b, d := newBackend(t, exectest.Config{Memory: 1 << 20, MaxAlloc: 768 << 10}, dropout.Options{})
	_, err := b.Alloc(dropout.Float32, 1<<18)
	if !errors.Is(err, dropout.ErrOutOfMemory) || !strings.Contains(err.Error(), "1.0 MiB (1048576 bytes)") ||
		!strings.Contains(err.Error(), "768.0 KiB (786432 bytes)") {
		t.Errorf("Alloc beyond MaxAlloc: %v", err)
	}
	// A host call leaves staging buffers of 256 KiB (x, and y in place)
	// and 64 KiB (the mask) behind.
	x := dropouttest.Data(dropout.Float32, 64<<10, 1)
	if err := dropouttest.CompareForward(b, x, dropout.Params{P: 0.5, Mask: dropout.MaskBytes}); err != nil {
		t.Fatal(err)
	}
	if held := d.Stats().Held; held < 320<<10 {
		t.Fatalf("after a host call the device holds %d bytes", held)
	}
	u, err := b.Alloc(dropout.Uint8, 768<<10) // fits only once the staging is freed
	if err != nil {
		t.Fatalf("Alloc that needs the idle staging buffers' memory: %v", err)
	}
	_, err = b.Alloc(dropout.Uint8, 512<<10)
	if !errors.Is(err, dropout.ErrOutOfMemory) || !strings.Contains(err.Error(), "256.0 KiB (262144 bytes)") {
		t.Errorf("Alloc beyond the memory left: %v", err)
	}
	u.Release()
	if u, err = b.Alloc(dropout.Uint8, 512<<10); err != nil {
		t.Errorf("Alloc after a Release made room: %v", err)
	} else {
		u.Release()
	}
}

// TestCloseWaits checks that Close waits for a call in flight, that the
// call completes, and that later calls get ErrClosed.
func TestCloseWaits(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	cfg := exectest.Config{Hook: func(op string) error {
		if op == "GenNone" {
			once.Do(func() { close(entered); <-release })
		}
		return nil
	}}
	b, _ := newBackend(t, cfg, dropout.Options{})
	x := dropouttest.Data(dropout.Float32, 100, 1)
	y := make(dropout.Float32s, 100)
	callErr := make(chan error)
	go func() { callErr <- b.Forward(y, x, nil, dropout.Params{P: 0.5}) }()
	<-entered
	closed := make(chan error)
	go func() { closed <- b.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a call was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-callErr; err != nil {
		t.Errorf("the call in flight: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	want := make(dropout.Float32s, 100)
	if err := b.Forward(want, x, nil, dropout.Params{P: 0.5}); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("Forward after Close: %v, want ErrClosed", err)
	}
}

// TestReleaseInFlight releases a buffer while a call uses it: the call
// completes, later calls get ErrReleased, and the memory is freed when the
// call ends.
func TestReleaseInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var armed sync.Once
	var arm bool
	var mu sync.Mutex
	cfg := exectest.Config{Hook: func(op string) error {
		mu.Lock()
		a := arm
		mu.Unlock()
		if a && op == "GenNone" {
			armed.Do(func() { close(entered); <-release })
		}
		return nil
	}}
	b, d := newBackend(t, cfg, dropout.Options{})
	u, err := b.Alloc(dropout.Float32, 64)
	if err != nil {
		t.Fatal(err)
	}
	mems := d.Stats().Mems
	mu.Lock()
	arm = true
	mu.Unlock()
	done := make(chan error)
	go func() { done <- b.Forward(u, u, nil, dropout.Params{P: 0.5}) }()
	<-entered
	u.Release()
	if err := b.Forward(u, u, nil, dropout.Params{P: 0.5}); !errors.Is(err, dropout.ErrReleased) {
		t.Errorf("a call on a buffer released in flight: %v, want ErrReleased", err)
	}
	if got := d.Stats().Mems; got != mems {
		t.Errorf("a buffer in use was freed at Release")
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("the call in flight: %v", err)
	}
	if got := d.Stats().Mems; got != mems-1 {
		t.Errorf("%d allocations after the call ended, want %d", got, mems-1)
	}
}

// TestDeviceError checks that a device error is the call's, and that the
// backend keeps working after it.
func TestDeviceError(t *testing.T) {
	boom := errors.New("device lost")
	var fail sync.Map
	cfg := exectest.Config{Hook: func(op string) error {
		if _, ok := fail.LoadAndDelete(op); ok {
			return boom
		}
		return nil
	}}
	b, _ := newBackend(t, cfg, dropout.Options{MaxChunkBytes: 256})
	x := dropouttest.Data(dropout.Float32, 1000, 1)
	for _, op := range []string{"Upload", "GenBits", "Download", "Wait"} {
		fail.Store(op, true)
		y, m := make(dropout.Float32s, 1000), make(dropout.Bytes, 125)
		if err := b.Forward(y, x, m, dropout.Params{P: 0.5, Mask: dropout.MaskBits}); !errors.Is(err, boom) {
			t.Errorf("failing %s: got %v", op, err)
		}
		if err := dropouttest.CompareForward(b, x, dropout.Params{P: 0.5, Mask: dropout.MaskBits}); err != nil {
			t.Errorf("after a failed %s: %v", op, err)
		}
	}
	fail.Store("Zero", true)
	if _, err := b.Alloc(dropout.Float32, 10); !errors.Is(err, boom) {
		t.Errorf("Alloc whose zeroing fails: %v", err)
	}
}

// TestBroadcastLimits checks noise shapes beyond the device's limits.
func TestBroadcastLimits(t *testing.T) {
	b, _ := newBackend(t, exectest.Config{MaxLaunchBytes: 256, ApplyMaxDims: 2, ApplyMaxElems: 1000}, dropout.Options{})
	for _, tc := range []struct {
		shape, noise []int
		f            dropout.MaskFormat
		ok           bool
	}{
		{[]int{4, 5, 6}, []int{4, 1, 6}, dropout.MaskBits, false}, // 3 axes
		{[]int{40, 30}, []int{40, 1}, dropout.MaskBits, false},    // 1200 elements
		{[]int{300, 2}, []int{300, 1}, dropout.MaskBytes, false},  // a 300-byte mask
		{[]int{300, 2}, []int{300, 1}, dropout.MaskBits, true},
		{[]int{5, 0, 4}, []int{5, 1, 4}, dropout.MaskBits, true},
	} {
		n := 1
		for _, d := range tc.shape {
			n *= d
		}
		p := dropout.Params{P: 0.5, Mask: tc.f, Shape: tc.shape, NoiseShape: tc.noise}
		err := dropouttest.CompareForward(b, dropouttest.Data(dropout.Float32, n, 1), p)
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, dropout.ErrUnsupported) {
			t.Errorf("shape %v, noise %v, %v: %v", tc.shape, tc.noise, tc.f, err)
		}
	}
}

// TestForeign checks operands the backend does not own.
func TestForeign(t *testing.T) {
	b, _ := newBackend(t, exectest.Config{}, dropout.Options{})
	c, _ := newBackend(t, exectest.Config{}, dropout.Options{})
	u, _ := c.Alloc(dropout.Float32, 8)
	defer u.Release()
	h, _ := driver.NewHostBuffer(dropout.Float32, 8)
	x := make(dropout.Float32s, 8)
	if err := b.Forward(x, u, nil, dropout.Params{P: 0.5}); !errors.Is(err, dropout.ErrForeignBuffer) {
		t.Errorf("another backend's buffer: %v", err)
	}
	if err := b.Forward(h, x, nil, dropout.Params{P: 0.5}); err != nil {
		t.Errorf("a host buffer: %v", err)
	}
	h.Release()
	if err := b.Forward(h, x, nil, dropout.Params{P: 0.5}); !errors.Is(err, dropout.ErrReleased) {
		t.Errorf("a released host buffer: %v", err)
	}
	if _, err := exec.New("exectest", exectest.New(exectest.Config{}), dropout.Options{MaxChunkBytes: -1}); !errors.Is(err, dropout.ErrLength) {
		t.Errorf("negative MaxChunkBytes: %v", err)
	}
}

// TestDirectCopy checks that on a device with Info.DirectCopy a Copy of a
// buffer is one Upload, Download or Copy launch, however many chunks it
// spans.
func TestDirectCopy(t *testing.T) {
	var mu sync.Mutex
	ops := map[string]int{}
	cfg := exectest.Config{DirectCopy: true, Hook: func(op string) error {
		mu.Lock()
		ops[op]++
		mu.Unlock()
		return nil
	}}
	b, _ := newBackend(t, cfg, dropout.Options{MaxChunkBytes: 256})
	data := func(dt dropout.DType, n int, seed uint64) dropout.Tensor {
		if dt == dropout.Uint8 {
			b := make(dropout.Bytes, n)
			for i := range b {
				b[i] = byte(uint64(i)*7 + seed)
			}
			return b
		}
		return dropouttest.Data(dt, n, seed)
	}
	for _, n := range []int{1001, 7} { // 16 chunks of 64 elements, and a mask of 7 bytes
		dt := dropout.Float32
		if n == 7 {
			dt = dropout.Uint8
		}
		x := data(dt, n, 1)
		u, err := b.Alloc(dt, n)
		if err != nil {
			t.Fatal(err)
		}
		defer u.Release()
		v, err := b.Alloc(dt, n)
		if err != nil {
			t.Fatal(err)
		}
		defer v.Release()
		mu.Lock()
		clear(ops)
		mu.Unlock()
		got := data(dt, n, 2)
		if err := errors.Join(u.Write(x), b.Copy(v, u), v.Read(got)); err != nil {
			t.Fatal(err)
		}
		if err := dropouttest.Equal(got, x); err != nil {
			t.Errorf("%v[%d]: %v", dt, n, err)
		}
		mu.Lock()
		if ops["Upload"] != 1 || ops["Copy"] != 1 || ops["Download"] != 1 {
			t.Errorf("%v[%d]: a Write, a Copy and a Read made %d uploads, %d copies and %d downloads, want one each",
				dt, n, ops["Upload"], ops["Copy"], ops["Download"])
		}
		mu.Unlock()
	}
}

// TestOps checks 16-bit data, alpha dropout, the fused op and regions
// (exectest.CheckOps) against the reference on the conformance configs,
// and that a device without the capabilities refuses them.
func TestOps(t *testing.T) {
	for i, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			b, _ := newBackend(t, c.dev, c.opts)
			exectest.CheckOps(t, b, exectest.OpCases(), i > 1) // the full matrix on the first two
		})
	}
	t.Run("NoCaps", func(t *testing.T) {
		b, _ := newBackend(t, exectest.Config{NoAlpha: true, NoFused: true, NoRegions: true}, dropout.Options{})
		exectest.CheckOps(t, b, exectest.OpCases(), true)
	})
}
