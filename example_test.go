package dropout_test

import (
	"fmt"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
)

// Forward dropout of a layer's output with p = 0.5, storing a bit mask.
// The same (seed, offset) gives the same mask on every backend.
func Example_forward() {
	b := cpu.NewReference() // or: backends.Open("auto", dropout.Options{})
	defer b.Close()

	x := dropout.Float32s{0.27, -1.03, 0.67, 0.99, 0.05, -0.37, -2.01, 1.13, -0.07, 0.73}
	y := make(dropout.Float32s, len(x))
	mask := make(dropout.Bytes, dropout.MaskBits.Bytes(len(x)))
	p := dropout.Params{P: 0.5, Seed: 42, Mask: dropout.MaskBits}
	if err := b.Forward(y, x, mask, p); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y)
	fmt.Printf("mask %08b %08b\n", mask[1], mask[0])
	// Output:
	// [0.54 0 0 0 0.1 0 -4.02 0 -0.14 1.46]
	// mask 00000011 01010001
}

// Backward from a regenerated mask: a Generator hands out (seed, offset)
// pairs, and the Params of the forward call drive the backward call, which
// stores nothing between the two passes.
func Example_backward() {
	b := cpu.New(dropout.Options{})
	defer b.Close()

	g := dropout.NewGenerator(42)
	x := dropout.Float32s{1, 2, 3, 4, 5, 6, 7, 8}
	y := make(dropout.Float32s, len(x))
	used, err := g.Forward(b, y, x, nil, dropout.Params{P: 0.25})
	if err != nil {
		fmt.Println(err)
		return
	}
	dy := dropout.Float32s{1, 1, 1, 1, 1, 1, 1, 1}
	dx := make(dropout.Float32s, len(dy))
	if err := b.Backward(dx, dy, nil, used); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("y ", y)
	fmt.Println("dx", dx)
	fmt.Println("next offset", g.Offset())
	// Output:
	// y  [1.3333334 2.6666667 0 5.3333335 6.666667 8 9.333334 10.666667]
	// dx [1.3333334 1.3333334 0 1.3333334 1.3333334 1.3333334 1.3333334 1.3333334]
	// next offset 8
}

// An error names what is wrong and matches a sentinel.
func Example_errors() {
	b := cpu.NewReference()
	x := make(dropout.Float32s, 4)
	err := b.Forward(x, x, nil, dropout.Params{P: 1.5})
	fmt.Println(err)
	// Output:
	// dropout: p must be in [0, 1]: got 1.5
}
