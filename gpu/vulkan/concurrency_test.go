//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
)

// job is one goroutine's share of TestConcurrentCalls: its data and the
// reference's results, computed serially beforehand.
type job struct {
	x, dy     dropout.Float32s
	p         [3]dropout.Params // by mask format
	y, dx     [3]dropout.Float32s
	mask      [3]dropout.Tensor
	noise     dropout.Params // a noise-shape call with a bits mask
	ny, nmask dropout.Tensor
}

func newJob(t *testing.T, g int, n int) *job {
	ref := cpu.NewReference()
	j := &job{x: dropouttest.Data(dropout.Float32, n, uint64(g)).(dropout.Float32s), dy: dropouttest.Data(dropout.Float32, n, uint64(g)+50).(dropout.Float32s)}
	for i, f := range dropouttest.Formats {
		j.p[i] = dropout.Params{P: 0.1 + 0.1*float64(g%8), Seed: uint64(1000 + g), Offset: uint64(g)*1_000_003 - 5, Mask: f}
		j.y[i], j.dx[i] = make(dropout.Float32s, n), make(dropout.Float32s, n)
		j.mask[i] = dropouttest.NewMask(f, n)
		if err := ref.Forward(j.y[i], j.x, j.mask[i], j.p[i]); err != nil {
			t.Fatal(err)
		}
		if err := ref.Backward(j.dx[i], j.dy, j.mask[i], j.p[i]); err != nil {
			t.Fatal(err)
		}
	}
	j.noise = dropout.Params{P: 0.5, Seed: uint64(g), Offset: uint64(g) << 40, Mask: dropout.MaskBits, Shape: []int{n / 10, 10}, NoiseShape: []int{n / 10, 1}}
	j.ny, j.nmask = dropout.Float32s(make([]float32, n/10*10)), dropouttest.NewMask(dropout.MaskBits, n/10)
	if err := ref.Forward(j.ny, j.x[:n/10*10], j.nmask, j.noise); err != nil {
		t.Fatal(err)
	}
	return j
}

// run runs the job's calls on b, on host tensors and on b's buffers, and
// returns the first difference from the reference.
func (j *job) run(b dropout.Backend) error {
	n := len(j.x)
	for i, f := range dropouttest.Formats {
		p := j.p[i]
		// host tensors
		y, m := make(dropout.Float32s, n), dropouttest.NewMask(f, n)
		if err := b.Forward(y, j.x, m, p); err != nil {
			return fmt.Errorf("host Forward %v: %w", f, err)
		}
		if err := dropouttest.Equal(y, j.y[i]); err != nil {
			return fmt.Errorf("host Forward %v: %w", f, err)
		}
		if f != dropout.MaskNone {
			if err := dropouttest.Equal(m, j.mask[i]); err != nil {
				return fmt.Errorf("host Forward %v mask: %w", f, err)
			}
		} else {
			m = nil
		}
		dx := make(dropout.Float32s, n)
		if err := b.Backward(dx, j.dy, m, p); err != nil {
			return fmt.Errorf("host Backward %v: %w", f, err)
		}
		if err := dropouttest.Equal(dx, j.dx[i]); err != nil {
			return fmt.Errorf("host Backward %v: %w", f, err)
		}
		// device buffers: forward, backward in place, copies
		y2 := make(dropout.Float32s, n)
		if err := run2(b, true, y2, j.x, dropouttest.NewMask(f, n), p, false); err != nil {
			return fmt.Errorf("device Forward %v: %w", f, err)
		}
		if err := dropouttest.Equal(y2, j.y[i]); err != nil {
			return fmt.Errorf("device Forward %v: %w", f, err)
		}
		dx2 := make(dropout.Float32s, n)
		if err := run2(b, true, dx2, j.dy, m, p, true); err != nil {
			return fmt.Errorf("device Backward %v: %w", f, err)
		}
		if err := dropouttest.Equal(dx2, j.dx[i]); err != nil {
			return fmt.Errorf("device Backward %v: %w", f, err)
		}
	}
	// Copy: host to host, and buffer to buffer
	c := make(dropout.Float32s, n)
	if err := b.Copy(c, j.x); err != nil {
		return fmt.Errorf("Copy: %w", err)
	}
	if err := dropouttest.Equal(c, j.x); err != nil {
		return fmt.Errorf("Copy: %w", err)
	}
	src, err := b.Alloc(dropout.Float32, n)
	if err != nil {
		return err
	}
	defer src.Release()
	dst, err := b.Alloc(dropout.Float32, n)
	if err != nil {
		return err
	}
	defer dst.Release()
	if err := src.Write(j.dy); err != nil {
		return err
	}
	if err := b.Copy(dst, src); err != nil {
		return err
	}
	if err := dst.Read(c); err != nil {
		return err
	}
	if err := dropouttest.Equal(c, j.dy); err != nil {
		return fmt.Errorf("Copy of buffers: %w", err)
	}
	// a noise shape
	ny, nm := dropout.Float32s(make([]float32, n/10*10)), dropouttest.NewMask(dropout.MaskBits, n/10)
	if err := b.Forward(ny, j.x[:n/10*10], nm, j.noise); err != nil {
		return fmt.Errorf("noise-shape Forward: %w", err)
	}
	if err := dropouttest.Equal(ny, j.ny); err != nil {
		return fmt.Errorf("noise-shape Forward: %w", err)
	}
	if err := dropouttest.Equal(nm, j.nmask); err != nil {
		return fmt.Errorf("noise-shape Forward mask: %w", err)
	}
	return nil
}

