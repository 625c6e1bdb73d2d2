package main

// The AVX-512 kernels (F, BW, DQ, VL). The Philox core is the AVX2 one
// widened to ZMM: a set is eight blocks, one per 64-bit lane, in the lane
// order (b, b+4, b+1, b+5, b+2, b+6, b+3, b+7), and an iteration runs
// sets512 sets. A round is two VPMULUDQ, two VPSHUFD that bring the high
// dwords of the products down and two three-way XORs (VPTERNLOGD with the
// round key broadcast from memory). The last round leaves each block's
// words in pairs, (w0, w1) and (w2, w3), one per qword lane (a dword swap
// and a XOR on the even dwords only), and one unpack per half puts 16 words
// in element order per register. The keep decision is VPCMPUD (word >= T,
// unsigned) into a mask register: kept elements are x*s under
// zero-masking (dropped: +0); the mask registers are the bit mask as they
// stand (KUNPCK, KMOV) and become a byte mask through a zero-masked move
// of a register of ones, 64 elements at a time. y is written with
// ordinary stores, the mask of a large call with non-temporal ones (see
// streamMin in package cpu), and x is read as memory operands of the
// multiplies, prefetched.
//
// The tile kernels (keep bits in, no Philox) load each 16 (float32, 16-bit)
// or 8 (float64) bits of a bit mask straight into a mask register.

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// sets512 is the number of eight-block sets per AVX-512 iteration; an
// iteration makes group512 = 32*sets512 elements. The twelve independent
// chains of six sets keep a Zen 5's four vector pipes busy through
// VPMULUDQ's latency: cache-resident, float32 forward ran at about 2.6 G
// elements per CPU-second with 2 sets, 3.5 with 4 and 4.0 with 6
// (BenchmarkKernelSets), which leave no ZMM register for more. The Go
// wrappers run the AVX2 kernels on what is left of a span after its last
// whole group.
const (
	sets512  = 6
	group512 = 32 * sets512
)

// prefetchAhead512 is prefetchAhead for the AVX-512 forward kernels: 4096
// bytes ahead of x measured better than 8192 with a bytes mask (Roofline
// float32 at 2^26, 14 rounds alternated with 8192: 1.00 of Copy against
// 0.97, median; none and bits within the noise), 16384 and 2048 worse.
const prefetchAhead512 = 4096

var (
	c512Ctr, c512Inc, c512One Mem
	cBF16                     Mem
)

func globals512() {
	// Stream-word offsets of set 0's lanes.
	c512Ctr = GLOBL("philox512Ctr", attr.RODATA|attr.NOPTR)
	for i, b := range []uint64{0, 4, 1, 5, 2, 6, 3, 7} {
		DATA(8*i, U64(4*b))
	}
	// Entry 0: the stream words of an iteration; entry j: set j's offset.
	c512Inc = GLOBL("philox512Inc", attr.RODATA|attr.NOPTR)
	DATA(0, U64(uint64(32*sets512)))
	for j := 1; j < sets512; j++ {
		DATA(8*j, U64(uint64(32*j)))
	}
	c512One = GLOBL("philox512One", attr.RODATA|attr.NOPTR)
	DATA(0, U32(1))
	// Rows of 8 dwords: 1, the bfloat16 rounding bias 0x7FFF, and the
	// quiet bit 0x40 of a bfloat16 NaN.
	cBF16 = GLOBL("bf16Consts", attr.RODATA|attr.NOPTR)
	for r, v := range []uint32{1, 0x7fff, 0x40} {
		for i := 0; i < 8; i++ {
			DATA(32*r+4*i, U32(v))
		}
	}
}

// key512 is the broadcast key word w of round r (the first dword of its row).
func key512(p reg.Register, r, w int) Mem { return key(p, r, w) }

