//go:build cgo && !noopencl

package opencl

import (
	"math/rand/v2"
	"testing"

	"github.com/gpudropout/dropout/internal/philox"
)

// TestPhiloxKnownAnswers checks the OpenCL C Philox4x32-10 against the
// Random123 known-answer vectors (kat_vectors, philox4x32_10), then against
// the Go implementation on random counters and keys.
func TestPhiloxKnownAnswers(t *testing.T) {
	b := openDevice(t, dropoutOpts(pocl))
	for _, tc := range []struct {
		name string
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{"zeros", [4]uint32{}, [2]uint32{}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{"ones", [4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff},
			[4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{"pi", [4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0},
			[4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	} {
		got, err := b.PhiloxBlocks([][4]uint32{tc.ctr}, [][2]uint32{tc.key})
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != tc.want {
			t.Errorf("%s: philox4x32_10(%08x, %08x) on the device = %08x, want %08x", tc.name, tc.ctr, tc.key, got[0], tc.want)
		}
	}

	r := rand.New(rand.NewPCG(1, 2))
	const n = 1000
	ctr, key := make([][4]uint32, n), make([][2]uint32, n)
	for i := range ctr {
		ctr[i] = [4]uint32{r.Uint32(), r.Uint32(), r.Uint32(), r.Uint32()}
		key[i] = [2]uint32{r.Uint32(), r.Uint32()}
	}
	got, err := b.PhiloxBlocks(ctr, key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if want := philox.Block(ctr[i], key[i]); got[i] != want {
			t.Fatalf("block %d: device %08x, Go %08x", i, got[i], want)
		}
	}
}