// TestConcurrentCalls shares one backend between 8 goroutines, each running
// forward and backward in every mask format on host tensors and on device
// buffers, copies, allocations and a noise shape, several times over, and
// compares everything with the reference's serial results. Dispatches of
// 1 KiB make each call many dispatches and (past 64 descriptor sets)
// several submissions. Run it under -race.
func TestConcurrentCalls(t *testing.T) {
	b := openTest(t, dropout.Options{MaxChunkBytes: 1 << 10})
	const goroutines, rounds = 8, 3
	jobs := make([]*job, goroutines)
	for g := range jobs {
		jobs[g] = newJob(t, g, 3000+g*331)
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				if err := jobs[g].run(b); err != nil {
					errs <- fmt.Errorf("goroutine %d, round %d: %w", g, r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestConcurrentOpenClose opens and closes backends and lists devices from
// several goroutines at once.
func TestConcurrentOpenClose(t *testing.T) {
	first, err := Open(dropout.Options{Device: lavapipe})
	dropouttest.Require(t, "Vulkan device (lavapipe)", err)
	first.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 4 {
				if g%3 == 0 {
					if _, err := (Driver{}).Devices(); err != nil {
						errs <- fmt.Errorf("Devices: %w", err)
						return
					}
					continue
				}
				be, err := Driver{}.Open(dropout.Options{Device: lavapipe, Debug: g%3 == 2})
				if err != nil {
					errs <- fmt.Errorf("Open: %w", err)
					return
				}
				x := make(dropout.Float32s, 100+i)
				if err := be.Forward(x, x, nil, dropout.Params{P: 0.5, Seed: uint64(g)}); err != nil {
					errs <- fmt.Errorf("Forward: %w", err)
				}
				if err := be.Close(); err != nil {
					errs <- fmt.Errorf("Close: %w", err)
				}
				if msgs := be.(*Backend).ValidationMessages(); len(msgs) > 0 {
					errs <- fmt.Errorf("validation: %q", msgs)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestCloseDuringCalls closes a backend while goroutines keep calling it
// and its buffers: every call either finishes or returns ErrClosed (a
// buffer released by one goroutine is ErrReleased to the others), never
// anything else, and nothing crashes.
func TestCloseDuringCalls(t *testing.T) {
	b, err := Open(dropout.Options{Device: lavapipe, Debug: true})
	dropouttest.Require(t, "Vulkan device (lavapipe) with the validation layer", err)
	const n = 20000
	x := dropouttest.Data(dropout.Float32, n, 1).(dropout.Float32s)
	shared, err := b.Alloc(dropout.Float32, n)
	if err != nil {
		t.Fatal(err)
	}
	var calls, closed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	check := func(what string, err error) bool {
		switch {
		case err == nil:
			calls.Add(1)
			return true
		case errors.Is(err, dropout.ErrClosed):
			closed.Add(1)
			return false
		case errors.Is(err, dropout.ErrReleased) && what == "shared":
			return true
		}
		errs <- fmt.Errorf("%s: %w", what, err)
		return false
	}
	start := make(chan struct{})
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			y := make(dropout.Float32s, n)
			m := dropouttest.NewMask(dropout.MaskBits, n)
			for i := 0; ; i++ {
				p := dropout.Params{P: 0.5, Seed: uint64(g), Offset: uint64(i), Mask: dropout.MaskBits}
				switch g % 3 {
				case 0:
					if !check("Forward", b.Forward(y, x, m, p)) {
						return
					}
				case 1:
					buf, err := b.Alloc(dropout.Float32, n)
					if !check("Alloc", err) {
						return
					}
					ok := check("Write", buf.Write(x)) && check("Forward on a buffer", b.Forward(buf, buf, m, p)) && check("Read", buf.Read(y))
					if err := buf.Release(); err != nil {
						errs <- fmt.Errorf("Release: %w", err)
					}
					if !ok {
						return
					}
				case 2:
					if !check("shared", shared.Write(x)) || !check("shared", b.Backward(y, shared, m, p)) || !check("shared", b.Copy(y, shared)) {
						return
					}
					if i == 5 && g == 2 {
						shared.Release() // the others now see ErrReleased
					}
				}
			}
		}()
	}
	close(start)
	time.Sleep(300 * time.Millisecond)
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if closed.Load() == 0 {
		t.Error("no call saw ErrClosed")
	}
	t.Logf("%d calls finished, %d got ErrClosed", calls.Load(), closed.Load())
	// After Close: the shared buffer and new calls are ErrClosed; Release
	// and Close are harmless.
	if err := shared.Read(x); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("Read after Close: got %v, want ErrClosed", err)
	}
	if err := shared.Release(); err != nil {
		t.Errorf("Release after Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	checkMessages(t, b)
}