// philox512 computes the 32*sets512 words of the iteration whose set-0
// counters (stream words) cb holds, in element order, 16 per register, and
// advances cb. even is the mask register of the even dwords (0x5555).
func philox512(p reg.Register, m0r, m1r reg.VecVirtual, even reg.OpmaskVirtual, cb reg.VecVirtual) []reg.VecVirtual {
	s := make([][4]reg.VecVirtual, sets512)
	for j := range s {
		ctr := cb
		if j > 0 {
			ctr = ZMM()
			VPADDQ_BCST(c512Inc.Offset(8*j), cb, ctr)
		}
		// Round 0 with c2 = c3 = 0: c0' = c1^k0, c1' = 0, c2' = hi0^k1, c3' = lo0.
		c1 := ZMM()
		VPSRLQ(U8(34), ctr, c1)
		pr := ZMM()
		VPSRLQ(U8(2), ctr, pr)
		VPMULUDQ(m0r, pr, pr)
		c2 := ZMM()
		VPSHUFD(U8(0xF5), pr, c2)
		VPXORD_BCST(key512(p, 0, 1), c2, c2)
		VPXORD_BCST(key512(p, 0, 0), c1, c1)
		s[j] = [4]reg.VecVirtual{c1, nil, c2, pr}
	}
	VPADDQ_BCST(c512Inc, cb, cb)
	// Round 1 with c1 = 0: c0' = hi1^k0.
	for j := range s {
		c := s[j]
		p0, p1 := ZMM(), ZMM()
		VPMULUDQ(m0r, c[0], p0)
		VPMULUDQ(m1r, c[2], p1)
		VPSHUFD(U8(0xF5), p1, c[0])
		VPXORD_BCST(key512(p, 1, 0), c[0], c[0])
		VPSHUFD(U8(0xF5), p0, c[2])
		VPTERNLOGD_BCST(U8(0x96), key512(p, 1, 1), c[3], c[2])
		s[j] = [4]reg.VecVirtual{c[0], p1, c[2], p0}
	}
	// Rounds 2 … 8. VPSHUFD brings the high dword of each product down
	// (VPMULUDQ reads the low ones); it issues on more ports than VPSRLQ.
	for r := 2; r < 9; r++ {
		for j := range s {
			c := s[j]
			p0, p1 := ZMM(), ZMM()
			VPMULUDQ(m0r, c[0], p0)
			VPMULUDQ(m1r, c[2], p1)
			VPSHUFD(U8(0xF5), p1, c[0])
			VPTERNLOGD_BCST(U8(0x96), key512(p, r, 0), c[1], c[0]) // hi1 ^ c1 ^ k0
			VPSHUFD(U8(0xF5), p0, c[2])
			VPTERNLOGD_BCST(U8(0x96), key512(p, r, 1), c[3], c[2]) // hi0 ^ c3 ^ k1
			s[j] = [4]reg.VecVirtual{c[0], p1, c[2], p0}
		}
	}
	// Round 9 leaves each block's words paired in its qword lane: the
	// product's dwords swapped, (hi1, lo1), with the three-way XOR on the
	// even dwords only make (w0, w1) = (hi1^c1^k0, lo1), and likewise
	// (w2, w3) = (hi0^c3^k1, lo0). One unpack per half then puts 16 words
	// in element order.
	var e []reg.VecVirtual
	for _, c := range s {
		p0, p1 := ZMM(), ZMM()
		VPMULUDQ(m0r, c[0], p0)
		VPMULUDQ(m1r, c[2], p1)
		VPSHUFD(U8(0xB1), p1, p1)
		VPTERNLOGD_BCST(U8(0x96), key512(p, 9, 0), c[1], even, p1) // (w0, w1)
		VPSHUFD(U8(0xB1), p0, p0)
		VPTERNLOGD_BCST(U8(0x96), key512(p, 9, 1), c[3], even, p0) // (w2, w3)
		lo, hi := ZMM(), ZMM()
		VPUNPCKLQDQ(p0, p1, lo) // blocks b … b+3
		VPUNPCKHQDQ(p0, p1, hi) // blocks b+4 … b+7
		e = append(e, lo, hi)
	}
	return e
}

// keep512 turns each register of 16 words into a mask register: word >= T.
func keep512(p reg.Register, e []reg.VecVirtual) []reg.OpmaskVirtual {
	k := make([]reg.OpmaskVirtual, len(e))
	for j := range e {
		k[j] = K()
		VPCMPUD_BCST(U8(5), Mem{Base: p, Disp: offT}, e[j], k[j]) // not less than
	}
	return k
}

// joinMasks returns one 64-bit mask register holding the 16-bit masks k in
// order (len(k) == 4).
func joinMasks(k []reg.OpmaskVirtual) reg.OpmaskVirtual {
	lo, hi, all := K(), K(), K()
	KUNPCKWD(k[0], k[1], lo)
	KUNPCKWD(k[2], k[3], hi)
	KUNPCKDQ(lo, hi, all)
	return all
}

