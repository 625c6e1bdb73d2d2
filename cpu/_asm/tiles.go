package main

// The tile kernels, in AVX-512 and AVX2 forms: keep decisions as bits in,
// one pass over the data, every floating-point step its own instruction (a
// multiply and an add, never a fused multiply-add) so that each product is
// rounded before the add, as CONTRACT.md says. 16-bit data is widened to
// float32 exactly (VCVTPH2PS; a bfloat16 is the top half of a float32) and
// each rounded result narrowed with one round-to-nearest-even (VCVTPS2PH
// with imm8 0, which gives a NaN its quiet bit and keeps the payload's top
// bits as internal/half does; bfloat16 by integer adds: +0x7FFF plus the
// kept lowest bit, a NaN keeping its top bits with the quiet bit set).
//
// AVX-512 loads each iteration's 16 (or 8, float64) keep bits straight
// into a mask register: zero-masking gives the dropped +0, merge-masking
// alpha dropout's D. AVX2 broadcasts a byte of bits and compares it with
// the lane's bit (VPAND, VPCMPEQD/Q) into lane masks for VANDPS and
// VBLENDVPS; an iteration is 8 elements.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// isa is the instruction set a tile kernel is generated for.
type isa struct {
	suffix string
	avx512 bool
}

var (
	isaAVX512 = isa{"AVX512", true}
	isaAVX2   = isa{"AVX2", false}
)

// elem describes a data type of the tile kernels.
type elem struct {
	name  string // in kernel names: 32, 64, 16f, 16b
	gotyp string
	size  int // bytes per element
}

var (
	e32  = elem{"32", "float32", 4}
	e64  = elem{"64", "float64", 8}
	e16f = elem{"16f", "uint16", 2}
	e16b = elem{"16b", "uint16", 2}
)

func (e elem) wide() bool { return e.size == 8 }

// scalar is the Go type of the kernels' scalar arguments.
func (e elem) scalar() string {
	if e.wide() {
		return "float64"
	}
	return "float32"
}

// tile is a kernel being generated: a data type on an instruction set.
type tile struct {
	e elem
	x isa
}

// lanes is the elements of one iteration: one vector of the compute type
// with AVX-512 (16, or 8 for float64), 8 with AVX2 (two vectors for float64).
func (t tile) lanes() int {
	if t.x.avx512 && !t.e.wide() {
		return 16
	}
	return 8
}

// regs is the vectors of the compute type per iteration.
func (t tile) regs() int {
	if !t.x.avx512 && t.e.wide() {
		return 2
	}
	return 1
}

func (t tile) vec() reg.VecVirtual {
	if t.x.avx512 {
		return ZMM()
	}
	return YMM()
}

// keep is an iteration's keep decisions: a mask register (AVX-512) or a
// lane mask per vector (AVX2).
type keep struct {
	k reg.OpmaskVirtual
	v []reg.VecVirtual
}

func (t tile) keep(bits reg.Register) keep {
	if t.x.avx512 {
		k := K()
		if t.lanes() == 16 {
			KMOVW(Mem{Base: bits}, k)
		} else {
			KMOVB(Mem{Base: bits}, k)
		}
		return keep{k: k}
	}
	b := YMM()
	VPBROADCASTB(Mem{Base: bits}, b)
	var m []reg.VecVirtual
	for i := 0; i < t.regs(); i++ {
		v := YMM()
		if t.e.wide() {
			sel := constBit64.Offset(32 * i)
			VPAND(sel, b, v)
			VPCMPEQQ(sel, v, v)
		} else {
			VPAND(constBit32, b, v)
			VPCMPEQD(constBit32, v, v)
		}
		m = append(m, v)
	}
	return keep{v: m}
}

// load returns the compute-type value of the iteration's lanes at m.
func (t tile) load(m Mem) []reg.VecVirtual {
	var vs []reg.VecVirtual
	for i := 0; i < t.regs(); i++ {
		v := t.vec()
		mi := m.Offset(i * 32)
		switch t.e {
		case e32:
			VMOVUPS(mi, v)
		case e64:
			VMOVUPD(mi, v)
		case e16f:
			VCVTPH2PS(mi, v)
		case e16b:
			VPMOVZXWD(mi, v)
			VPSLLD(U8(16), v, v)
		}
		vs = append(vs, v)
	}
	return vs
}

// bfRow is the constant row r of bf16Consts (1, 0x7FFF, 0x40).
func bfRow(r int) Mem { return cBF16.Offset(32 * r) }

