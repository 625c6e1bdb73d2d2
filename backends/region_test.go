package backends_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/backends"
	"github.com/gpudropout/dropout/dropouttest"
)

// openAll opens every backend of the registry; a missing one is skipped,
// or under DROPOUT_REQUIRE_DEVICES (make test) a failure.
func openAll(t *testing.T) []dropout.Backend {
	var bs []dropout.Backend
	for _, d := range backends.Registry() {
		b, err := d.Open(dropout.Options{})
		if err != nil {
			if !dropouttest.Required() {
				t.Logf("%s unavailable: %v", d.Name(), err)
				continue
			}
			dropouttest.Require(t, d.Name()+" backend", err)
		}
		t.Cleanup(func() { b.Close() })
		bs = append(bs, b)
	}
	return bs
}

// partition cuts the block [start, start+shape) into random blocks by
// guillotine cuts (each cut splits a block in two along one axis, at a
// random point, often leaving a 1-wide slice), recursing to depth.
func partition(r *rand.Rand, start, shape []int, depth int) [][2][]int {
	k := r.IntN(len(shape))
	if depth == 0 || shape[k] < 2 || r.IntN(5) == 0 {
		return [][2][]int{{start, shape}}
	}
	cut := 1 + r.IntN(shape[k]-1)
	switch r.IntN(3) {
	case 0:
		cut = 1
	case 1:
		cut = shape[k] - 1
	}
	s1, s2 := slices.Clone(shape), slices.Clone(shape)
	o2 := slices.Clone(start)
	s1[k], s2[k], o2[k] = cut, shape[k]-cut, start[k]+cut
	return append(partition(r, start, s1, depth-1), partition(r, o2, s2, depth-1)...)
}

// TestRegionPartitions (issue 14): random 1–4-d global tensors cut into
// random partitions (1-wide blocks, edge blocks, sometimes one block equal
// to the whole), each block run on a backend chosen at random among those
// that claim what the call uses, reassembled: bit-identical to one global
// call on the reference, outputs and stored masks, forward (plain, alpha,
// fused) and backward from the stored masks and regenerated.
func TestRegionPartitions(t *testing.T) {
	all := openAll(t)
	ref, err := backends.Open("reference", dropout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	r := rand.New(rand.NewPCG(14, 2))
	types := []dropout.DType{dropout.Float32, dropout.Float64, dropout.Float16, dropout.BFloat16}
	used := map[string]int{}
	for trial := range 120 {
		global, _, _ := dropouttest.RandomRegion(r, 9)
		n := 1
		for _, d := range global {
			n *= d
		}
		dt := types[trial%len(types)]
		p := dropout.Params{P: []float64{0.5, 0.1, 0.9, 0, 1}[trial%5], Seed: r.Uint64(), Offset: r.Uint64() >> (r.IntN(2) * 60),
			Mask: dropouttest.Formats[trial%3], Shape: global, NoiseShape: dropouttest.RandomNoise(r, global), Alpha: trial%6 == 1}
		fused := !p.Alpha && trial%4 == 2
		// The backends that claim what this call uses.
		var can []dropout.Backend
		for _, b := range all {
			c := b.Device().Caps
			if ok, _ := c.Supports(dt, p.Mask, p.NoiseShape != nil, p.Alpha); ok && c.Regions && (!fused || c.Fused) {
				can = append(can, b)
			}
		}
		if len(can) == 0 {
			t.Fatalf("no backend runs regions of %v (alpha %v, fused %v)", dt, p.Alpha, fused)
		}
		x, dy := dropouttest.Data(dt, n, uint64(trial)), dropouttest.Data(dt, n, uint64(trial)+1)
		last := len(global) - 1
		var bias, res dropout.Tensor
		if fused {
			bias, res = dropouttest.Data(dt, global[last], 3), dropouttest.Data(dt, n, 4)
		}
		// One global call on the reference.
		want, wm := dropouttest.Zeros(dt, n), dropouttest.NewMask(p.Mask, p.MaskLen(n))
		if fused {
			err = dropout.ForwardFused(ref, want, x, bias, res, wm, p)
		} else {
			err = ref.Forward(want, x, wm, p)
		}
		if err != nil {
			t.Fatal(err)
		}
		wdx := dropouttest.Zeros(dt, n)
		if err := ref.Backward(wdx, dy, wm, p); err != nil {
			t.Fatal(err)
		}
		// The blocks, each on a random backend, reassembled.
		got, gdx, gdx2 := dropouttest.Zeros(dt, n), dropouttest.Zeros(dt, n), dropouttest.Zeros(dt, n)
		blocks := partition(r, make([]int, len(global)), global, 1+r.IntN(5))
		for _, blk := range blocks {
			start, shape := blk[0], blk[1]
			b := can[r.IntN(len(can))]
			used[b.Name()]++
			q := p
			q.Shape, q.Global, q.Start = shape, global, start
			bn := 1
			for _, d := range shape {
				bn *= d
			}
			desc := fmt.Sprintf("trial %d: %v block %v at %v of %v on %s (p=%v, mask %v, noise %v, alpha %v, fused %v)",
				trial, dt, shape, start, global, b.Name(), p.P, p.Mask, p.NoiseShape, p.Alpha, fused)
			var bb, br dropout.Tensor
			if fused {
				bb = dropouttest.Block(bias, global[last:], start[last:], shape[last:])
				br = dropouttest.Block(res, global, start, shape)
			}
			y, m := dropouttest.Zeros(dt, bn), dropouttest.NewMask(p.Mask, q.MaskLen(bn))
			var err error
			if fused {
				err = dropout.ForwardFused(b, y, dropouttest.Block(x, global, start, shape), bb, br, m, q)
			} else {
				err = b.Forward(y, dropouttest.Block(x, global, start, shape), m, q)
			}
			if err != nil {
				t.Fatalf("%s: %v", desc, err)
			}
			dropouttest.PutBlock(got, global, start, shape, y)
			if m != nil {
				if err := dropouttest.Equal(m, dropouttest.MaskBlock(wm, p.Mask, global, p.NoiseShape, start, shape)); err != nil {
					t.Fatalf("%s: the stored mask is not the block of the global mask: %v", desc, err)
				}
			}
			dyb := dropouttest.Block(dy, global, start, shape)
			dx := dropouttest.Zeros(dt, bn)
			if err := b.Backward(dx, dyb, m, q); err != nil {
				t.Fatalf("%s: Backward: %v", desc, err)
			}
			dropouttest.PutBlock(gdx, global, start, shape, dx)
			regen := q
			regen.Mask = dropout.MaskNone
			if err := b.Backward(dx, dyb, nil, regen); err != nil {
				t.Fatalf("%s: Backward regenerated: %v", desc, err)
			}
			dropouttest.PutBlock(gdx2, global, start, shape, dx)
		}
		for _, c := range []struct {
			what      string
			got, want dropout.Tensor
		}{{"forward", got, want}, {"backward from the stored masks", gdx, wdx}, {"backward regenerated", gdx2, wdx}} {
			if err := dropouttest.Equal(c.got, c.want); err != nil {
				t.Fatalf("trial %d (%v, global %v, %d blocks, p=%v, mask %v, noise %v, alpha %v, fused %v): the reassembled %s differs from one global call: %v",
					trial, dt, global, len(blocks), p.P, p.Mask, p.NoiseShape, p.Alpha, fused, c.what, err)
			}
		}
	}
	t.Logf("blocks per backend: %v", used)
}