// state512 is what the Philox-driven AVX-512 loops hold across iterations.
type state512 struct {
	p          reg.Register
	acc, h, h2 reg.GPVirtual
	m0r, m1r   reg.VecVirtual
	even       reg.OpmaskVirtual
	cb, ones   reg.VecVirtual
}

func (st *state512) setup(f mask) {
	st.m0r, st.m1r, st.cb, st.even = ZMM(), ZMM(), ZMM(), K()
	t := GP32()
	MOVL(U32(m0), t)
	VPBROADCASTD(t, st.m0r)
	MOVL(U32(m1), t)
	VPBROADCASTD(t, st.m1r)
	MOVL(U32(0x5555), t)
	KMOVW(t, st.even)
	VPBROADCASTQ(Mem{Base: st.p, Disp: offCtr}, st.cb)
	VPADDQ(c512Ctr, st.cb, st.cb)
	switch f {
	case maskBits:
		st.h, st.h2 = GP64(), GP64()
		MOVQ(Mem{Base: st.p, Disp: offShift}, st.h)
		MOVQ(U32(63), st.h2)
		SUBQ(st.h, st.h2)
	case maskBytes:
		st.ones = ZMM()
		VPBROADCASTB(c512One, st.ones)
	}
}

// storeMask writes the keep decisions k of 64 elements (four 16-bit mask
// registers) at chunk q of the iteration's mask at m: 64 bits through the
// accumulator (shifted left by h) or 64 bytes 0/1, with non-temporal
// stores if nt.
func (st *state512) storeMask(f mask, m reg.Register, k []reg.OpmaskVirtual, q int, nt bool) {
	all := joinMasks(k)
	switch f {
	case maskBits:
		b, lo := GP64(), GP64()
		KMOVQ(all, b)
		SHLXQ(st.h, b, lo)
		ORQ(st.acc, lo)
		if nt {
			MOVNTIQ(lo, Mem{Base: m, Disp: 8 * q})
		} else {
			MOVQ(lo, Mem{Base: m, Disp: 8 * q})
		}
		SHRQ(U8(1), b)
		SHRXQ(st.h2, b, st.acc) // the h bits shifted out: b>>(64-h), 0 for h = 0
	case maskBytes:
		v := ZMM()
		VMOVDQU8_Z(st.ones, all, v)
		if nt {
			VMOVNTDQ(v, Mem{Base: m, Disp: 64 * q})
		} else {
			VMOVDQU64(v, Mem{Base: m, Disp: 64 * q})
		}
	}
}

// fwd512 generates the AVX-512 forward kernel for float32 (size 4) or
// float64 (size 8) with the given mask format. With nt (a mask only), the
// mask is written with non-temporal stores, for calls far larger than the
// caches; y always gets ordinary ones (see streamMin in package cpu).
func fwd512(size int, f mask, nt bool) {
	typ := map[int]string{4: "float32", 8: "float64"}[size]
	name := fmt.Sprintf("fwd%d%sAVX512", 8*size, f)
	doc := []string{fmt.Sprintf("%s sets y[i] = keep ? x[i]*s : 0 for %d*groups elements", name, group512),
		"whose first stream word starts a Philox block, and returns acc."}
	if nt {
		name = fmt.Sprintf("fwd%d%sNTAVX512", 8*size, f)
		doc = []string{fmt.Sprintf("%s is fwd%d%sAVX512 with non-temporal stores of the mask", name, 8*size, f)}
		if f == maskBytes {
			doc[0] += ","
			doc = append(doc, "which must be 64-byte aligned.")
		} else {
			doc[0] += "."
		}
	}
	doc = append(doc, f.doc512()...)
	text(name, fmt.Sprintf("func(p "+params+", y, x *%s, m *byte, groups int, acc uint64) uint64", typ), doc...)
	var st state512
	st.p = Load(Param("p"), GP64())
	yp := Load(Param("y"), GP64())
	xp := Load(Param("x"), GP64())
	mp := GP64()
	st.acc = GP64()
	if f != maskNone {
		Load(Param("m"), mp)
	}
	if f == maskBits {
		Load(Param("acc"), st.acc)
	}
	n := Load(Param("groups"), GP64())
	st.setup(f)
	sv := ZMM()
	if size == 4 {
		VBROADCASTSS(Mem{Base: st.p, Disp: offS32}, sv)
	} else {
		VBROADCASTSD(Mem{Base: st.p, Disp: offS64}, sv)
	}
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))

	Label(name + "_loop")
	for off := 0; off < group512*size; off += 64 {
		PREFETCHNTA(Mem{Base: xp, Disp: prefetchAhead512 + off})
	}
	// x as memory operands: six sets leave no register to load it early.
	xs := make([]Op, group512*size/64)
	for i := range xs {
		xs[i] = Mem{Base: xp, Disp: 64 * i}
	}
	e := philox512(st.p, st.m0r, st.m1r, st.even, st.cb)
	// 64 elements at a time, as the mask registers run short.
	for q := 0; q < len(e); q += 4 {
		k := keep512(st.p, e[q:q+4])
		for i, kj := range k {
			j := q + i
			if size == 4 {
				v := ZMM()
				VMULPS_Z(xs[j], sv, kj, v)
				VMOVUPS(v, Mem{Base: yp, Disp: 64 * j})
				continue
			}
			khi := K()
			KSHIFTRW(U8(8), kj, khi)
			for h, km := range []reg.OpmaskVirtual{kj, khi} {
				v := ZMM()
				VMULPD_Z(xs[2*j+h], sv, km, v)
				VMOVUPD(v, Mem{Base: yp, Disp: 128*j + 64*h})
			}
		}
		if f != maskNone {
			st.storeMask(f, mp, k, q/4, nt)
		}
	}
	if f != maskNone {
		ADDQ(U32(map[mask]int{maskBits: group512 / 8, maskBytes: group512}[f]), mp)
	}
	ADDQ(U32(group512*size), xp)
	ADDQ(U32(group512*size), yp)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_done")
	if nt {
		SFENCE()
	}
	VZEROUPPER()
	if f != maskBits {
		XORQ(st.acc, st.acc)
	}
	Store(st.acc, ReturnIndex(0))
	RET()
}