// narrowBF returns the bfloat16 bits (in the low half of each dword) of
// the float32 lanes v, rounded to nearest even.
func (t tile) narrowBF(v reg.VecVirtual) reg.VecVirtual {
	q, r := t.vec(), t.vec()
	VPSRLD(U8(16), v, q)
	if t.x.avx512 {
		VPANDD_BCST(bfRow(0), q, r)
		VPADDD(v, r, r)
		VPADDD_BCST(bfRow(1), r, r)
		VPSRLD(U8(16), r, r)
		kn := K()
		VCMPPS(U8(3), v, v, kn)        // unordered: NaN
		VPORD_BCST(bfRow(2), q, kn, r) // NaN: top bits | quiet bit
		return r
	}
	VPAND(bfRow(0), q, r)
	VPADDD(v, r, r)
	VPADDD(bfRow(1), r, r)
	VPSRLD(U8(16), r, r)
	n := YMM()
	VCMPPS(U8(3), v, v, n)
	VPOR(bfRow(2), q, q)
	VBLENDVPS(n, q, r, r) // NaN: top bits | quiet bit
	return r
}

// store writes vs rounded to the data type at m.
func (t tile) store(vs []reg.VecVirtual, m Mem) {
	for i, v := range vs {
		mi := m.Offset(32 * i)
		switch t.e {
		case e32:
			VMOVUPS(v, mi)
		case e64:
			VMOVUPD(v, mi)
		case e16f:
			VCVTPS2PH(U8(0), v, mi)
		case e16b:
			r := t.narrowBF(v)
			if t.x.avx512 {
				VPMOVDW(r, mi)
				continue
			}
			hi := XMM()
			VEXTRACTI128(U8(1), r, hi)
			VPACKUSDW(hi, r.AsX(), r.AsX()) // values < 2^16: no saturation
			VMOVDQU(r.AsX(), mi)
		}
	}
}

// round rounds the float32 lanes vs to the 16-bit type in place (the value
// a store and a load would give); a no-op for float32 and float64.
func (t tile) round(vs []reg.VecVirtual) {
	for _, v := range vs {
		switch t.e {
		case e16f:
			h := YMM()
			if !t.x.avx512 {
				h = XMM()
			}
			VCVTPS2PH(U8(0), v, h)
			VCVTPH2PS(h, v)
		case e16b:
			r := t.narrowBF(v)
			VPSLLD(U8(16), r, v)
		}
	}
}

// bcast broadcasts the scalar parameter name into a vector.
func (t tile) bcast(name string) reg.VecVirtual {
	v := t.vec()
	x := Load(Param(name), XMM())
	if t.e.wide() {
		VBROADCASTSD(x, v)
	} else {
		VBROADCASTSS(x, v)
	}
	return v
}

// mul sets dst = b·a (b the first operand).
func (t tile) mul(a, b, dst reg.VecVirtual) {
	if t.e.wide() {
		VMULPD(a, b, dst)
	} else {
		VMULPS(a, b, dst)
	}
}

// add sets dst = b + a (b the first operand, whose NaN a NaN sum keeps).
func (t tile) add(a, b, dst reg.VecVirtual) {
	if t.e.wide() {
		VADDPD(a, b, dst)
	} else {
		VADDPS(a, b, dst)
	}
}

// scaleKept returns keep ? v·s : +0.
func (t tile) scaleKept(sv reg.VecVirtual, vs []reg.VecVirtual, k keep) []reg.VecVirtual {
	var us []reg.VecVirtual
	for i, v := range vs {
		u := t.vec()
		switch {
		case t.x.avx512 && t.e.wide():
			VMULPD_Z(sv, v, k.k, u)
		case t.x.avx512:
			VMULPS_Z(sv, v, k.k, u)
		default:
			t.mul(sv, v, u)
			VANDPS(k.v[i], u, u)
		}
		us = append(us, u)
	}
	return us
}

