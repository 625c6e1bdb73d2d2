package dropout_test

import (
	"fmt"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
)

// A smaller last minibatch runs on a view of the buffers allocated for the
// full size, with no new allocation; Write and Read of a view are ranged
// transfers. The view's call continues the stream where the full batches
// left it, so each element gets the word it would get in one call.
func ExampleBuffer_Slice() {
	b := cpu.New(dropout.Options{}) // a GPU backend's buffers slice the same way
	defer b.Close()

	const batch = 8
	xb, err := b.Alloc(dropout.Float32, batch)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer xb.Release()
	data := dropout.Float32s{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11} // 8 + a last batch of 3
	p := dropout.Params{P: 0.5, Seed: 7}
	for lo := 0; lo < len(data); lo += batch {
		n := min(batch, len(data)-lo)
		x, err := xb.Slice(0, n) // the whole buffer, or its first n elements
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := x.Write(data[lo : lo+n]); err != nil {
			fmt.Println(err)
			return
		}
		p.Offset = uint64(lo)
		if err := b.Forward(x, x, nil, p); err != nil { // in place
			fmt.Println(err)
			return
		}
		y := make(dropout.Float32s, n)
		if err := x.Read(y); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(y)
		x.Release() // the view only; xb stays
	}

	// Operands overlapping in part are refused.
	a, _ := xb.Slice(1, 4)
	c, _ := xb.Slice(0, 4)
	fmt.Println(b.Forward(a, c, nil, p))
	// Output:
	// [2 4 0 0 0 12 0 16]
	// [0 0 22]
	// dropout: tensors overlap: dst (float32[4], bytes [4, 20)) and src (float32[4], bytes [0, 16)) share host memory without being the same tensor
}
