// Package philox is the one Go implementation of Philox4x32-10 and of the
// dropout keystream built on it (CONTRACT.md §2).
//
// The kernel languages (OpenCL C, GLSL) each carry their own copy; all of
// them are tested against the same known-answer vectors.
package philox

import "math/bits"

// The constants of Philox4x32 (Salmon et al., SC11).
const (
	M0 = 0xD2511F53 // multiplier applied to counter word 0
	M1 = 0xCD9E8D57 // multiplier applied to counter word 2
	W0 = 0x9E3779B9 // Weyl increment of key word 0
	W1 = 0xBB67AE85 // Weyl increment of key word 1

	// Rounds is the number of rounds of Philox4x32-10.
	Rounds = 10
)

// Block returns philox4x32_10(ctr, key).
func Block(ctr [4]uint32, key [2]uint32) [4]uint32 {
	c0, c1, c2, c3 := Rounds10(ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1])
	return [4]uint32{c0, c1, c2, c3}
}

// round is one Philox4x32 round: the products of counter words 0 and 2
// with the multipliers, their high halves mixed with the key.
func round(c0, c1, c2, c3, k0, k1 uint32) (uint32, uint32, uint32, uint32) {
	hi0, lo0 := bits.Mul32(M0, c0)
	hi1, lo1 := bits.Mul32(M1, c2)
	return hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
}

// Rounds10 is philox4x32_10 on counter (c0, c1, c2, c3) and key (k0, k1),
// unrolled, with the counter and result in registers: the form hot loops
// call. The key is bumped by the Weyl increments between rounds.
func Rounds10(c0, c1, c2, c3, k0, k1 uint32) (uint32, uint32, uint32, uint32) {
	c0, c1, c2, c3 = round(c0, c1, c2, c3, k0, k1)
	k0, k1 = k0+W0, k1+W1
	c0, c1, c2, c3 = round(c0, c1, c2, c3, k0, k1)
	k0, k1 = k0+W0, k1+W1
	c0, c1, c2, c3 = round(c0, c1, c2, c3, k0, k1)
	k0, k1 = k0+W0, k1+W1
	c0, c1, c2, c3 = round(c0, c1, c2, c3, k0, k1)
	k0, k1 = k0+W0, k1+W1
	c0, c1, c2, c3 = round(c0, c1, c2, c3, k0, k1)
	k0, k1 = k0+W0, k1+W1
	c0, c1, c2, c3 = round(c0, c1, c2, c3, k0, k1)
	k0, k1 = k0+W0, k1+W1
	c0, c1, c2, c3 = round(c0, c1, c2, c3, k0, k1)
	k0, k1 = k0+W0, k1+W1
	c0, c1, c2, c3 = round(c0, c1, c2, c3, k0, k1)
	k0, k1 = k0+W0, k1+W1
	c0, c1, c2, c3 = round(c0, c1, c2, c3, k0, k1)
	k0, k1 = k0+W0, k1+W1
	return round(c0, c1, c2, c3, k0, k1)
}

// BlockWords returns the four stream words of block b (counter (lo32(b),
// hi32(b), 0, 0)) under key (k0, k1) = Key(seed).
func BlockWords(b uint64, k0, k1 uint32) (uint32, uint32, uint32, uint32) {
	return Rounds10(uint32(b), uint32(b>>32), 0, 0, k0, k1)
}

// Key returns the Philox key of a 64-bit seed: (lo32(seed), hi32(seed)).
func Key(seed uint64) [2]uint32 {
	return [2]uint32{uint32(seed), uint32(seed >> 32)}
}

// Words returns the four stream words of block b (words 4b … 4b+3).
func Words(seed, b uint64) [4]uint32 {
	return Block([4]uint32{uint32(b), uint32(b >> 32), 0, 0}, Key(seed))
}

// Word returns word g of the stream of seed.
func Word(seed, g uint64) uint32 {
	return Words(seed, g>>2)[g&3]
}

// Fill sets dst[i] to word offset+i of the stream of seed.
func Fill(dst []uint32, seed, offset uint64) {
	g := offset
	for i := 0; i < len(dst); {
		w := Words(seed, g>>2)
		for lane := g & 3; lane < 4 && i < len(dst); lane++ {
			dst[i] = w[lane]
			i++
			g++
		}
	}
}