// loop emits the loop over blocks iterations, advancing the data pointers
// ptrs (y, then the inputs, which it prefetches) by an iteration's bytes
// and bits by its keep bits.
func (t tile) loop(name string, blocks reg.Register, ptrs []reg.Register, bits reg.Register, body func()) {
	TESTQ(blocks, blocks)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	for _, p := range ptrs[1:] { // the inputs: x, r
		prefetch(p, t.lanes()*t.e.size)
	}
	body()
	for _, p := range ptrs {
		ADDQ(U32(t.lanes()*t.e.size), p)
	}
	ADDQ(U32(t.lanes()/8), bits)
	DECQ(blocks)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// fused generates y = r + (keep ? (x + b)·s : +0), each step rounded to the
// data type, with or without the bias and the residual. Without either it
// is the plain scale by a bit mask (apply16, and backward from bits).
func (t tile) fused(bias, res bool) {
	suffix := ""
	if bias {
		suffix += "B"
	}
	if res {
		suffix += "R"
	}
	name := fmt.Sprintf("fused%s%s%s", t.e.name, suffix, t.x.suffix)
	text(name, fmt.Sprintf("func(y, x, r, bias, ext *%s, bits *byte, blocks, j, l int, s %s)", t.e.gotyp, t.e.scalar()),
		fmt.Sprintf("%s runs %d*blocks elements of the fused op (%s)", name, t.lanes(), map[string]string{
			"": "no bias, no residual", "B": "bias, no residual", "R": "residual, no bias", "BR": "bias and residual"}[suffix]),
		"with the keep bits at bits; bias element j (of l) is the first element's,",
		fmt.Sprintf("and ext is the bias from element max(0, l-%d) on, repeated to 32 elements.", t.lanes()))
	yp := Load(Param("y"), GP64())
	xp := Load(Param("x"), GP64())
	rp, bp, ep, j, l, base, step := GP64(), GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
	if res {
		Load(Param("r"), rp)
	}
	if bias {
		Load(Param("bias"), bp)
		Load(Param("ext"), ep)
		Load(Param("j"), j)
		Load(Param("l"), l)
		// base = max(0, l-lanes); ep -= base elements
		MOVQ(l, base)
		SUBQ(U8(t.lanes()), base)
		zero := GP64()
		XORQ(zero, zero)
		CMPQ(base, zero)
		CMOVQLT(zero, base)
		off := GP64()
		MOVQ(base, off)
		SHLQ(U8(map[int]uint8{2: 1, 4: 2, 8: 3}[t.e.size]), off)
		SUBQ(off, ep)
		// step = lanes mod l, by subtraction
		MOVQ(U32(t.lanes()), step)
		Label(name + "_mod")
		CMPQ(step, l)
		JB(LabelRef(name + "_modok"))
		SUBQ(l, step)
		JMP(LabelRef(name + "_mod"))
		Label(name + "_modok")
	}
	bits := Load(Param("bits"), GP64())
	blocks := Load(Param("blocks"), GP64())
	sv := t.bcast("s")
	ptrs := []reg.Register{yp, xp}
	if res {
		ptrs = append(ptrs, rp)
	}
	t.loop(name, blocks, ptrs, bits, func() {
		k := t.keep(bits)
		v := t.load(Mem{Base: xp})
		if bias {
			p1, p2, tmp := GP64(), GP64(), GP64()
			LEAQ(Mem{Base: bp, Index: j, Scale: uint8(t.e.size)}, p1)
			LEAQ(Mem{Base: ep, Index: j, Scale: uint8(t.e.size)}, p2)
			CMPQ(j, base)
			CMOVQCC(p2, p1) // j >= base: the window may wrap, read ext
			b := t.load(Mem{Base: p1})
			for i := range v {
				t.add(b[i], v[i], v[i]) // x + b
			}
			t.round(v)
			ADDQ(step, j)
			MOVQ(j, tmp)
			SUBQ(l, tmp)
			CMOVQCC(tmp, j) // j >= l: j -= l
		}
		u := t.scaleKept(sv, v, k)
		if res {
			t.round(u)
			rv := t.load(Mem{Base: rp})
			for i := range u {
				t.add(u[i], rv[i], u[i]) // r + u
			}
		}
		t.store(u, Mem{Base: yp})
	})
}

// alpha generates y = keep ? (A·x) + B : D, the product rounded before the
// add, computed in float32 for 16-bit data and rounded once.
func (t tile) alpha() {
	name := fmt.Sprintf("alpha%s%s", t.e.name, t.x.suffix)
	text(name, fmt.Sprintf("func(y, x *%s, bits *byte, blocks int, a, b, d %s)", t.e.gotyp, t.e.scalar()),
		fmt.Sprintf("%s sets y = keep ? (a·x) + b : d for %d*blocks elements, keep", name, t.lanes()),
		"being the bits at bits.")
	yp := Load(Param("y"), GP64())
	xp := Load(Param("x"), GP64())
	bits := Load(Param("bits"), GP64())
	blocks := Load(Param("blocks"), GP64())
	av, bv, dv := t.bcast("a"), t.bcast("b"), t.bcast("d")
	t.loop(name, blocks, []reg.Register{yp, xp}, bits, func() {
		k := t.keep(bits)
		v := t.load(Mem{Base: xp})
		out := make([]reg.VecVirtual, len(v))
		for i := range v {
			t.mul(v[i], av, v[i]) // a·x, rounded
			out[i] = t.vec()
			switch {
			case t.x.avx512 && t.e.wide():
				VMOVAPD(dv, out[i])
				VADDPD(bv, v[i], k.k, out[i]) // kept: (a·x) + b
			case t.x.avx512:
				VMOVAPS(dv, out[i])
				VADDPS(bv, v[i], k.k, out[i])
			default:
				t.add(bv, v[i], v[i])
				if t.e.wide() {
					VBLENDVPD(k.v[i], v[i], dv, out[i])
				} else {
					VBLENDVPS(k.v[i], v[i], dv, out[i])
				}
			}
		}
		t.store(out, Mem{Base: yp})
	})
}

func tiles(x isa) {
	for _, e := range []elem{e32, e64, e16f, e16b} {
		t := tile{e, x}
		for _, bias := range []bool{false, true} {
			for _, res := range []bool{false, true} {
				t.fused(bias, res)
			}
		}
		t.alpha()
	}
}
