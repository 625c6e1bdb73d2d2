package dropouttest

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"testing"

	"github.com/gpudropout/dropout"
)

// WrapOffsets are offsets just below 2^64: a call there crosses the end of
// the stream and continues at word 0 (the block counter wraps from 2^62-1
// to 0). Together with the sizes of wrap they put the wrap at every
// position in a Philox block, a bit-mask byte and a 32-bit mask word.
var WrapOffsets = func() []uint64 {
	var o []uint64
	for k := uint64(1); k <= 40; k++ {
		o = append(o, -k)
	}
	return append(o, math.MaxUint64-999, math.MaxUint64-(1<<20+6))
}()

// wrap checks calls that cross the end of the stream: forward against the
// reference and against the stream words directly (the reference could
// share a bug), backward from a stored mask and regenerated, noise shapes.
func (s *suite) wrap(t *testing.T) {
	for i, dt := range s.cfg.DTypes {
		for _, off := range WrapOffsets {
			k := -off // words before the wrap
			if i > 0 && k != 1 && k != 6 && k != 33 {
				continue // every wrap position for the first type, a few for the others
			}
			sizes := []int{int(min(k+3, 64)), 1027}
			if k > 40 {
				sizes = []int{int(min(k+50, uint64(s.cfg.Large)))}
			}
			for _, n := range sizes {
				x := Data(dt, n, uint64(n)+k)
				for _, f := range Formats {
					p := dropout.Params{P: 0.5, Seed: Seeds[1], Offset: off, Mask: f}
					s.check(t, x, p)
					s.checkKeep(t, x, p)
					s.checkBackward(t, x, p)
				}
			}
		}
		// a noise shape whose mask crosses the wrap
		shape, noise := []int{5, 6, 7}, []int{5, 1, 7}
		x := Data(dt, 5*6*7, 4)
		for _, off := range []uint64{math.MaxUint64, math.MaxUint64 - 2, math.MaxUint64 - 16, math.MaxUint64 - 33} {
			for _, f := range Formats {
				p := dropout.Params{P: 0.3, Seed: 11, Offset: off, Mask: f, Shape: shape, NoiseShape: noise}
				s.check(t, x, p)
				s.checkBackward(t, x, p)
			}
		}
	}
}

// checkKeep compares the backend's keep decisions with the stream itself.
func (s *suite) checkKeep(t *testing.T, x dropout.Tensor, p dropout.Params) {
	t.Helper()
	n := x.Len()
	f := p.Mask
	if f == dropout.MaskNone {
		return
	}
	m := NewMask(f, n)
	if err := s.b.Forward(Zeros(x.DType(), n), x, m, p); err != nil {
		t.Fatal(err)
	}
	for j := range n {
		want := dropout.Keep(p.Seed, p.Offset, uint64(j), p.P)
		if got := bit(m, f, j) == 1; got != want {
			t.Fatalf("n=%d, offset=%#x, %v mask: element %d (word %#x) kept=%v, the stream says %v",
				n, p.Offset, f, j, p.Offset+uint64(j), got, want)
		}
	}
}

// checkBackward compares backward with the reference, from the mask the
// backend stored and regenerated from (seed, offset).
func (s *suite) checkBackward(t *testing.T, x dropout.Tensor, p dropout.Params) {
	t.Helper()
	dt, n := x.DType(), x.Len()
	base := p
	base.Mask = dropout.MaskNone
	want := Zeros(dt, n)
	if err := s.ref.Backward(want, x, nil, base); err != nil {
		t.Fatal(err)
	}
	got := Zeros(dt, n)
	if err := s.b.Backward(got, x, nil, base); err != nil {
		t.Fatalf("Backward regenerated: %v", err)
	}
	if err := Equal(got, want); err != nil {
		t.Fatalf("Backward(n=%d, offset=%#x, regenerated) differs from the reference: %v", n, p.Offset, err)
	}
	if p.Mask == dropout.MaskNone {
		return
	}
	m := NewMask(p.Mask, p.MaskLen(n))
	if err := s.b.Forward(Zeros(dt, n), x, m, p); err != nil {
		t.Fatal(err)
	}
	got = Zeros(dt, n)
	if err := s.b.Backward(got, x, m, p); err != nil {
		t.Fatalf("Backward from a %v mask: %v", p.Mask, err)
	}
	if err := Equal(got, want); err != nil {
		t.Fatalf("Backward(n=%d, offset=%#x) from its own %v mask differs from regeneration: %v", n, p.Offset, p.Mask, err)
	}
}

