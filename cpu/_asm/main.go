// Command _asm generates the AVX2 and AVX-512 dropout kernels of package
// cpu (../philox_amd64.s and ../philox_amd64_stubs.go) with avo: the AVX2
// Philox kernels here, their AVX-512 forms in avx512.go, and the tile
// kernels of the 16-bit, alpha and fused ops for both in tiles.go.
//
// Run it through go generate in the cpu directory, or by hand:
//
//	go run -C _asm . -out ../philox_amd64.s -stubs ../philox_amd64_stubs.go -pkg cpu
//
// # The kernels
//
// Each loop iteration runs Philox4x32-10 on eight consecutive counters
// (blocks b … b+7, 32 stream words) and turns the words into 32 elements.
// The eight blocks live in two sets of four, one block per 64-bit lane, so
// that VPMULUDQ (which multiplies the even 32-bit lanes) yields the whole
// 32x32→64 product of every block at once: the low half is the new c1/c3,
// the high half (a 32-bit shift away) goes into c0/c2. The upper halves of
// the lanes carry junk that VPMULUDQ never reads and the packing drops.
// Set A holds blocks (b, b+2, b+1, b+3) in its four lanes and set B
// (b+4, b+6, b+5, b+7), an order in which one blend and one unpack per pair
// of words put the 32 words in element order in four registers.
//
// A lane holds its block as the stream word g = 4b of the block's first
// word, not as b: additions on g wrap modulo 2^64 exactly as the stream
// contract's word arithmetic does, so that block 2^62-1 is followed by
// block 0, and the counter words are lo32(g>>2) and hi32(g>>2) = g>>34.
// (Counting b itself in a 64-bit lane would go on to 2^62, whose counter
// (0, 0x40000000) is not block 0.)
//
// The keep decision is word >= T, unsigned: max(word, T) == word. The
// threshold 2^32 (p = 1) does not fit and is handled by the Go caller. A
// kept element is x*s (VMULPS/VMULPD), a dropped one the AND with a zero
// mask, +0. Bit masks come from VMOVMSKPS; as the caller may start a
// kernel at any bit of a byte (the first h elements of a span are done in
// Go so that the kernel starts on a Philox block), the 32 mask bits of an
// iteration are shifted left by h into a 64-bit accumulator whose low 32
// bits are stored. Byte masks come from two packs, a dword permute and an
// absolute value (0xFF → 1).
//
// Each AVX2 forward kernel comes in a second form with non-temporal stores
// of y, for outputs far larger than the caches (the AVX-512 ones have
// none: see streamMin in package cpu). The backward kernels for
// stored masks (bwd*) have no Philox: they expand a bit or byte mask into
// lane masks. wordsAVX2 and blocksAVX2 are test hooks for the Philox core.
//
// The forward kernels prefetch x prefetchAhead bytes ahead: the Philox
// instructions between loads otherwise fill the out-of-order window, and
// one core streamed at a third of its copy's bandwidth.
package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Philox4x32 constants (CONTRACT.md §2).
const (
	m0 = 0xD2511F53
	m1 = 0xCD9E8D57
)

// Layout of cpu.avxParams; TestAVXParamsLayout checks it against the Go type.
const (
	offKeys  = 0   // [20][8]uint32: round r's k0 at row 2r, k1 at row 2r+1, broadcast
	offT     = 640 // [8]uint32 threshold, broadcast
	offS32   = 672 // [8]float32 scale, broadcast
	offS64   = 704 // [4]float64 scale, broadcast
	offCtr   = 736 // [4]uint64 first word g = 4b of blocks (b, b+2, b+1, b+3)
	offShift = 768 // uint64 bit position h of the first element in its mask byte
	sizeArgs = 800 // 25 rows of 32 bytes
)

// params is the Go type of the kernels' first argument: rows of 32 bytes,
// the view of cpu.avxParams that the kernels read.
const params = "*[25][8]uint32"

func text(name, sig string, doc ...string) {
	TEXT(name, attr.NOSPLIT, sig)
	Pragma("noescape")
	Doc(doc...)
}

