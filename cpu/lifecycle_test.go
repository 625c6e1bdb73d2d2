package cpu

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/internal/memlimit"
)

// lifeBackends opens a fresh set of the package's backends: the fast one
// on each kernel set (one of them split into small spans over 3 threads)
// and the reference.
func lifeBackends() []struct {
	name string
	b    dropout.Backend
} {
	split := New(dropout.Options{Threads: 3})
	split.minSpan = 64
	return []struct {
		name string
		b    dropout.Backend
	}{
		{"cpu", New(dropout.Options{})},
		{"cpu/portable", New(dropout.Options{Portable: true})},
		{"cpu/split", split},
		{"reference", NewReference()},
	}
}

// noPanic runs f and turns a panic into an error.
func noPanic(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

func mustAlloc(t *testing.T, b dropout.Backend, dt dropout.DType, n int) dropout.Buffer {
	t.Helper()
	buf, err := b.Alloc(dt, n)
	if err != nil {
		t.Fatalf("Alloc(%v, %d): %v", dt, n, err)
	}
	return buf
}

// TestReleasedBuffers passes released buffers (from Alloc, and from
// driver.NewHostBuffer) as every operand of Forward, Backward and Copy,
// and reads and writes them: each is an error wrapping ErrReleased, never a
// panic.
func TestReleasedBuffers(t *testing.T) {
	for _, be := range lifeBackends() {
		t.Run(be.name, func(t *testing.T) {
			b := be.b
			defer b.Close()
			const n = 40
			p := dropout.Params{P: 0.5, Mask: dropout.MaskBits}
			pb := dropout.Params{P: 0.5, Mask: dropout.MaskBytes}
			x, y, m := mustAlloc(t, b, dropout.Float32, n), mustAlloc(t, b, dropout.Float32, n), mustAlloc(t, b, dropout.Uint8, 5)
			dead := func(dt dropout.DType, n int) dropout.Buffer {
				buf := mustAlloc(t, b, dt, n)
				if err := buf.Release(); err != nil {
					t.Fatal(err)
				}
				if err := buf.Release(); err != nil {
					t.Fatalf("second Release: %v", err)
				}
				return buf
			}
			dx, dy, dm := dead(dropout.Float32, n), dead(dropout.Float32, n), dead(dropout.Uint8, 5)
			dmb := dead(dropout.Uint8, n)
			hb, err := driver.NewHostBuffer(dropout.Float32, n)
			if err != nil {
				t.Fatal(err)
			}
			hb.Release()
			host := make(dropout.Float32s, n)
			for _, tc := range []struct {
				name string
				call func() error
			}{
				{"Forward into a released dst", func() error { return b.Forward(dx, x, m, p) }},
				{"Forward from a released x", func() error { return b.Forward(y, dy, m, p) }},
				{"Forward into a released bit mask", func() error { return b.Forward(y, x, dm, p) }},
				{"Forward into a released byte mask", func() error { return b.Forward(y, x, dmb, pb) }},
				{"Forward from a released x into host memory", func() error { return b.Forward(host, dy, nil, dropout.Params{P: 0.5}) }},
				{"Forward from a released NewHostBuffer", func() error { return b.Forward(host, hb, nil, dropout.Params{P: 0.5}) }},
				{"Forward in place on a released buffer", func() error { return b.Forward(dx, dx, nil, dropout.Params{P: 0.5}) }},
				{"Backward into a released dx", func() error { return b.Backward(dx, y, m, p) }},
				{"Backward from a released dy", func() error { return b.Backward(y, dy, m, p) }},
				{"Backward from a released mask", func() error { return b.Backward(y, x, dm, p) }},
				{"Backward regenerated from a released dy", func() error { return b.Backward(y, dy, nil, dropout.Params{P: 0.5}) }},
				{"Copy into a released buffer", func() error { return b.Copy(dx, x) }},
				{"Copy from a released buffer", func() error { return b.Copy(y, dy) }},
				{"Copy from a released buffer into host memory", func() error { return b.Copy(host, dy) }},
				{"Copy from a released NewHostBuffer", func() error { return b.Copy(host, hb) }},
				{"Read of a released buffer", func() error { return dx.Read(host) }},
				{"Write into a released buffer", func() error { return dx.Write(host) }},
				{"Read into a released buffer", func() error { return x.Read(dy) }},
			} {
				if err := noPanic(tc.call); !errors.Is(err, dropout.ErrReleased) {
					t.Errorf("%s: got %v, want ErrReleased", tc.name, err)
				}
			}
			if dx.Len() != n || dx.DType() != dropout.Float32 {
				t.Errorf("a released buffer reports %v[%d], want float32[%d]", dx.DType(), dx.Len(), n)
			}
			// the live buffers still work
			if err := b.Forward(y, x, m, p); err != nil {
				t.Errorf("Forward on live buffers: %v", err)
			}
			if err := y.Read(host); err != nil {
				t.Errorf("Read of a live buffer: %v", err)
			}
		})
	}
}

// TestClosedBackend checks every call after Close, including the Read and
// Write of a buffer the backend allocated before, and a buffer of a closed
// backend used by one still open: each is an error wrapping ErrClosed.
func TestClosedBackend(t *testing.T) {
	for _, be := range lifeBackends() {
		t.Run(be.name, func(t *testing.T) {
			b := be.b
			other := NewReference()
			defer other.Close()
			kept := mustAlloc(t, b, dropout.Float32, 8)
			mk := mustAlloc(t, b, dropout.Uint8, 1)
			view, err := kept.Slice(2, 5)
			if err != nil {
				t.Fatal(err)
			}
			want := dropout.Float32s{1, 2, 3, 4, 5, 6, 7, 8}
			if err := kept.Write(want); err != nil {
				t.Fatal(err)
			}
			// before Close, the other backend takes b's buffers as host memory
			host := make(dropout.Float32s, 8)
			if err := other.Copy(host, kept); err != nil || host[7] != 8 {
				t.Fatalf("another backend's Copy from a live buffer: %v, %v", err, host)
			}
			if err := b.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			p := dropout.Params{P: 0.5}
			x := make(dropout.Float32s, 8)
			for _, tc := range []struct {
				name string
				call func() error
			}{
				{"Forward", func() error { return b.Forward(x, x, nil, p) }},
				{"Backward", func() error { return b.Backward(x, x, nil, p) }},
				{"Copy", func() error { return b.Copy(x, x) }},
				{"Alloc", func() error { _, err := b.Alloc(dropout.Float32, 8); return err }},
				{"Read of a buffer", func() error { return kept.Read(x) }},
				{"Write into a buffer", func() error { return kept.Write(x) }},
				{"another backend's Forward from a buffer", func() error { return other.Forward(x, kept, nil, p) }},
				{"another backend's Forward into a mask", func() error {
					return other.Forward(x, x, mk, dropout.Params{P: 0.5, Mask: dropout.MaskBits})
				}},
				{"another backend's Copy into a buffer", func() error { return other.Copy(kept, x) }},
				{"Read of a view", func() error { return view.Read(x[:5]) }},
				{"Slice of a buffer", func() error { _, err := kept.Slice(0, 1); return err }},
				{"another backend's Forward into a view", func() error { return other.Forward(view, x[:5], nil, p) }},
			} {
				if err := noPanic(tc.call); !errors.Is(err, dropout.ErrClosed) {
					t.Errorf("%s after Close: got %v, want ErrClosed", tc.name, err)
				}
			}
			if err := kept.Release(); err != nil {
				t.Errorf("Release after Close: %v", err)
			}
			if err := b.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

// TestAllocOutOfMemory asks for more than the machine has, and for sizes
// whose bytes overflow: errors wrapping ErrOutOfMemory that name the bytes
// wanted and available, not the runtime's fatal out-of-memory error. With a
// fake limit it checks the edge exactly.
func TestAllocOutOfMemory(t *testing.T) {
	for _, be := range lifeBackends() {
		b := be.b
		for _, tc := range []struct {
			dt dropout.DType
			n  int64 // beyond int on 32-bit machines: skipped there
		}{
			{dropout.Float32, 1 << 40},
			{dropout.Float64, 1 << 41},
			{dropout.Uint8, 1 << 50},
			{dropout.Float32, math.MaxInt},
			{dropout.Float64, math.MaxInt / 4},
			{dropout.Float64, math.MaxInt/8 + 1},
		} {
			if tc.n > math.MaxInt {
				continue
			}
			buf, err := b.Alloc(tc.dt, int(tc.n))
			if err == nil {
				buf.Release()
				t.Errorf("%s: Alloc(%v, %d) succeeded", be.name, tc.dt, tc.n)
				continue
			}
			if !errors.Is(err, dropout.ErrOutOfMemory) || !strings.Contains(err.Error(), "bytes") {
				t.Errorf("%s: Alloc(%v, %d): got %v, want ErrOutOfMemory naming the bytes", be.name, tc.dt, tc.n, err)
			}
		}
		if _, err := b.Alloc(dropout.Float32, -1); !errors.Is(err, dropout.ErrLength) {
			t.Errorf("%s: Alloc(-1): got %v, want ErrLength", be.name, err)
		}
		if _, err := b.Alloc(dropout.DType(99), 8); !errors.Is(err, dropout.ErrDType) {
			t.Errorf("%s: Alloc of an unknown type: got %v, want ErrDType", be.name, err)
		}
		b.Close()
	}

	saved := hostLimit
	defer func() { hostLimit = saved }()
	hostLimit = func() memlimit.Limit { return memlimit.Limit{Bytes: 1000, Source: "test"} }
	b := New(dropout.Options{})
	if buf, err := b.Alloc(dropout.Float32, 250); err != nil {
		t.Errorf("Alloc of 1000 bytes under a limit of 1000: %v", err)
	} else if buf.Len() != 250 {
		t.Errorf("Alloc(float32, 250) has %d elements", buf.Len())
	}
	_, err := b.Alloc(dropout.Float32, 251)
	if !errors.Is(err, dropout.ErrOutOfMemory) || !strings.Contains(err.Error(), "1004") || !strings.Contains(err.Error(), "1000") {
		t.Errorf("Alloc of 1004 bytes under a limit of 1000: got %v, want ErrOutOfMemory naming 1004 and 1000", err)
	}
	if _, err := b.Alloc(dropout.Float32, 0); err != nil {
		t.Errorf("Alloc of 0 elements: %v", err)
	}
	// an unknown limit still refuses what no allocation can hold
	hostLimit = func() memlimit.Limit { return memlimit.Limit{Bytes: -1} }
	if n := int64(1) << 46; n <= math.MaxInt {
		if _, err := b.Alloc(dropout.Float32, int(n)); !errors.Is(err, dropout.ErrOutOfMemory) {
			t.Errorf("Alloc of 2^48 bytes with an unknown limit: got %v, want ErrOutOfMemory", err)
		}
	}
}

// TestEmptyNoiseShape runs empty tensors whose noise shape broadcasts a
// zero-sized axis, at every position: the tensor has no elements but the
// mask does, and a stored mask is written in full, as the reference does
// and the contract says (the call uses the noise shape's words).
func TestEmptyNoiseShape(t *testing.T) {
	ref := NewReference()
	for _, nc := range []struct{ shape, noise []int }{
		{[]int{3, 0, 4}, []int{3, 1, 4}},
		{[]int{0, 3}, []int{1, 3}},
		{[]int{3, 0}, []int{3, 1}},
		{[]int{0}, []int{1}},
		{[]int{2, 0, 5, 0}, []int{2, 1, 5, 1}},
		{[]int{2, 3, 0}, []int{1, 3, 1}},
		{[]int{0, 1, 7}, []int{1, 1, 7}},
	} {
		for _, be := range lifeBackends() {
			for _, off := range []uint64{5, math.MaxUint64 - 3} {
				for _, f64 := range []bool{false, true} {
					for _, f := range []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes} {
						name := fmt.Sprintf("%s shape=%v noise=%v offset=%#x f64=%v mask=%v", be.name, nc.shape, nc.noise, off, f64, f)
						p := dropout.Params{P: 0.4, Seed: 3, Offset: off, Mask: f, Shape: nc.shape, NoiseShape: nc.noise}
						x, y := wrapData(f64, 0, 1), wrapData(f64, 0, 1)
						o := newWrapOracle(p.Seed, p.Offset, p.P, 0, nc.shape, nc.noise)
						var m, mr dropout.Bytes
						if f != dropout.MaskNone {
							m, mr = make(dropout.Bytes, f.Bytes(len(o.keep))), make(dropout.Bytes, f.Bytes(len(o.keep)))
							for i := range m {
								m[i], mr[i] = 0xA5, 0x5A
							}
						}
						if err := noPanic(func() error { return be.b.Forward(y, x, m, p) }); err != nil {
							t.Fatalf("%s: Forward: %v", name, err)
						}
						if err := ref.Forward(y, x, mr, p); err != nil {
							t.Fatalf("%s: reference Forward: %v", name, err)
						}
						if f != dropout.MaskNone {
							if d := firstDiff(m, o.mask(f)); d != "" {
								t.Errorf("%s: mask differs from the stream: %s", name, d)
							}
							if d := firstDiff(m, mr); d != "" {
								t.Errorf("%s: mask differs from the reference's: %s", name, d)
							}
						}
						if err := noPanic(func() error { return be.b.Backward(y, x, m, p) }); err != nil {
							t.Errorf("%s: Backward: %v", name, err)
						}
					}
				}
			}
		}
	}
}

// concJob is one call sequence of TestConcurrentUse, with the results a
// serial run of the reference backend gave.
type concJob struct {
	x      dropout.Tensor
	p      dropout.Params
	bufs   bool // through Alloc'd buffers, else host slices
	wantY  dropout.Tensor
	wantM  dropout.Bytes
	wantDx dropout.Tensor
}

func concJobs(workers, rounds int) [][]*concJob {
	ref := NewReference()
	jobs := make([][]*concJob, workers)
	formats := []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes}
	for w := range jobs {
		for r := range rounds {
			n := []int{1, 33, 1023, 4099, 65541, 5 * 6 * 7}[(w*3+r)%6]
			p := dropout.Params{P: []float64{0.1, 0.5, 0.9, 0}[r%4], Seed: uint64(w), Mask: formats[(w+r)%3],
				Offset: []uint64{uint64(r) * 1e6, math.MaxUint64 - uint64(w*7+r)}[(w+r)%2]}
			if n == 5*6*7 {
				p.Shape, p.NoiseShape = []int{5, 6, 7}, []int{5, 1, 7}
			}
			j := &concJob{x: wrapData((w+r)%2 == 1, n, uint64(w*100+r)), p: p, bufs: (w+r/2)%2 == 1}
			j.wantY, j.wantDx = zerosLike(j.x), zerosLike(j.x)
			j.wantM = make(dropout.Bytes, p.Mask.Bytes(p.MaskLen(n)))
			if err := ref.Forward(j.wantY, j.x, j.wantM, p); err != nil {
				panic(err)
			}
			if err := ref.Backward(j.wantDx, j.x, j.wantM, p); err != nil {
				panic(err)
			}
			jobs[w] = append(jobs[w], j)
		}
	}
	return jobs
}

// run runs the job on b: forward, mask, backward and a copy, on host slices
// or on b's buffers. Errors of calls are returned as they are (ErrClosed
// when b closes under it); wrong results are errors that wrap none of the
// package's sentinels.
func (j *concJob) run(b dropout.Backend) error {
	n, dt := j.x.Len(), j.x.DType()
	var m dropout.Tensor
	if j.p.Mask != dropout.MaskNone {
		m = make(dropout.Bytes, len(j.wantM))
	}
	check := func(what string, got, want dropout.Tensor) error {
		if d := firstDiff(got, want); d != "" {
			return fmt.Errorf("%s (n=%d, %+v, buffers=%v): %s", what, n, j.p, j.bufs, d)
		}
		return nil
	}
	if !j.bufs {
		y := zerosLike(j.x)
		if err := b.Forward(y, j.x, m, j.p); err != nil {
			return err
		}
		if err := check("y", y, j.wantY); err != nil {
			return err
		}
		if m != nil {
			if err := check("mask", m, j.wantM); err != nil {
				return err
			}
		}
		if err := b.Backward(y, j.x, m, j.p); err != nil {
			return err
		}
		if err := check("dx", y, j.wantDx); err != nil {
			return err
		}
		if err := b.Copy(y, j.x); err != nil {
			return err
		}
		return check("copy", y, j.x)
	}
	var bufs []dropout.Buffer
	defer func() {
		for _, buf := range bufs {
			buf.Release()
		}
	}()
	alloc := func(dt dropout.DType, n int) (dropout.Buffer, error) {
		buf, err := b.Alloc(dt, n)
		if err == nil {
			bufs = append(bufs, buf)
		}
		return buf, err
	}
	xb, err := alloc(dt, n)
	if err != nil {
		return err
	}
	yb, err := alloc(dt, n)
	if err != nil {
		return err
	}
	var mt dropout.Tensor
	if m != nil {
		mb, err := alloc(dropout.Uint8, m.Len())
		if err != nil {
			return err
		}
		mt = mb
	}
	if err := xb.Write(j.x); err != nil {
		return err
	}
	if err := b.Forward(yb, xb, mt, j.p); err != nil {
		return err
	}
	got := zerosLike(j.x)
	if err := yb.Read(got); err != nil {
		return err
	}
	if err := check("y on buffers", got, j.wantY); err != nil {
		return err
	}
	if mt != nil {
		if err := mt.(dropout.Buffer).Read(m); err != nil {
			return err
		}
		if err := check("mask on buffers", m, j.wantM); err != nil {
			return err
		}
	}
	if err := b.Backward(yb, xb, mt, j.p); err != nil {
		return err
	}
	if err := yb.Read(got); err != nil {
		return err
	}
	if err := check("dx on buffers", got, j.wantDx); err != nil {
		return err
	}
	if err := b.Copy(yb, xb); err != nil {
		return err
	}
	if err := yb.Read(got); err != nil {
		return err
	}
	return check("copy on buffers", got, j.x)
}

// TestConcurrentUse shares one backend among 8 goroutines, on host slices
// and Alloc'd buffers, every mask format, noise shapes and offsets across
// the end of the stream; every result must equal a serial run of the
// reference. Then it closes each backend while the goroutines are still
// calling: each call either finishes correctly or returns ErrClosed, and
// every call after Close returns ErrClosed. Run it with -race.
func TestConcurrentUse(t *testing.T) {
	const workers = 8
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	jobs := concJobs(workers, rounds)
	for _, be := range lifeBackends() {
		t.Run(be.name, func(t *testing.T) {
			b := be.b
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for r, j := range jobs[w] {
						if err := j.run(b); err != nil {
							t.Errorf("goroutine %d, round %d: %v", w, r, err)
							return
						}
					}
				}()
			}
			wg.Wait()

			// Close while calls are in flight.
			started := make(chan struct{}, workers)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						err := jobs[w][i%rounds].run(b)
						if i == 0 {
							started <- struct{}{}
						}
						if errors.Is(err, dropout.ErrClosed) {
							return
						}
						if err != nil {
							t.Errorf("goroutine %d, call %d while closing: %v", w, i, err)
							return
						}
					}
				}()
			}
			for range workers {
				<-started
			}
			if err := b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := b.Forward(make(dropout.Float32s, 4), make(dropout.Float32s, 4), nil, dropout.Params{P: 0.5}); !errors.Is(err, dropout.ErrClosed) {
				t.Errorf("Forward after Close: got %v, want ErrClosed", err)
			}
			wg.Wait()
		})
	}
}
