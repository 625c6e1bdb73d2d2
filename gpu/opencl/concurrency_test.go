//go:build cgo && !noopencl

package opencl

import (
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/internal/exec"
)

// concCase is one call of TestConcurrentCalls with the reference's answers.
type concCase struct {
	name           string
	x              dropout.Tensor
	p              dropout.Params
	want, wantMask dropout.Tensor
	wantdx         dropout.Tensor // backward from the stored mask (or regenerated)
}

// concCases computes, serially and on the reference backend, the answers of
// the calls TestConcurrentCalls makes: every mask format, float32 and (where
// the device has it) float64, flat and noise-shaped, sizes that split into
// several chunks.
func concCases(t *testing.T, dtypes []dropout.DType) []concCase {
	ref := cpu.NewReference()
	var cases []concCase
	for i, dt := range dtypes {
		for j, f := range dropouttest.Formats {
			for k, shape := range [][2][]int{{nil, nil}, {{6, 50, 7}, {6, 1, 7}}} {
				for _, n := range []int{1, 37, 2100} {
					if shape[0] != nil {
						n = 6 * 50 * 7
					}
					p := dropout.Params{P: []float64{0.3, 0.5, 0.9}[(i+j+k)%3], Seed: uint64(100*i + 10*j + k), Offset: uint64(n) * 977,
						Mask: f, Shape: shape[0], NoiseShape: shape[1]}
					x := dropouttest.Data(dt, n, uint64(n+j))
					m := p.MaskLen(n)
					c := concCase{name: fmt.Sprintf("%v n=%d %v noise=%v", dt, n, f, shape[1]), x: x, p: p,
						want: zerosLike(x), wantdx: zerosLike(x)}
					var wm dropout.Tensor
					if f != dropout.MaskNone {
						wm = make(dropout.Bytes, f.Bytes(m))
						c.wantMask = wm
					}
					if err := ref.Forward(c.want, x, wm, p); err != nil {
						t.Fatal(err)
					}
					if err := ref.Backward(c.wantdx, x, wm, p); err != nil {
						t.Fatal(err)
					}
					cases = append(cases, c)
					if shape[0] != nil {
						break
					}
				}
			}
		}
	}
	return cases
}

// runConcCase runs one case on b, with host tensors or with device buffers,
// and compares every output with the reference's.
func runConcCase(b *Backend, c concCase, onDevice bool) error {
	n := c.x.Len()
	if !onDevice {
		got := zerosLike(c.x)
		var gm dropout.Tensor
		if c.wantMask != nil {
			gm = make(dropout.Bytes, c.wantMask.Len())
		}
		if err := b.Forward(got, c.x, gm, c.p); err != nil {
			return fmt.Errorf("Forward: %w", err)
		}
		if err := dropouttest.Equal(got, c.want); err != nil {
			return fmt.Errorf("Forward: %w", err)
		}
		if gm != nil {
			if err := dropouttest.Equal(gm, c.wantMask); err != nil {
				return fmt.Errorf("Forward mask: %w", err)
			}
		}
		dx := zerosLike(c.x)
		if err := b.Backward(dx, c.x, gm, c.p); err != nil {
			return fmt.Errorf("Backward: %w", err)
		}
		return dropouttest.Equal(dx, c.wantdx)
	}
	var bufs []dropout.Buffer
	defer func() {
		for _, u := range bufs {
			u.Release()
		}
	}()
	alloc := func(dt dropout.DType, n int) (dropout.Buffer, error) {
		u, err := b.Alloc(dt, n)
		if err == nil {
			bufs = append(bufs, u)
		}
		return u, err
	}
	xb, err1 := alloc(c.x.DType(), n)
	yb, err2 := alloc(c.x.DType(), n)
	cb, err3 := alloc(c.x.DType(), n)
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	var mt dropout.Tensor
	var mb dropout.Buffer
	if c.wantMask != nil {
		var err error
		if mb, err = alloc(dropout.Uint8, c.wantMask.Len()); err != nil {
			return err
		}
		mt = mb
	}
	if err := xb.Write(c.x); err != nil {
		return err
	}
	if err := b.Copy(cb, xb); err != nil { // device to device
		return err
	}
	if err := b.Forward(yb, cb, mt, c.p); err != nil {
		return fmt.Errorf("Forward on buffers: %w", err)
	}
	got := zerosLike(c.x)
	if err := yb.Read(got); err != nil {
		return err
	}
	if err := dropouttest.Equal(got, c.want); err != nil {
		return fmt.Errorf("Forward on buffers: %w", err)
	}
	if mb != nil {
		gm := make(dropout.Bytes, mb.Len())
		if err := b.Copy(gm, mb); err != nil { // device to host
			return err
		}
		if err := dropouttest.Equal(gm, c.wantMask); err != nil {
			return fmt.Errorf("mask buffer: %w", err)
		}
	}
	if err := b.Backward(cb, cb, mt, c.p); err != nil { // in place
		return fmt.Errorf("Backward on buffers: %w", err)
	}
	if err := cb.Read(got); err != nil {
		return err
	}
	if err := dropouttest.Equal(got, c.wantdx); err != nil {
		return fmt.Errorf("Backward on buffers: %w", err)
	}
	return nil
}