// sets is the number of four-block sets per iteration; an iteration (a
// group) makes group = 16*sets elements. The kernels are bound by vector
// issue, not by VPMULUDQ's latency: 3 sets (six chains, the multipliers as
// memory operands to fit 16 YMM registers) measured no faster than 2 on
// the Zen 3 development machine, so 2 it is, whose groups of 32 match the
// spans' alignment. The generator handles 2 and 3.
const (
	sets  = 2
	group = 16 * sets
)

var (
	constM0, constM1, constInc, constPerm Mem
	constBit32, constBit64                Mem
)

func globals() {
	constM0 = GLOBL("philoxM0", attr.RODATA|attr.NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(m0))
	}
	constM1 = GLOBL("philoxM1", attr.RODATA|attr.NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(m1))
	}
	// Row j-1 holds 16j in each 64-bit lane: the counters (stream words
	// of the blocks' first words) of set j are set 0's plus 4j blocks, and
	// row sets-1 advances set 0 to the next group.
	constInc = GLOBL("philoxInc", attr.RODATA|attr.NOPTR)
	for j := 1; j <= sets; j++ {
		for i := 0; i < 4; i++ {
			DATA(32*(j-1)+8*i, U64(uint64(16*j)))
		}
	}
	// VPERMD index that undoes the lane interleaving of VPACKSSDW+VPACKSSWB.
	constPerm = GLOBL("packPerm", attr.RODATA|attr.NOPTR)
	for i, v := range []uint32{0, 4, 1, 5, 2, 6, 3, 7} {
		DATA(4*i, U32(v))
	}
	// Bit i of a 32-bit mask word in dword i and in qword i: the lane
	// selectors of the backward kernels that read bit masks.
	constBit32 = GLOBL("maskBit32", attr.RODATA|attr.NOPTR)
	for i := 0; i < 32; i++ {
		DATA(4*i, U32(1<<i))
	}
	constBit64 = GLOBL("maskBit64", attr.RODATA|attr.NOPTR)
	for i := 0; i < 32; i++ {
		DATA(8*i, U64(1<<i))
	}
}

// multipliers returns the Philox multipliers as VPMULUDQ sources: in
// registers, or with three sets, which leave no register for them, memory
// operands.
func multipliers() (Op, Op) {
	if sets > 2 {
		return constM0, constM1
	}
	m0r, m1r := YMM(), YMM()
	VMOVDQU(constM0, m0r)
	VMOVDQU(constM1, m1r)
	return m0r, m1r
}

// key returns the broadcast key word w (0 or 1) of round r.
func key(p reg.Register, r, w int) Mem {
	return Mem{Base: p, Disp: offKeys + 32*(2*r+w)}
}

// round runs one general Philox round on a set (c0, c1, c2, c3) held one
// block per 64-bit lane, and returns the new state registers.
func round(p reg.Register, m0r, m1r Op, c [4]reg.VecVirtual, r int) [4]reg.VecVirtual {
	p0 := YMM()
	p1 := YMM()
	VPMULUDQ(m0r, c[0], p0) // hi0:lo0
	VPMULUDQ(m1r, c[2], p1) // hi1:lo1
	VPXOR(key(p, r, 0), c[1], c[1])
	VPXOR(key(p, r, 1), c[3], c[3])
	VPSRLQ(U8(32), p1, c[0])
	VPXOR(c[1], c[0], c[0]) // c0' = hi1 ^ c1 ^ k0
	VPSRLQ(U8(32), p0, c[2])
	VPXOR(c[3], c[2], c[2]) // c2' = hi0 ^ c3 ^ k1
	return [4]reg.VecVirtual{c[0], p1, c[2], p0}
}

