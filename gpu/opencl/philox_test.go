//go:build cgo && !noopencl

package opencl

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/internal/philox"
)

// TestPhiloxKnownAnswers checks the OpenCL C Philox4x32-10 against the
// Random123 known-answer vectors (internal/philox/kat.txt, through
// philox.KnownAnswers), then against the Go implementation on random
// counters and keys.
func TestPhiloxKnownAnswers(t *testing.T) {
	b := openDevice(t, dropoutOpts(pocl))
	for _, kat := range philox.KnownAnswers() {
		got, err := b.philoxBlocks([][4]uint32{kat.Ctr}, [][2]uint32{kat.Key})
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != kat.Out {
			t.Errorf("%s: philox4x32_10(%08x, %08x) on the device = %08x, want %08x", kat.Name, kat.Ctr, kat.Key, got[0], kat.Out)
		}
	}

	r := rand.New(rand.NewPCG(1, 2))
	const n = 1000
	ctr, key := make([][4]uint32, n), make([][2]uint32, n)
	for i := range ctr {
		ctr[i] = [4]uint32{r.Uint32(), r.Uint32(), r.Uint32(), r.Uint32()}
		key[i] = [2]uint32{r.Uint32(), r.Uint32()}
	}
	got, err := b.philoxBlocks(ctr, key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if want := philox.Block(ctr[i], key[i]); got[i] != want {
			t.Fatalf("block %d: device %08x, Go %08x", i, got[i], want)
		}
	}
}

// TestPhiloxCounterWrap checks the kernels' keystream where the word index
// wraps modulo 2^64, so that the block counter g>>2 goes from 2^62-1 to 0:
// the device's words (stream_words, through the stream_block the dropout
// kernels use) against the Go stream, and the blocks on either side of the
// wrap against the Random123 known answer for counter 0 (under key 0) and
// the device's and Go's Philox of counter (2^32-1, 2^30-1, 0, 0), the
// block 2^62-1.
func TestPhiloxCounterWrap(t *testing.T) {
	b := openDevice(t, dropoutOpts(pocl))
	last := [4]uint32{0xffffffff, 0x3fffffff, 0, 0} // block 2^62-1
	for _, key := range [][2]uint32{{0, 0}, {0xffffffff, 0xffffffff}, {0xa4093822, 0x299f31d0}} {
		seed := uint64(key[0]) | uint64(key[1])<<32
		blocks, err := b.philoxBlocks([][4]uint32{last, {}}, [][2]uint32{key, key})
		if err != nil {
			t.Fatal(err)
		}
		if want := philox.Block(last, key); blocks[0] != want {
			t.Errorf("key %08x: block 2^62-1 on the device %08x, Go %08x", key, blocks[0], want)
		}
		// Words 2^64-8 ... 2^64-1 (blocks 2^62-2, 2^62-1), then 0 ... 7.
		for _, start := range []uint64{math.MaxUint64 - 7, math.MaxUint64 - 5, math.MaxUint64, math.MaxUint64 - 2} {
			const n = 16
			words, err := b.streamWords(seed, start, n)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range words {
				g := start + uint64(i) // wraps
				if want := dropout.Word(seed, g); w != want {
					t.Errorf("key %08x: word %#x on the device %08x, Go stream %08x", key, g, w, want)
				}
				switch g >> 2 {
				case 1<<62 - 1:
					if w != blocks[0][g&3] {
						t.Errorf("key %08x: word %#x = %08x, not lane %d of block 2^62-1 (%08x)", key, g, w, g&3, blocks[0])
					}
				case 0:
					if w != blocks[1][g&3] {
						t.Errorf("key %08x: word %#x = %08x, not lane %d of block 0 (%08x)", key, g, w, g&3, blocks[1])
					}
					if zero := katZeros(t); key == zero.Key && w != zero.Out[g] {
						t.Errorf("word %d after the wrap with key 0 = %08x, not the known answer", g, w)
					}
				}
			}
		}
	}
}

// katZeros returns the known-answer vector of counter 0 under key 0.
func katZeros(t testing.TB) philox.KAT {
	for _, kat := range philox.KnownAnswers() {
		if kat.Ctr == [4]uint32{} && kat.Key == [2]uint32{} {
			return kat
		}
	}
	t.Fatal("internal/philox/kat.txt has no vector of counter 0 and key 0")
	return philox.KAT{}
}