// concurrent runs calls from many goroutines on one backend: host tensors
// and the backend's buffers, every mask format, forward and backward, with
// Alloc and Release interleaved; each result must equal the reference's.
// Concurrent Open and Close of further backends run beside them.
func (s *suite) concurrent(t *testing.T, open func() (dropout.Backend, error)) {
	const workers = 8
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds+16)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				if err := s.concurrentCall(w, r); err != nil {
					errs <- fmt.Errorf("goroutine %d, round %d: %w", w, r, err)
					return
				}
			}
		}()
	}
	if open != nil && !s.cfg.SkipClose {
		for w := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 2 {
					b, err := open()
					if err != nil {
						errs <- fmt.Errorf("concurrent open %d: %w", w, err)
						return
					}
					x := Data(dropout.Float32, 77, 5)
					if err := CompareForward(b, x, dropout.Params{P: 0.5, Seed: uint64(w), Mask: dropout.MaskBits}); err != nil {
						errs <- fmt.Errorf("backend opened concurrently: %w", err)
					}
					if err := b.Close(); err != nil {
						errs <- fmt.Errorf("concurrent close: %w", err)
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func (s *suite) concurrentCall(w, r int) error {
	dt := s.cfg.DTypes[(w+r)%len(s.cfg.DTypes)]
	f := Formats[(w+r)%len(Formats)]
	n := []int{1, 33, 1023, 4099, 65541}[(w*3+r)%5]
	p := dropout.Params{P: []float64{0.1, 0.5, 0.9}[r%3], Seed: uint64(w), Offset: uint64(r)*1e6 - 7, Mask: f}
	x := Data(dt, n, uint64(w*100+r))
	want, wm := Zeros(dt, n), NewMask(f, n)
	if err := s.ref.Forward(want, x, wm, p); err != nil {
		return err
	}
	wantdx := Zeros(dt, n)
	if err := s.ref.Backward(wantdx, x, wm, p); err != nil {
		return err
	}
	if w%2 == 0 { // host tensors
		if err := CompareForward(s.b, x, p); err != nil {
			return err
		}
		got := Zeros(dt, n)
		if err := s.b.Backward(got, x, wm, p); err != nil {
			return err
		}
		return Equal(got, wantdx)
	}
	// device buffers
	var bufs []dropout.Buffer
	defer func() {
		for _, b := range bufs {
			b.Release()
		}
	}()
	alloc := func(dt dropout.DType, n int) (dropout.Buffer, error) {
		b, err := s.b.Alloc(dt, n)
		if err == nil {
			bufs = append(bufs, b)
		}
		return b, err
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
	var mb dropout.Buffer
	if f != dropout.MaskNone {
		if mb, err = alloc(dropout.Uint8, f.Bytes(n)); err != nil {
			return err
		}
		mt = mb
	}
	if err := xb.Write(x); err != nil {
		return err
	}
	if err := s.b.Forward(yb, xb, mt, p); err != nil {
		return err
	}
	got := Zeros(dt, n)
	if err := yb.Read(got); err != nil {
		return err
	}
	if err := Equal(got, want); err != nil {
		return fmt.Errorf("forward on buffers: %w", err)
	}
	if mb != nil {
		gm := make(dropout.Bytes, mb.Len())
		if err := mb.Read(gm); err != nil {
			return err
		}
		if err := Equal(gm, wm); err != nil {
			return fmt.Errorf("mask on buffers: %w", err)
		}
	}
	if err := s.b.Backward(yb, xb, mt, p); err != nil {
		return err
	}
	if err := yb.Read(got); err != nil {
		return err
	}
	if err := Equal(got, wantdx); err != nil {
		return fmt.Errorf("backward on buffers: %w", err)
	}
	return nil
}

// released checks that a released buffer is an error wherever it is used.
func (s *suite) released(t *testing.T) {
	live := func(dt dropout.DType, n int) dropout.Buffer { return s.alloc(t, dt, n) }
	dead := func(dt dropout.DType, n int) dropout.Buffer {
		b := s.alloc(t, dt, n)
		if err := b.Release(); err != nil {
			t.Fatal(err)
		}
		return b
	}
	const n = 40
	p := dropout.Params{P: 0.5, Mask: dropout.MaskBits}
	x, y, m := live(dropout.Float32, n), live(dropout.Float32, n), live(dropout.Uint8, 5)
	defer x.Release()
	defer y.Release()
	defer m.Release()
	dx, dy, dm := dead(dropout.Float32, n), dead(dropout.Float32, n), dead(dropout.Uint8, 5)
	host := make(dropout.Float32s, n)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Forward into a released dst", func() error { return s.b.Forward(dx, x, m, p) }},
		{"Forward from a released x", func() error { return s.b.Forward(y, dy, m, p) }},
		{"Forward into a released mask", func() error { return s.b.Forward(y, x, dm, p) }},
		{"Forward from a released x into host memory", func() error { return s.b.Forward(host, dy, nil, dropout.Params{P: 0.5}) }},
		{"Backward into a released dx", func() error { return s.b.Backward(dx, y, m, p) }},
		{"Backward from a released dy", func() error { return s.b.Backward(y, dy, m, p) }},
		{"Backward from a released mask", func() error { return s.b.Backward(y, x, dm, p) }},
		{"Copy into a released buffer", func() error { return s.b.Copy(dx, x) }},
		{"Copy from a released buffer", func() error { return s.b.Copy(y, dy) }},
		{"Copy from a released buffer into host memory", func() error { return s.b.Copy(host, dy) }},
		{"Read of a released buffer", func() error { return dx.Read(host) }},
		{"Write into a released buffer", func() error { return dx.Write(host) }},
	} {
		if err := tc.call(); !errors.Is(err, dropout.ErrReleased) {
			t.Errorf("%s: got %v, want ErrReleased", tc.name, err)
		}
	}
	if dx.Len() != n || dx.DType() != dropout.Float32 {
		t.Errorf("a released buffer reports %v[%d], want its own type and length", dx.DType(), dx.Len())
	}
}

// allocLimits checks that an allocation beyond any memory is an error, not
// a crash: the machine's memory, the cgroup's, or the device's.
func (s *suite) allocLimits(t *testing.T) {
	// 1<<shift, or the largest int where that does not fit (32-bit).
	huge := func(shift uint) int {
		if shift >= bits.UintSize-1 {
			return math.MaxInt
		}
		return 1 << shift
	}
	for _, tc := range []struct {
		dt   dropout.DType
		n    int
		want []error
	}{
		{dropout.Float32, huge(40), []error{dropout.ErrOutOfMemory, dropout.ErrLength}},
		{dropout.Float64, huge(41), []error{dropout.ErrOutOfMemory, dropout.ErrLength}},
		{dropout.Uint8, huge(50), []error{dropout.ErrOutOfMemory, dropout.ErrLength}},
		{dropout.Float32, math.MaxInt, []error{dropout.ErrOutOfMemory, dropout.ErrLength}},
		{dropout.Float64, math.MaxInt / 4, []error{dropout.ErrOutOfMemory, dropout.ErrLength}},
		{dropout.Float32, -1, []error{dropout.ErrLength}},
		{dropout.DType(99), 8, []error{dropout.ErrDType}},
	} {
		b, err := s.b.Alloc(tc.dt, tc.n)
		if err == nil {
			b.Release()
			t.Errorf("Alloc(%v, %d) succeeded", tc.dt, tc.n)
			continue
		}
		ok := false
		for _, w := range tc.want {
			ok = ok || errors.Is(err, w)
		}
		if !ok {
			t.Errorf("Alloc(%v, %d): got %v, want one of %v", tc.dt, tc.n, err, tc.want)
		}
	}
}

// storedMasks checks backward from masks the caller made, not the forward
// pass: keep is read from the mask whatever p is (p = 0 too: a kept
// element is a bit copy, a dropped one +0), flat and broadcast.
func (s *suite) storedMasks(t *testing.T) {
	for _, dt := range s.cfg.DTypes {
		for _, tc := range []struct{ shape, noise []int }{
			{[]int{37}, nil},
			{[]int{1029}, nil},
			{[]int{3, 3}, []int{1, 3}},
			{[]int{5, 7, 9}, []int{5, 1, 9}},
		} {
			n := 1
			for _, d := range tc.shape {
				n *= d
			}
			dy := Data(dt, n, uint64(n))
			for _, f := range []dropout.MaskFormat{dropout.MaskBits, dropout.MaskBytes} {
				for _, p := range []float64{0, 0.3, 1} {
					pr := dropout.Params{P: p, Seed: 9, Offset: 3, Mask: f, Shape: tc.shape, NoiseShape: tc.noise}
					m := randomMask(f, pr.MaskLen(n), uint64(n)+uint64(f))
					want, got := Zeros(dt, n), Zeros(dt, n)
					if err := s.ref.Backward(want, dy, m, pr); err != nil {
						t.Fatal(err)
					}
					if err := s.b.Backward(got, dy, m, pr); err != nil {
						t.Fatalf("Backward(shape %v, noise %v, %v, p=%v): %v", tc.shape, tc.noise, f, p, err)
					}
					if err := Equal(got, want); err != nil {
						t.Fatalf("Backward(shape %v, noise %v, %v, p=%v) from a caller's mask differs from the reference: %v", tc.shape, tc.noise, f, p, err)
					}
				}
			}
		}
	}
}