// philox computes the 16*sets stream words of blocks b … b+4*sets-1,
// where cb holds the first words 4·(b, b+2, b+1, b+3) as 64-bit lanes, and
// returns them in element order: e[j] holds words 8j … 8j+7. It advances
// cb by 4*sets blocks (modulo 2^64 in words, the stream's own wrap).
func philox(p reg.Register, m0r, m1r Op, cb reg.VecVirtual) []reg.VecVirtual {
	s := make([][4]reg.VecVirtual, sets)
	ctr := []reg.VecVirtual{cb}
	for j := 1; j < sets; j++ {
		c := YMM()
		VPADDQ(constInc.Offset(32*(j-1)), cb, c)
		ctr = append(ctr, c)
	}
	// Round 0 with c2 = c3 = 0: c0' = c1^k0, c1' = 0, c2' = hi0^k1, c3' = lo0.
	for j := range s {
		c1 := YMM()
		VPSRLQ(U8(34), ctr[j], c1) // hi32 of the block index g>>2
		pr := ctr[j]
		if j == 0 {
			pr = YMM() // cb lives on
		}
		VPSRLQ(U8(2), ctr[j], pr) // lo32 of the block index in the low half
		VPMULUDQ(m0r, pr, pr)
		c2 := YMM()
		VPSRLQ(U8(32), pr, c2)
		VPXOR(key(p, 0, 1), c2, c2)
		VPXOR(key(p, 0, 0), c1, c1)
		s[j] = [4]reg.VecVirtual{c1, nil, c2, pr}
	}
	VPADDQ(constInc.Offset(32*(sets-1)), cb, cb)
	// Round 1 with c1 = 0: c0' = hi1^k0.
	for j := range s {
		c := s[j]
		p0 := YMM()
		p1 := YMM()
		VPMULUDQ(m0r, c[0], p0)
		VPMULUDQ(m1r, c[2], p1)
		VPXOR(key(p, 1, 1), c[3], c[3])
		VPSRLQ(U8(32), p1, c[0])
		VPXOR(key(p, 1, 0), c[0], c[0])
		VPSRLQ(U8(32), p0, c[2])
		VPXOR(c[3], c[2], c[2])
		s[j] = [4]reg.VecVirtual{c[0], p1, c[2], p0}
	}
	for r := 2; r < 10; r++ {
		for j := range s {
			s[j] = round(p, m0r, m1r, s[j], r)
		}
	}
	return pack(s)
}

// pack turns the sets' final states into the words in element order.
func pack(s [][4]reg.VecVirtual) []reg.VecVirtual {
	var e []reg.VecVirtual
	for _, c := range s {
		VPSLLQ(U8(32), c[1], c[1])
		VPBLENDD(U8(0xAA), c[1], c[0], c[0]) // (w0, w1) of each block
		VPSLLQ(U8(32), c[3], c[3])
		VPBLENDD(U8(0xAA), c[3], c[2], c[2]) // (w2, w3)
		lo, hi := YMM(), YMM()
		VPUNPCKLQDQ(c[2], c[0], lo) // lanes 0, 2 of the set: blocks b, b+1
		VPUNPCKHQDQ(c[2], c[0], hi) // lanes 1, 3: blocks b+2, b+3
		e = append(e, lo, hi)
	}
	return e
}

// keepMasks turns words into all-ones/all-zeros dword masks: word >= T.
func keepMasks(p reg.Register, e []reg.VecVirtual) []reg.VecVirtual {
	k := make([]reg.VecVirtual, len(e))
	for j := range e {
		k[j] = YMM()
		VPMAXUD(Mem{Base: p, Disp: offT}, e[j], k[j])
		VPCMPEQD(e[j], k[j], k[j])
	}
	return k
}

// storeBytes stores the keep decisions of the masks k (8 each) as bytes
// 0/1 at m: 32 bytes from four masks, 16 from a last two.
func storeBytes(m reg.Register, k []reg.VecVirtual) {
	perm := YMM()
	VMOVDQU(constPerm, perm)
	for i := 0; i < len(k); i += 4 {
		if len(k)-i >= 4 {
			VPACKSSDW(k[i+1], k[i], k[i])
			VPACKSSDW(k[i+3], k[i+2], k[i+2])
			VPACKSSWB(k[i+2], k[i], k[i])
			VPERMD(k[i], perm, k[i])
			VPABSB(k[i], k[i])
			VMOVDQU(k[i], Mem{Base: m, Disp: 8 * i})
			continue
		}
		VPACKSSDW(k[i+1], k[i], k[i])
		VPACKSSWB(k[i], k[i], k[i])
		VPERMD(k[i], perm, k[i])
		VPABSB(k[i].AsX(), k[i].AsX())
		VMOVDQU(k[i].AsX(), Mem{Base: m, Disp: 8 * i})
	}
}

