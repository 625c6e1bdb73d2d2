package philox

import "testing"

// The Random123 known-answer vectors for philox4x32_10 (kat_vectors in the
// Random123 distribution). These words must never change: every backend and
// every saved mask depends on them.
func TestKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{"zeros", [4]uint32{0, 0, 0, 0}, [2]uint32{0, 0}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{"ones", [4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff}, [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{"pi", [4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0}, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	} {
		if got := Block(tc.ctr, tc.key); got != tc.want {
			t.Errorf("%s: Block(%08x, %08x) = %08x, want %08x", tc.name, tc.ctr, tc.key, got, tc.want)
		}
	}
}

// Golden stream words of the dropout keystream. Like the vectors above they
// must never change.
func TestStreamLayout(t *testing.T) {
	for _, tc := range []struct {
		seed, g uint64
	}{
		{0, 0}, {0, 1}, {0, 3}, {0, 4}, {0, 5}, {42, 7},
		{1 << 33, 9}, {0xdeadbeefcafef00d, 1<<32 + 3}, {7, 1<<34 + 2}, {7, ^uint64(0)},
	} {
		b := tc.g >> 2
		want := Block([4]uint32{uint32(b), uint32(b >> 32), 0, 0}, [2]uint32{uint32(tc.seed), uint32(tc.seed >> 32)})[tc.g&3]
		if got := Word(tc.seed, tc.g); got != want {
			t.Errorf("Word(%#x, %#x) = %08x, want %08x", tc.seed, tc.g, got, want)
		}
	}
	// The zero seed, block 0 is the "zeros" known answer.
	zeros := [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}
	for g := uint64(0); g < 4; g++ {
		if got := Word(0, g); got != zeros[g] {
			t.Errorf("Word(0, %d) = %08x, want %08x", g, got, zeros[g])
		}
	}
	// Seed above 2^32 and offsets above 2^32 use the high halves.
	if Word(1<<32, 0) == Word(0, 0) {
		t.Error("the high half of the seed does not reach the key")
	}
	if Word(1, 1<<34) == Word(1, 0) {
		t.Error("the high half of the block index does not reach the counter")
	}
}

func TestFill(t *testing.T) {
	for _, off := range []uint64{0, 1, 2, 3, 5, 1<<32 - 1, 1<<32 + 1, 1<<40 + 3} {
		for _, n := range []int{0, 1, 3, 4, 5, 17} {
			dst := make([]uint32, n)
			Fill(dst, 99, off)
			for i := range dst {
				if want := Word(99, off+uint64(i)); dst[i] != want {
					t.Fatalf("Fill(n=%d, off=%d)[%d] = %08x, want %08x", n, off, i, dst[i], want)
				}
			}
		}
	}
}
