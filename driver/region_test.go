package driver_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
)

// TestRegionWords checks the plan of a region call against the definition:
// block element i (coordinates c in the block's shape) uses the mask
// element of global index Start + c, whose word is Offset plus its
// row-major index in the global mask (noise) shape, modulo 2^64.
func TestRegionWords(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 2000; iter++ {
		rank := 1 + r.IntN(4)
		global := make([]int, rank)
		start := make([]int, rank)
		block := make([]int, rank)
		var noise []int
		if r.IntN(2) == 0 {
			noise = make([]int, rank)
		}
		for d := range global {
			global[d] = r.IntN(6)
			if global[d] > 0 {
				start[d] = r.IntN(global[d])
				block[d] = 1 + r.IntN(global[d]-start[d])
			}
			if r.IntN(5) == 0 {
				block[d] = 0
			}
			if noise != nil {
				noise[d] = global[d]
				if r.IntN(2) == 0 {
					noise[d] = 1
				}
			}
		}
		n := 1
		for _, d := range block {
			n *= d
		}
		off := ^uint64(0) - uint64(r.IntN(300))
		p := dropout.Params{P: 0.5, Seed: 7, Offset: off, Mask: dropout.MaskBytes, Shape: block, Global: global, Start: start, NoiseShape: noise}
		m := p.MaskLen(n)
		pl, err := driver.NewPlan(make(dropout.Float32s, n), make(dropout.Float32s, n), make(dropout.Bytes, m), p)
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		gshape := global
		if noise != nil {
			gshape = noise
		}
		mshape := p.MaskShape()
		// walk the block's mask elements
		for j := 0; j < m; j++ {
			c := make([]int, rank)
			k := j
			for d := rank - 1; d >= 0; d-- {
				c[d] = k % mshape[d]
				k /= mshape[d]
			}
			var idx uint64
			for d := 0; d < rank; d++ {
				gc := 0
				if gshape[d] != 1 {
					gc = start[d] + c[d]
				}
				idx = idx*uint64(gshape[d]) + uint64(gc)
			}
			if got, want := pl.Word(j), off+idx; got != want {
				t.Fatalf("global %v start %v block %v noise %v: mask element %d uses word %d, want %d (map %+v)", global, start, block, noise, j, got, want, pl.Words)
			}
		}
		// and the tensor's elements read the right mask element
		for i := 0; i < n; i++ {
			c := make([]int, rank)
			k := i
			for d := rank - 1; d >= 0; d-- {
				c[d] = k % block[d]
				k /= block[d]
			}
			j := 0
			for d := 0; d < rank; d++ {
				cd := c[d]
				if mshape[d] == 1 {
					cd = 0
				}
				j = j*mshape[d] + cd
			}
			if got := pl.MaskIndex(i); got != j {
				t.Fatalf("global %v start %v block %v noise %v: element %d reads mask element %d, want %d", global, start, block, noise, i, got, j)
			}
		}
	}
}

func TestRegionErrors(t *testing.T) {
	for _, p := range []dropout.Params{
		{Global: []int{4}, Start: []int{1}},                                                    // no Shape
		{Global: []int{4}, Start: []int{3}, Shape: []int{2}},                                   // past the end
		{Global: []int{4, 4}, Start: []int{0}, Shape: []int{2, 2}},                             // rank
		{Start: []int{0}, Shape: []int{2}},                                                     // start alone
		{Global: []int{4}, Start: []int{-1}, Shape: []int{2}},                                  // negative
		{Global: []int{4, 2}, Start: []int{0, 0}, Shape: []int{2, 2}, NoiseShape: []int{3, 1}}, // noise vs global
	} {
		n := 1
		for _, d := range p.Shape {
			n *= d
		}
		if err := p.Validate(n); err == nil {
			t.Errorf("%+v: no error", p)
		}
	}
}