// storeBits ORs the group's keep bits, shifted left by h, into acc,
// stores the low 2*sets bytes of acc at m and shifts them out.
func storeBits(m reg.Register, acc, h reg.GPVirtual, k []reg.VecVirtual) {
	b := make([]reg.GPVirtual, len(k))
	for j := range k {
		b[j] = GP64()
		VMOVMSKPS(k[j], b[j].As32())
		if j > 0 {
			SHLQ(U8(8*j), b[j])
		}
	}
	for w := 1; w < len(b); w *= 2 {
		for j := 0; j+w < len(b); j += 2 * w {
			ORQ(b[j+w], b[j])
		}
	}
	SHLXQ(h, b[0], b[0])
	ORQ(b[0], acc)
	MOVL(acc.As32(), Mem{Base: m})
	if sets == 3 {
		t := GP64()
		MOVQ(acc, t)
		SHRQ(U8(32), t)
		MOVW(t.As16(), Mem{Base: m, Disp: 4})
	}
	SHRQ(U8(2*8*sets), acc)
}

// prefetchAhead is how far ahead of its loads, in bytes, a forward kernel
// prefetches x. The Philox work between an iteration's loads leaves the
// out-of-order window room for few of them, so that without prefetches one
// core streamed at about a third of its copy's bandwidth (the
// BenchmarkRooflineThread of package cpu).
const prefetchAhead = 8192

// prefetch issues a PREFETCHNTA for each cache line of the n bytes at
// prefetchAhead past p.
func prefetch(p reg.Register, n int) {
	for off := 0; off < n; off += 64 {
		PREFETCHNTA(Mem{Base: p, Disp: prefetchAhead + off})
	}
}

type mask int

const (
	maskNone mask = iota
	maskBits
	maskBytes
)

func (f mask) String() string { return [...]string{"None", "Bits", "Bytes"}[f] }

// fwd generates the forward kernel for float32 (size 4) or float64 (size 8)
// with the given mask format.
//
// With nt, y is written with non-temporal stores (y must be 32-byte
// aligned), which skip the read for ownership of each line of y and leave
// the caches to x: for tensors far larger than the caches, where they cut
// the memory traffic per float32 element from 12 bytes to 8.
func fwd(size int, f mask, nt bool) {
	typ := map[int]string{4: "float32", 8: "float64"}[size]
	name := fmt.Sprintf("fwd%d%sAVX2", 8*size, f)
	doc := []string{fmt.Sprintf("%s sets y[i] = keep ? x[i]*s : 0 for %d*groups elements", name, group),
		"whose first stream word starts a Philox block, and returns acc."}
	if nt {
		name = fmt.Sprintf("fwd%d%sNTAVX2", 8*size, f)
		doc = []string{fmt.Sprintf("%s is fwd%d%sAVX2 with non-temporal stores to y, which must", name, 8*size, f),
			"be 32-byte aligned."}
	}
	text(name, fmt.Sprintf("func(p "+params+", y, x *%s, m *byte, groups int, acc uint64) uint64", typ),
		append(doc, f.doc()...)...)
	p := Load(Param("p"), GP64())
	yp := Load(Param("y"), GP64())
	xp := Load(Param("x"), GP64())
	mp, acc, h := GP64(), GP64(), GP64()
	if f != maskNone {
		Load(Param("m"), mp)
	}
	if f == maskBits {
		Load(Param("acc"), acc)
		MOVQ(Mem{Base: p, Disp: offShift}, h)
	}
	n := Load(Param("groups"), GP64())
	m0r, m1r := multipliers()
	cb := YMM()
	VMOVDQU(Mem{Base: p, Disp: offCtr}, cb)
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))

	Label(name + "_loop")
	prefetch(xp, group*size)
	e := philox(p, m0r, m1r, cb)
	k := keepMasks(p, e)
	for j := range k {
		if size == 4 {
			v := YMM()
			VMOVUPS(Mem{Base: xp, Disp: 32 * j}, v)
			VMULPS(Mem{Base: p, Disp: offS32}, v, v)
			VANDPS(k[j], v, v)
			if nt {
				VMOVNTPS(v, Mem{Base: yp, Disp: 32 * j})
			} else {
				VMOVUPS(v, Mem{Base: yp, Disp: 32 * j})
			}
			continue
		}
		lo, hi := YMM(), YMM()
		VPMOVSXDQ(k[j].AsX(), lo)
		VEXTRACTI128(U8(1), k[j], hi.AsX())
		VPMOVSXDQ(hi.AsX(), hi)
		for q, km := range []reg.VecVirtual{lo, hi} {
			v := YMM()
			off := 64*j + 32*q
			VMOVUPD(Mem{Base: xp, Disp: off}, v)
			VMULPD(Mem{Base: p, Disp: offS64}, v, v)
			VANDPD(km, v, v)
			if nt {
				VMOVNTPD(v, Mem{Base: yp, Disp: off})
			} else {
				VMOVUPD(v, Mem{Base: yp, Disp: off})
			}
		}
	}
	switch f {
	case maskBits:
		storeBits(mp, acc, h, k)
		ADDQ(U32(group/8), mp)
	case maskBytes:
		storeBytes(mp, k)
		ADDQ(U32(group), mp)
	}
	ADDQ(U32(group*size), xp)
	ADDQ(U32(group*size), yp)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_done")
	if nt {
		SFENCE() // order the weakly ordered stores before the caller's
	}
	VZEROUPPER()
	if f == maskBits {
		Store(acc, ReturnIndex(0))
	} else {
		zero := GP64()
		XORQ(zero, zero)
		Store(zero, ReturnIndex(0))
	}
	RET()
}

