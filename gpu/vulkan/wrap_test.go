//go:build cgo && !novulkan

package vulkan

import (
	"fmt"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
)

// wrapCase is one call whose stream words cross 2^64 → 0.
type wrapCase struct {
	k   uint64 // offset 2^64 - k
	n   int
	dt  dropout.DType
	dev bool // device buffers rather than host tensors
}

// checkWrap runs forward in every mask format, then backward from the
// stored masks and by regeneration, on b and on the reference, and
// compares outputs and masks.
func checkWrap(t *testing.T, b dropout.Backend, c wrapCase, shape, noise []int) {
	t.Helper()
	ref := cpu.NewReference()
	x := dropouttest.Data(c.dt, c.n, c.k)
	dy := dropouttest.Data(c.dt, c.n, c.k+100)
	for _, f := range dropouttest.Formats {
		p := dropout.Params{P: 0.5, Seed: 0x0123_4567_89ab_cdef ^ c.k, Offset: -c.k, Mask: f, Shape: shape, NoiseShape: noise}
		name := fmt.Sprintf("offset 2^64-%d, n=%d, %v, mask %v, dev %v, noise %v", c.k, c.n, c.dt, f, c.dev, noise)
		m := p.MaskLen(c.n)
		want, wm := dropouttest.Zeros(c.dt, c.n), dropouttest.NewMask(f, m)
		if err := ref.Forward(want, x, wm, p); err != nil {
			t.Fatal(err)
		}
		got, gm := dropouttest.Zeros(c.dt, c.n), dropouttest.NewMask(f, m)
		if err := run2(b, c.dev, got, x, gm, p, false); err != nil {
			t.Fatalf("%s: Forward: %v", name, err)
		}
		if err := dropouttest.Equal(got, want); err != nil {
			t.Errorf("%s: forward output: %v", name, err)
		}
		if f != dropout.MaskNone {
			if err := dropouttest.Equal(gm, wm); err != nil {
				t.Errorf("%s: forward mask: %v", name, err)
			}
		}
		// backward: from the reference's stored mask, or regenerated
		wdx, gdx := dropouttest.Zeros(c.dt, c.n), dropouttest.Zeros(c.dt, c.n)
		if f == dropout.MaskNone {
			wm = nil
		}
		if err := ref.Backward(wdx, dy, wm, p); err != nil {
			t.Fatal(err)
		}
		if err := run2(b, c.dev, gdx, dy, wm, p, true); err != nil {
			t.Fatalf("%s: Backward: %v", name, err)
		}
		if err := dropouttest.Equal(gdx, wdx); err != nil {
			t.Errorf("%s: backward: %v", name, err)
		}
	}
}

// run2 runs Forward or Backward on host tensors, or on device buffers
// holding them.
func run2(b dropout.Backend, dev bool, dst, x, mask dropout.Tensor, p dropout.Params, backward bool) error {
	call := b.Forward
	if backward {
		call = b.Backward
	}
	if !dev {
		return call(dst, x, mask, p)
	}
	var bufs []dropout.Buffer
	defer func() {
		for _, buf := range bufs {
			buf.Release()
		}
	}()
	up := func(h dropout.Tensor) (dropout.Buffer, error) {
		if h == nil {
			return nil, nil
		}
		buf, err := b.Alloc(h.DType(), h.Len())
		if err != nil {
			return nil, err
		}
		bufs = append(bufs, buf)
		return buf, buf.Write(h)
	}
	db, err := up(dst)
	if err != nil {
		return err
	}
	xb, err := up(x)
	if err != nil {
		return err
	}
	var mt dropout.Tensor
	if mask != nil {
		mb, err := up(mask)
		if err != nil {
			return err
		}
		mt = mb
	}
	if err := call(db, xb, mt, p); err != nil {
		return err
	}
	if err := db.Read(dst); err != nil {
		return err
	}
	if mask != nil && !backward {
		return mt.(dropout.Buffer).Read(mask)
	}
	return nil
}

// TestOffsetWrap runs calls at offsets 2^64-k, whose stream words wrap to
// 0 (and whose Philox block counter wraps from 2^62-1 to 0) inside the
// call, at every alignment of the wrap to Philox blocks and to 32-element
// mask words, with dispatches of 128 bytes so that chunk boundaries fall
// near the wrap, and compares every mask format and both backward paths
// with the reference.
func TestOffsetWrap(t *testing.T) {
	b := openTest(t, dropout.Options{MaxChunkBytes: 128})
	ks := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 36, 39, 40}
	for _, k := range ks {
		for _, n := range []int{int(k), int(k) + 1, int(k) + 3, int(k) + 37, 200} {
			checkWrap(t, b, wrapCase{k: k, n: n, dt: dropout.Float32}, nil, nil)
		}
	}
	for _, k := range []uint64{1, 6, 33} {
		checkWrap(t, b, wrapCase{k: k, n: 300, dt: dropout.Float32, dev: true}, nil, nil)
		if b.dev.f64 {
			checkWrap(t, b, wrapCase{k: k, n: 150, dt: dropout.Float64}, nil, nil)
		}
	}
}

// TestOffsetWrapUnchunked is the reported case: 100,000 elements at
// offset 2^64-6, on host tensors and device buffers, with the device's
// own chunk size.
func TestOffsetWrapUnchunked(t *testing.T) {
	b := openTest(t, dropout.Options{})
	for _, dev := range []bool{false, true} {
		checkWrap(t, b, wrapCase{k: 6, n: 100_000, dt: dropout.Float32, dev: dev}, nil, nil)
	}
}

// TestOffsetWrapNoiseShape runs noise-shape calls whose mask crosses the
// wrap, with and without chunking.
func TestOffsetWrapNoiseShape(t *testing.T) {
	for _, chunk := range []int64{0, 128} {
		b := openTest(t, dropout.Options{MaxChunkBytes: chunk})
		for _, k := range []uint64{1, 3, 6, 17, 40} {
			for _, sh := range [][2][]int{
				{{8, 13, 5}, {8, 13, 1}},
				{{30, 7}, {30, 1}},
				{{3, 40, 2}, {1, 40, 2}},
			} {
				n := 1
				for _, d := range sh[0] {
					n *= d
				}
				checkWrap(t, b, wrapCase{k: k, n: n, dt: dropout.Float32}, sh[0], sh[1])
				checkWrap(t, b, wrapCase{k: k, n: n, dt: dropout.Float32, dev: true}, sh[0], sh[1])
			}
		}
	}
}