// TestConcurrentCalls shares one backend between 8 goroutines, each making
// calls on host tensors and on device buffers (Alloc, Write, Copy, Forward,
// Backward, Read, Release) in every mask format, and compares every result
// with the reference's, computed serially beforehand. Run it with -race.
func TestConcurrentCalls(t *testing.T) {
	for _, opts := range []dropout.Options{
		{Device: pocl},
		{Device: pocl, MaxChunkBytes: 1024}, // calls of many chunks
	} {
		t.Run(fmt.Sprintf("chunk%d", opts.MaxChunkBytes), func(t *testing.T) {
			b := openDevice(t, opts)
			cases := concCases(t, b.DTypes())
			const goroutines = 8
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range cases {
						c := cases[(i+5*g)%len(cases)]
						if err := runConcCase(b, c, (i+g)%2 == 0); err != nil {
							errs <- fmt.Errorf("goroutine %d, %s: %w", g, c.name, err)
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
			qs, held := b.dev.queues.Load(), b.dev.held.Load()
			if qs > queues {
				t.Errorf("after the calls: %d queues (at most %d)", qs, queues)
			}
			t.Logf("%d queues, %d bytes of staging held", qs, held)
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			checkFreed(t, b)
		})
	}
}

// concurrentOpenEnv marks the inner runs of TestConcurrentOpen.
const concurrentOpenEnv = "DROPOUT_OPENCL_CONCURRENT_OPEN"

// TestConcurrentOpen runs 8 goroutines that Open, use and Close backends
// and list devices at the same time, as the very first OpenCL calls of a
// process: the test binary runs itself again for each try, since an
// implementation initialises its devices only once per process. (PoCL's
// initialisation is unsafe against concurrent first calls: without the
// serialisation in loader_dl.c this crashed in clGetDeviceInfo or reported
// "no usable device".)
func TestConcurrentOpen(t *testing.T) {
	if os.Getenv(concurrentOpenEnv) != "" {
		concurrentOpen(t)
		return
	}
	openDevice(t, dropoutOpts(pocl)).Close() // skip without PoCL
	for try := range 3 {
		cmd := osexec.Command(os.Args[0], "-test.run=^TestConcurrentOpen$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), concurrentOpenEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "concurrent opens done") {
			t.Fatalf("try %d: %v\n%s", try, err, lastLines(out, 40))
		}
	}
}

// concurrentOpen is the inner run of TestConcurrentOpen.
func concurrentOpen(t *testing.T) {
	const goroutines = 8
	x := dropouttest.Data(dropout.Float32, 100, 1)
	p := dropout.Params{P: 0.5, Seed: 7, Mask: dropout.MaskBits}
	want, wm := make(dropout.Float32s, 100), make(dropout.Bytes, 13)
	if err := cpu.NewReference().Forward(want, x, wm, p); err != nil {
		t.Fatal(err)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*4)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for r := range 3 {
				if (g+r)%3 == 0 {
					devs, err := (Driver{}).Devices()
					if err != nil || len(devs) == 0 {
						errs <- fmt.Errorf("goroutine %d: Devices: %v, %v", g, devs, err)
					}
					continue
				}
				be, err := (Driver{}).Open(dropout.Options{Device: pocl})
				if err != nil {
					errs <- fmt.Errorf("goroutine %d: Open: %w", g, err)
					continue
				}
				got, gm := make(dropout.Float32s, 100), make(dropout.Bytes, 13)
				if err := be.Forward(got, x, gm, p); err != nil {
					errs <- fmt.Errorf("goroutine %d: Forward: %w", g, err)
				} else if err := errors.Join(dropouttest.Equal(got, want), dropouttest.Equal(gm, wm)); err != nil {
					errs <- fmt.Errorf("goroutine %d: %w", g, err)
				}
				if err := be.Close(); err != nil {
					errs <- fmt.Errorf("goroutine %d: Close: %w", g, err)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Log("concurrent opens done")
}

// TestCloseDuringCalls closes a backend while goroutines make calls on it
// and on its buffers: each call either works, with the right result, or
// returns ErrClosed; nothing crashes, and Close waits for the calls that
// started before it.
func TestCloseDuringCalls(t *testing.T) {
	openDevice(t, dropoutOpts(pocl)).Close() // skip without PoCL
	const n = 3000
	x := dropouttest.Data(dropout.Float32, n, 3).(dropout.Float32s)
	ref := cpu.NewReference()
	for try := range 4 {
		b, err := Open(dropout.Options{Device: pocl, MaxChunkBytes: 2048})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		started := make(chan struct{}, 8)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var once sync.Once
				signal := func() { once.Do(func() { started <- struct{}{} }) }
				defer signal()
				var buf dropout.Buffer
				for r := 0; ; r++ {
					p := dropout.Params{P: 0.4, Seed: uint64(g), Offset: uint64(r), Mask: dropouttest.Formats[r%3]}
					want, wm := make(dropout.Float32s, n), make(dropout.Bytes, p.Mask.Bytes(n))
					ref.Forward(want, x, maskArg(p.Mask, wm), p)
					got, gm := make(dropout.Float32s, n), make(dropout.Bytes, p.Mask.Bytes(n))
					var err error
					switch {
					case g%2 == 0:
						err = b.Forward(got, x, maskArg(p.Mask, gm), p)
					case buf == nil:
						p.Mask = dropout.MaskNone
						want = x
						if buf, err = b.Alloc(dropout.Float32, n); err == nil {
							if err = buf.Write(x); err == nil {
								err = buf.Read(got)
							}
						}
					default:
						p.Mask = dropout.MaskNone
						ref.Forward(want, x, nil, p)
						if err = buf.Write(x); err == nil {
							if err = b.Forward(buf, buf, nil, p); err == nil {
								err = buf.Read(got)
							}
						}
					}
					if r == 1 {
						signal()
					}
					if errors.Is(err, dropout.ErrClosed) {
						return
					}
					if err == nil {
						err = dropouttest.Equal(got, want)
						if err == nil && p.Mask != dropout.MaskNone {
							err = dropouttest.Equal(gm, wm)
						}
					}
					if err != nil {
						errs <- fmt.Errorf("goroutine %d, call %d: %w", g, r, err)
						return
					}
				}
			}()
		}
		for range 8 {
			<-started
		}
		if err := b.Close(); err != nil {
			t.Errorf("try %d: Close: %v", try, err)
		}
		for _, err := range []error{
			b.Forward(make(dropout.Float32s, 4), make(dropout.Float32s, 4), nil, dropout.Params{}),
			b.Copy(make(dropout.Float32s, 4), make(dropout.Float32s, 4)),
		} {
			if !errors.Is(err, dropout.ErrClosed) {
				t.Errorf("try %d: a call after Close returned: got %v, want ErrClosed", try, err)
			}
		}
		if _, err := b.Alloc(dropout.Float32, 4); !errors.Is(err, dropout.ErrClosed) {
			t.Errorf("try %d: Alloc after Close: got %v, want ErrClosed", try, err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		checkFreed(t, b)
	}
}

// TestReleaseDuringCalls releases buffers while other goroutines use them:
// each call works, with the right result, or returns ErrReleased; memory is
// freed once the last call using a buffer ends.
func TestReleaseDuringCalls(t *testing.T) {
	b := openDevice(t, dropout.Options{Device: pocl, MaxChunkBytes: 1024})
	const n = 2000
	x := dropouttest.Data(dropout.Float32, n, 9)
	p := dropout.Params{P: 0.5, Seed: 1}
	want := make(dropout.Float32s, n)
	if err := cpu.NewReference().Forward(want, x, nil, p); err != nil {
		t.Fatal(err)
	}
	for try := range 10 {
		src, err := b.Alloc(dropout.Float32, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := src.Write(x); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got := make(dropout.Float32s, n)
					var err error
					if g%2 == 0 {
						err = b.Forward(got, src, nil, p)
					} else {
						err = src.Read(got)
						want := x
						if err == nil {
							err = dropouttest.Equal(got, want)
						}
						if err != nil && !errors.Is(err, dropout.ErrReleased) {
							errs <- fmt.Errorf("Read: %w", err)
						}
						if err != nil {
							return
						}
						continue
					}
					if errors.Is(err, dropout.ErrReleased) {
						return
					}
					if err == nil {
						err = dropouttest.Equal(got, want)
					}
					if err != nil {
						errs <- fmt.Errorf("try %d, goroutine %d: %w", try, g, err)
						return
					}
				}
			}()
		}
		if err := src.Release(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if err := src.Write(x); !errors.Is(err, dropout.ErrReleased) {
			t.Errorf("Write after Release: got %v, want ErrReleased", err)
		}
		if src.(*exec.Buffer).Mem() != nil {
			t.Errorf("try %d: the buffer's memory is not freed once the calls using it ended", try)
		}
	}
}

// checkFreed checks that a closed backend left no OpenCL memory or queue.
func checkFreed(t *testing.T, b *Backend) {
	t.Helper()
	if held, mems, qs := b.dev.held.Load(), b.dev.mems.Load(), b.dev.queues.Load(); held != 0 || mems != 0 || qs != 0 {
		t.Errorf("after Close: %d bytes in %d allocations and %d queues left", held, mems, qs)
	}
}