func (f mask) doc() []string {
	switch f {
	case maskBits:
		return []string{"It writes the keep bits, shifted left by p's bit position, through the",
			"64-bit accumulator acc, 4 bytes per group at m, and returns the bits left",
			"in acc."}
	case maskBytes:
		return []string{"It writes the keep decisions as bytes 0/1 at m."}
	}
	return nil
}

// bwd generates the backward kernel for a stored mask: y = keep ? x*s : 0
// where keep is a bit of a bit mask or a nonzero byte.
func bwd(size int, f mask) {
	typ := map[int]string{4: "float32", 8: "float64"}[size]
	name := fmt.Sprintf("bwd%d%sAVX2", 8*size, f)
	what := map[mask]string{maskBits: "bit i of the bit mask at m", maskBytes: "byte m[i] != 0"}[f]
	text(name, fmt.Sprintf("func(p %s, y, x *%s, m *byte, groups int)", params, typ),
		fmt.Sprintf("%s sets y[i] = keep ? x[i]*s : 0 for 32*groups elements, keep being", name),
		what+".")
	p := Load(Param("p"), GP64())
	yp := Load(Param("y"), GP64())
	xp := Load(Param("x"), GP64())
	mp := Load(Param("m"), GP64())
	n := Load(Param("groups"), GP64())
	zero := YMM()
	VPXOR(zero, zero, zero)
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	lanes := 32 / size      // elements per register
	var word reg.VecVirtual // the group's 32 mask bits in every lane
	if f == maskBits {
		word = YMM()
		// Every dword holds the word; a qword lane's selector (< 2^32)
		// ignores its upper copy.
		VPBROADCASTD(Mem{Base: mp}, word)
	}
	for j := 0; j < 32/lanes; j++ {
		km := YMM()
		switch {
		case f == maskBits && size == 4:
			sel := constBit32.Offset(32 * j)
			VPAND(sel, word, km)
			VPCMPEQD(sel, km, km) // keep
		case f == maskBits:
			sel := constBit64.Offset(32 * j)
			VPAND(sel, word, km)
			VPCMPEQQ(sel, km, km) // keep
		case size == 4:
			VPMOVZXBD(Mem{Base: mp, Disp: 8 * j}, km)
			VPCMPEQD(zero, km, km) // drop
		default:
			VPMOVZXBQ(Mem{Base: mp, Disp: 4 * j}, km)
			VPCMPEQQ(zero, km, km) // drop
		}
		v := YMM()
		off := 32 * j
		if size == 4 {
			VMOVUPS(Mem{Base: xp, Disp: off}, v)
			VMULPS(Mem{Base: p, Disp: offS32}, v, v)
		} else {
			VMOVUPD(Mem{Base: xp, Disp: off}, v)
			VMULPD(Mem{Base: p, Disp: offS64}, v, v)
		}
		if f == maskBits {
			VANDPS(km, v, v)
		} else {
			VANDNPS(v, km, v) // ^drop & v
		}
		VMOVUPS(v, Mem{Base: yp, Disp: off})
	}
	ADDQ(U32(map[mask]int{maskBits: 4, maskBytes: 32}[f]), mp)
	ADDQ(U32(32*size), xp)
	ADDQ(U32(32*size), yp)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// keepKernel generates keepBitsAVX2: the keep decisions as bits through the
// accumulator, like the forward kernels.
func keepKernel() {
	name := "keepBitsAVX2"
	text(name, "func(p "+params+", k *byte, groups int, acc uint64) uint64",
		fmt.Sprintf("%s writes the keep bits of %d*groups elements whose first stream", name, group),
		"word starts a Philox block, shifted left by p's bit position, through the",
		"64-bit accumulator acc, 4 bytes per group at k, and returns the bits left in acc.")
	p := Load(Param("p"), GP64())
	kp := Load(Param("k"), GP64())
	n := Load(Param("groups"), GP64())
	acc, h := GP64(), GP64()
	Load(Param("acc"), acc)
	MOVQ(Mem{Base: p, Disp: offShift}, h)
	m0r, m1r := multipliers()
	cb := YMM()
	VMOVDQU(Mem{Base: p, Disp: offCtr}, cb)
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	e := philox(p, m0r, m1r, cb)
	storeBits(kp, acc, h, keepMasks(p, e))
	ADDQ(U32(group/8), kp)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	Store(acc, ReturnIndex(0))
	RET()
}

// wordsKernel stores the raw stream words, for tests of the Philox core.
func wordsKernel() {
	name := "wordsAVX2"
	text(name, "func(p "+params+", w *uint32, groups int)",
		name+" sets w[i] to stream word i of the span (a test hook: the Philox",
		"core and word order of the kernels, without the keep decision).")
	p := Load(Param("p"), GP64())
	wp := Load(Param("w"), GP64())
	n := Load(Param("groups"), GP64())
	m0r, m1r := multipliers()
	cb := YMM()
	VMOVDQU(Mem{Base: p, Disp: offCtr}, cb)
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	e := philox(p, m0r, m1r, cb)
	for j := range e {
		VMOVDQU(e[j], Mem{Base: wp, Disp: 32 * j})
	}
	ADDQ(U32(4*group), wp)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// blocksKernel runs the general round on arbitrary counters, for the
// Random123 known-answer tests.
func blocksKernel() {
	name := "blocksAVX2"
	text(name, "func(p "+params+", ctr *[4][8]uint32, out *[2][4][4]uint64)",
		name+" sets out[s][i][l] (low 32 bits) to word i of philox4x32_10(ctr[·][4s+l], key)",
		"with p's key schedule, through the kernels' general round (a test hook).")
	p := Load(Param("p"), GP64())
	cp := Load(Param("ctr"), GP64())
	op := Load(Param("out"), GP64())
	m0r, m1r := YMM(), YMM()
	VMOVDQU(constM0, m0r)
	VMOVDQU(constM1, m1r)
	var s [2][4]reg.VecVirtual
	for j := range s {
		for i := range s[j] {
			s[j][i] = YMM()
			VPMOVZXDQ(Mem{Base: cp, Disp: 32*i + 16*j}, s[j][i])
		}
	}
	for r := 0; r < 10; r++ {
		for j := range s {
			s[j] = round(p, m0r, m1r, s[j], r)
		}
	}
	for j := range s {
		for i := range s[j] {
			VMOVDQU(s[j][i], Mem{Base: op, Disp: 128*j + 32*i})
		}
	}
	VZEROUPPER()
	RET()
}

func main() {
	ConstraintExpr("amd64,!purego")
	globals()
	for _, size := range []int{4, 8} {
		for _, nt := range []bool{false, true} {
			for _, f := range []mask{maskNone, maskBits, maskBytes} {
				fwd(size, f, nt)
			}
		}
	}
	for _, size := range []int{4, 8} {
		for _, f := range []mask{maskBits, maskBytes} {
			bwd(size, f)
		}
	}
	keepKernel()
	wordsKernel()
	blocksKernel()
	main512()
	Generate()
}