func (f mask) doc512() []string {
	switch f {
	case maskBits:
		return []string{"It writes the keep bits, shifted left by p's bit position, through the",
			"64-bit accumulator acc, 8 bytes per 64 elements at m, and returns the bits left",
			"in acc."}
	case maskBytes:
		return []string{"It writes the keep decisions as bytes 0/1 at m."}
	}
	return nil
}

// keep512Kernel generates the kernel that writes only keep decisions, as
// bits through the accumulator (keepBitsAVX512, f = maskBits), or the test
// hook wordsAVX512 (f = maskNone).
func keep512Kernel(f mask) {
	name := "keepBitsAVX512"
	doc := []string{fmt.Sprintf("%s writes the keep bits of %d*groups elements whose first stream", name, group512),
		"word starts a Philox block, shifted left by p's bit position, through the",
		"64-bit accumulator acc, 8 bytes per 64 elements at k, and returns the bits",
		"left in acc."}
	sig := "func(p " + params + ", k *byte, groups int, acc uint64) uint64"
	if f == maskNone {
		name = "wordsAVX512"
		doc = []string{name + " sets w[i] to stream word i of the span (a test hook: the Philox",
			"core and word order of the kernels, without the keep decision)."}
		sig = "func(p " + params + ", w *uint32, groups int)"
	}
	text(name, sig, doc...)
	var st state512
	st.p = Load(Param("p"), GP64())
	kp := GP64()
	if f == maskNone {
		Load(Param("w"), kp)
	} else {
		Load(Param("k"), kp)
	}
	n := Load(Param("groups"), GP64())
	st.acc = GP64()
	if f == maskBits {
		Load(Param("acc"), st.acc)
	}
	st.setup(f)
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	e := philox512(st.p, st.m0r, st.m1r, st.even, st.cb)
	step := map[mask]int{maskNone: 4 * group512, maskBits: group512 / 8}[f]
	if f == maskNone {
		for j := range e {
			VMOVDQU64(e[j], Mem{Base: kp, Disp: 64 * j})
		}
	} else {
		for q := 0; q < len(e); q += 4 {
			st.storeMask(f, kp, keep512(st.p, e[q:q+4]), q/4, false)
		}
	}
	ADDQ(U32(step), kp)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	if f == maskBits {
		Store(st.acc, ReturnIndex(0))
	}
	RET()
}

func main512() {
	globals512()
	for _, size := range []int{4, 8} {
		for _, f := range []mask{maskNone, maskBits, maskBytes} {
			fwd512(size, f, false)
		}
		for _, f := range []mask{maskBits, maskBytes} {
			fwd512(size, f, true)
		}
	}
	keep512Kernel(maskBits)
	keep512Kernel(maskNone)
	for _, x := range []isa{isaAVX512, isaAVX2} {
		tiles(x)
	}
}
