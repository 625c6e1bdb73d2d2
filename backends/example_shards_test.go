package backends_test

import (
	"fmt"
	"log"
	"math"
	"sync"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/backends"
)

// Example_shards computes the dropout of one global 64×512 tensor as
// blocks of rows, one goroutine per device (cpu, opencl and vulkan where
// they run regions), each knowing only its block's place in the global
// tensor, and checks the reassembled result and masks against a single
// call over the whole tensor. Workers on different machines do the same:
// each passes the global shape and its block's start, and no
// communication is needed.
func Example_shards() {
	const rows, cols = 64, 512
	global := []int{rows, cols}
	p := dropout.Params{P: 0.1, Seed: 2024, Offset: 1 << 40, Mask: dropout.MaskBits, Global: global}

	x := make(dropout.Float32s, rows*cols)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}

	// The devices: every backend here that runs regions.
	var devs []dropout.Backend
	for _, name := range []string{"cpu", "opencl", "vulkan"} {
		b, err := backends.Open(name, dropout.Options{})
		if err != nil {
			continue // not on this machine
		}
		defer b.Close()
		if b.Device().Caps.Regions {
			devs = append(devs, b)
		}
	}

	// Each worker computes rows [lo, hi) of the global tensor.
	y := make(dropout.Float32s, rows*cols)
	var masks [][]byte
	var wg sync.WaitGroup
	errs := make([]error, len(devs))
	masks = make([][]byte, len(devs))
	for w, b := range devs {
		lo, hi := w*rows/len(devs), (w+1)*rows/len(devs)
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := p
			q.Start = []int{lo, 0}         // where the block starts in the global tensor
			q.Shape = []int{hi - lo, cols} // the block's (local tensor's) shape
			n := (hi - lo) * cols
			masks[w] = make([]byte, q.Mask.Bytes(q.MaskLen(n)))
			errs[w] = b.Forward(y[lo*cols:hi*cols], x[lo*cols:hi*cols], dropout.Bytes(masks[w]), q)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			log.Fatal(err)
		}
	}

	// One call over the whole tensor.
	ref, err := backends.Open("reference", dropout.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer ref.Close()
	whole := p
	whole.Global, whole.Shape = nil, global
	want, wantMask := make(dropout.Float32s, rows*cols), make(dropout.Bytes, whole.Mask.Bytes(rows*cols))
	if err := ref.Forward(want, x, wantMask, whole); err != nil {
		log.Fatal(err)
	}
	same := true
	for i := range y {
		same = same && math.Float32bits(y[i]) == math.Float32bits(want[i])
	}
	// A block's stored mask is the block of the global mask: here, rows
	// of whole bytes (512 bits a row).
	for w := range devs {
		lo := w * rows / len(devs)
		off := lo * cols / 8
		for i, m := range masks[w] {
			same = same && m == wantMask[off+i]
		}
	}
	fmt.Println("devices:", len(devs) > 0)
	fmt.Println("blocks equal the global call:", same)
	// Output:
	// devices: true
	// blocks equal the global call: true
}
