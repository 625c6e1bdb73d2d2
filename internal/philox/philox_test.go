package philox

import "testing"

// TestKnownAnswers checks Block against the Random123 known-answer vectors
// of kat.txt (see also TestKATFile). These words must never change: every
// backend and every saved mask depends on them.
func TestKnownAnswers(t *testing.T) {
	for _, k := range KnownAnswers() {
		if got := Block(k.Ctr, k.Key); got != k.Out {
			t.Errorf("%s: Block(%08x, %08x) = %08x, want %08x", k.Name, k.Ctr, k.Key, got, k.Out)
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
	zeros := KnownAnswers()[0].Out
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

// TestStreamWrap checks the end of the stream against the definition
// (CONTRACT.md §2): word 2^64-1 is lane 3 of the block with counter
// (lo32(2^62-1), hi32(2^62-1), 0, 0) = (0xFFFFFFFF, 0x3FFFFFFF, 0, 0), and
// the word after it is word 0, lane 0 of counter (0, 0, 0, 0): the block
// counter g>>2 wraps from 2^62-1 to 0, never reaching 2^62 (whose counter
// (0, 0x40000000, 0, 0) is another block). The last block's words are
// golden, like the known answers above.
func TestStreamWrap(t *testing.T) {
	top := [4]uint32{0xFFFFFFFF, 0x3FFFFFFF, 0, 0}
	for _, tc := range []struct {
		seed        uint64
		last, first [4]uint32 // blocks 2^62-1 and 0
	}{
		{0, [4]uint32{0x7bbbb297, 0xe9d53efe, 0xd66e6d52, 0x31eb18f7}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{0x9e3779b97f4a7c15, [4]uint32{0xe1681346, 0x929783b0, 0x3283d586, 0xaf7467e6}, [4]uint32{0x40892754, 0x4f1a097e, 0x261374e1, 0x2f9e2f43}},
	} {
		key := Key(tc.seed)
		if got := Block(top, key); got != tc.last {
			t.Errorf("seed %#x: Block(%08x) = %08x, want %08x", tc.seed, top, got, tc.last)
		}
		if got := Block([4]uint32{}, key); got != tc.first {
			t.Errorf("seed %#x: Block(0) = %08x, want %08x", tc.seed, got, tc.first)
		}
		if got := Words(tc.seed, 1<<62-1); got != tc.last {
			t.Errorf("seed %#x: Words(2^62-1) = %08x, want %08x", tc.seed, got, tc.last)
		}
		w0, w1, w2, w3 := BlockWords(1<<62-1, key[0], key[1])
		if got := [4]uint32{w0, w1, w2, w3}; got != tc.last {
			t.Errorf("seed %#x: BlockWords(2^62-1) = %08x, want %08x", tc.seed, got, tc.last)
		}
		if got := Word(tc.seed, ^uint64(0)); got != tc.last[3] {
			t.Errorf("seed %#x: Word(2^64-1) = %08x, want lane 3 of counter (0xFFFFFFFF, 0x3FFFFFFF), %08x", tc.seed, got, tc.last[3])
		}
		if got := Word(tc.seed, 0); got != tc.first[0] {
			t.Errorf("seed %#x: Word(0) = %08x, want lane 0 of counter (0, 0), %08x", tc.seed, got, tc.first[0])
		}
		if Block([4]uint32{0, 0x40000000, 0, 0}, key) == tc.first {
			t.Errorf("seed %#x: the counter (0, 0x40000000) gives block 0's words; the checks here prove nothing", tc.seed)
		}
		// Words 2^64-6 … 2^64-1, 0 … 5 in one Fill, and word by word.
		prev := Block([4]uint32{0xFFFFFFFE, 0x3FFFFFFF, 0, 0}, key) // block 2^62-2
		next := Block([4]uint32{1, 0, 0, 0}, key)                   // block 1
		want := []uint32{prev[2], prev[3], tc.last[0], tc.last[1], tc.last[2], tc.last[3],
			tc.first[0], tc.first[1], tc.first[2], tc.first[3], next[0], next[1]}
		off := ^uint64(0) - 5
		got := make([]uint32, len(want))
		Fill(got, tc.seed, off)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("seed %#x: Fill from 2^64-6, word %d = %08x, want %08x", tc.seed, i, got[i], want[i])
			}
			if w := Word(tc.seed, off+uint64(i)); w != want[i] {
				t.Errorf("seed %#x: Word(2^64-6+%d) = %08x, want %08x", tc.seed, i, w, want[i])
			}
		}
	}
}
