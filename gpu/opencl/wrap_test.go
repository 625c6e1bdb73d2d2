//go:build cgo && !noopencl

package opencl

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
)

// compareWithRef runs forward (with the mask p.Mask names), backward from
// that mask and backward regenerated from (seed, offset) on b, with host
// tensors or device buffers, and compares each output with the reference's.
func compareWithRef(b *Backend, ref dropout.Backend, x dropout.Tensor, p dropout.Params, onDevice bool) error {
	n, f := x.Len(), p.Mask
	m := p.MaskLen(n)
	want, wantdx, wantre := zerosLike(x), zerosLike(x), zerosLike(x)
	wm := make(dropout.Bytes, f.Bytes(m))
	if err := ref.Forward(want, x, maskArg(f, wm), p); err != nil {
		return err
	}
	if err := ref.Backward(wantdx, x, maskArg(f, wm), p); err != nil {
		return err
	}
	re := p
	re.Mask = dropout.MaskNone
	if err := ref.Backward(wantre, x, nil, re); err != nil {
		return err
	}

	var bufs []dropout.Buffer
	defer func() {
		for _, u := range bufs {
			u.Release()
		}
	}()
	// place returns h, or a buffer holding it when onDevice.
	place := func(h dropout.Tensor) (dropout.Tensor, error) {
		if !onDevice {
			return h, nil
		}
		u, err := b.Alloc(h.DType(), h.Len())
		if err != nil {
			return nil, err
		}
		bufs = append(bufs, u)
		return u, u.Write(h)
	}
	// fetch returns the host contents of t.
	fetch := func(t dropout.Tensor) (dropout.Tensor, error) {
		u, ok := t.(dropout.Buffer)
		if !ok {
			return t, nil
		}
		var h dropout.Tensor = make(dropout.Bytes, u.Len())
		if u.DType() != dropout.Uint8 {
			h = zerosLike(x)
		}
		return h, u.Read(h)
	}
	xt, err1 := place(x)
	yt, err2 := place(zerosLike(x))
	var mt dropout.Tensor
	var err3 error
	if f != dropout.MaskNone {
		mt, err3 = place(make(dropout.Bytes, len(wm)))
	}
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	check := func(what string, t, want dropout.Tensor) error {
		got, err := fetch(t)
		if err == nil {
			err = dropouttest.Equal(got, want)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	if err := b.Forward(yt, xt, mt, p); err != nil {
		return fmt.Errorf("Forward: %w", err)
	}
	if err := check("Forward", yt, want); err != nil {
		return err
	}
	if mt != nil {
		if err := check("mask", mt, wm); err != nil {
			return err
		}
		if err := b.Backward(yt, xt, mt, p); err != nil {
			return fmt.Errorf("Backward from the mask: %w", err)
		}
		if err := check("Backward from the mask", yt, wantdx); err != nil {
			return err
		}
	}
	if err := b.Backward(yt, xt, nil, re); err != nil {
		return fmt.Errorf("Backward regenerated: %w", err)
	}
	return check("Backward regenerated", yt, wantre)
}

// TestWrapAround checks calls whose stream words wrap modulo 2^64 (offset
// 2^64-k for k = 1 ... 40, so the wrap falls at every position of a Philox
// block, a mask byte and a mask word) against the reference: sizes that
// end just past the wrap and well beyond it, every mask format, forward,
// backward from the stored mask and regenerated, host tensors and device
// buffers, noise shapes whose mask crosses the wrap, and chunks of 32
// elements (MaxChunkBytes 128), so that chunk boundaries fall at, just
// before and just after the wrap.
func TestWrapAround(t *testing.T) {
	ref := cpu.NewReference()
	for _, opts := range []dropout.Options{
		{Device: pocl},
		{Device: pocl, MaxChunkBytes: 128},
	} {
		b := openDevice(t, opts)
		for _, dt := range b.DTypes() {
			for k := uint64(1); k <= 40; k++ {
				off := -k // 2^64 - k
				sizes := []int{int(k) + 1, int(k) + 4, int(k) + 1 + int(k*13%37), 130}
				for si, n := range sizes {
					x := dropouttest.Data(dt, n, k*10+uint64(si))
					for fi, f := range dropouttest.Formats {
						p := dropout.Params{P: 0.5, Seed: 0x9e3779b97f4a7c15 + k, Offset: off, Mask: f}
						onDevice := (int(k)+si+fi)%3 == 0
						if err := compareWithRef(b, ref, x, p, onDevice); err != nil {
							t.Fatalf("chunk %d, %v, offset 2^64-%d, n=%d, %v mask, device %v: %v",
								opts.MaxChunkBytes, dt, k, n, f, onDevice, err)
						}
					}
				}
				// Noise shapes: the mask (35 and 27 elements) crosses the wrap.
				for si, sh := range [][2][]int{{{5, 6, 7}, {5, 1, 7}}, {{4, 9, 3}, {1, 9, 3}}} {
					size := sh[0][0] * sh[0][1] * sh[0][2]
					x := dropouttest.Data(dt, size, k)
					for fi, f := range dropouttest.Formats {
						p := dropout.Params{P: 0.3, Seed: k, Offset: off, Mask: f, Shape: sh[0], NoiseShape: sh[1]}
						onDevice := (int(k)+si+fi)%2 == 0
						if err := compareWithRef(b, ref, x, p, onDevice); err != nil {
							t.Fatalf("chunk %d, %v, offset 2^64-%d, noise %v, %v mask, device %v: %v",
								opts.MaxChunkBytes, dt, k, sh[1], f, onDevice, err)
						}
					}
				}
			}
			// Larger calls over the wrap: many chunks on either side.
			for _, k := range []uint64{999, 1<<12 + 3} {
				x := dropouttest.Data(dt, int(2*k+5), k)
				for _, f := range dropouttest.Formats {
					p := dropout.Params{P: 0.7, Seed: 3, Offset: -k, Mask: f}
					if err := compareWithRef(b, ref, x, p, k > 1000); err != nil {
						t.Fatalf("chunk %d, %v, offset 2^64-%d, n=%d, %v mask: %v", opts.MaxChunkBytes, dt, k, x.Len(), f, err)
					}
				}
			}
		}
	}
}
