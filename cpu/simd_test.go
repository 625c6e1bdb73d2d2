package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/internal/philox"
)

// simdOrSkip returns the SIMD kernel set, or skips where there is none (no
// AVX2, another architecture, or -tags purego).
func simdOrSkip(t testing.TB) kernels {
	k, ok := simdKernels()
	if !ok {
		t.Skip("no SIMD kernels on this machine or build")
	}
	return k
}

// simdCase is one comparison of the SIMD kernels with the portable ones.
type simdCase struct {
	n      int
	g0     uint64 // stream word of element 0
	seed   uint64
	p      float64
	mask   dropout.MaskFormat
	f64    bool
	inPlac bool // y aliases x
	nt     bool // ask for non-temporal stores
	// skew places y[h] (bit 0) and a bytes mask's byte h (bit 1) 32 bytes
	// past a 64-byte boundary, instead of on one: the AVX-512 kernels store
	// them non-temporally only when aligned, the AVX2 ones y when 32-byte
	// aligned.
	skew uint8
}

func (c simdCase) String() string {
	return fmt.Sprintf("n=%d g0=%#x seed=%#x p=%v mask=%v f64=%v inplace=%v nt=%v skew=%d", c.n, c.g0, c.seed, c.p, c.mask, c.f64, c.inPlac, c.nt, c.skew)
}

// testValues returns n inputs mixing ordinary numbers with NaN, ±Inf, ±0,
// subnormals and extremes, so that the scale and the select are exercised.
func testValues(r *rand.Rand, n int) []float64 {
	special := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1),
		math.SmallestNonzeroFloat64, 1e-40, -1e-45, math.MaxFloat32, -math.MaxFloat64, 1, -1}
	v := make([]float64, n)
	for i := range v {
		if r.IntN(8) == 0 {
			v[i] = special[r.IntN(len(special))]
		} else {
			v[i] = (r.Float64()*2 - 1) * math.Exp2(float64(r.IntN(40)-20))
		}
	}
	return v
}

// sameFloat reports whether a and b are the same bits, or both NaN.
func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || a != a && b != b
}

func sameFloat32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

// compareSIMD runs the forward and keep kernels of k and of the portable set
// on c and reports every difference. Outputs start from different garbage,
// so an element a kernel fails to write shows up too.
func compareSIMD(t testing.TB, k kernels, c simdCase) {
	t.Helper()
	r := rand.New(rand.NewPCG(c.seed, uint64(c.n)))
	a := span{seed: c.seed, g0: c.g0, t: dropout.Threshold(c.p), s32: dropout.Scale32(c.p), s64: dropout.Scale64(c.p), nt: c.nt}
	h := int(-c.g0 & 3) // where the SIMD kernels start, after the head
	ySkew := 32 * int(c.skew&1)
	vals := testValues(r, c.n)
	masks := func(fill byte) (bits, bytes []byte) {
		switch c.mask {
		case dropout.MaskBits:
			bits = make([]byte, (c.n+7)/8)
			for i := range bits {
				bits[i] = fill
			}
		case dropout.MaskBytes:
			bytes = alignedAt[byte](c.n, h, 64, 32*int(c.skew>>1&1))
			for i := range bytes {
				bytes[i] = fill
			}
		}
		return
	}
	bitsP, bytesP := masks(0xA5)
	bitsS, bytesS := masks(0x5A)
	var diffs int
	report := func(format string, args ...any) {
		if diffs++; diffs <= 8 {
			t.Errorf("%v: "+format, append([]any{c}, args...)...)
		}
	}
	if c.f64 {
		x := vals
		yP, yS := alignedAt[float64](c.n, h, 64, ySkew), alignedAt[float64](c.n, h, 64, ySkew)
		for i := range yP {
			yP[i], yS[i] = -1, -2
		}
		xP, xS := x, x
		if c.inPlac {
			copy(yP, x)
			copy(yS, x)
			xP, xS = yP, yS
		}
		ap, as := a, a
		portable.fwd64(yP, xP, bitsP, bytesP, &ap)
		k.fwd64(yS, xS, bitsS, bytesS, &as)
		for i := range yP {
			if !sameFloat(yP[i], yS[i]) {
				report("y[%d]: portable %v (%#x), %s %v (%#x)", i, yP[i], math.Float64bits(yP[i]), k.name, yS[i], math.Float64bits(yS[i]))
			}
		}
	} else {
		x := make([]float32, c.n)
		for i, v := range vals {
			x[i] = float32(v)
		}
		yP, yS := alignedAt[float32](c.n, h, 64, ySkew), alignedAt[float32](c.n, h, 64, ySkew)
		for i := range yP {
			yP[i], yS[i] = -1, -2
		}
		xP, xS := x, x
		if c.inPlac {
			copy(yP, x)
			copy(yS, x)
			xP, xS = yP, yS
		}
		ap, as := a, a
		portable.fwd32(yP, xP, bitsP, bytesP, &ap)
		k.fwd32(yS, xS, bitsS, bytesS, &as)
		for i := range yP {
			if !sameFloat32(yP[i], yS[i]) {
				report("y[%d]: portable %v (%#x), %s %v (%#x)", i, yP[i], math.Float32bits(yP[i]), k.name, yS[i], math.Float32bits(yS[i]))
			}
		}
	}
	for i := range bitsP {
		if bitsP[i] != bitsS[i] {
			report("bits byte %d: portable %08b, %s %08b", i, bitsP[i], k.name, bitsS[i])
		}
	}
	for i := range bytesP {
		if bytesP[i] != bytesS[i] {
			report("bytes[%d]: portable %d, %s %d", i, bytesP[i], k.name, bytesS[i])
		}
	}
	kP, kS := make([]byte, (c.n+7)/8), make([]byte, (c.n+7)/8)
	for i := range kP {
		kP[i], kS[i] = 0xA5, 0x5A
	}
	ap, as := a, a
	portable.keepBits(kP, c.n, &ap)
	k.keepBits(kS, c.n, &as)
	for i := range c.n {
		bp, bs := kP[i>>3]>>(i&7)&1, kS[i>>3]>>(i&7)&1
		if bp != bs {
			report("keep bit %d: portable %d, %s %d", i, bp, k.name, bs)
		}
		// and both against the definition (CONTRACT.md §2)
		if want := b2u8(uint64(philox.Word(c.seed, c.g0+uint64(i))) >= a.t); bp != want {
			report("keep bit %d: portable %d, stream definition %d", i, bp, want)
		}
	}
	if c.n%8 != 0 && (kP[len(kP)-1]>>(c.n%8) != 0 || kS[len(kS)-1]>>(c.n%8) != 0) {
		report("keep bits: padding bits not zero: portable %08b, %s %08b", kP[len(kP)-1], k.name, kS[len(kS)-1])
	}
	compareBackward(t, k, c, r, report)
	if diffs > 8 {
		t.Errorf("%v: %d differences in all", c, diffs)
	}
}

// alignedAt returns a slice of n elements whose element h lies skew bytes
// past a multiple of align bytes (a power of 2), for the non-temporal
// stores.
func alignedAt[T any](n, h, align, skew int) []T {
	if n <= h {
		return make([]T, n)
	}
	var z T
	size := int(unsafe.Sizeof(z))
	buf := make([]T, n+align/size)
	off := 0
	for int(uintptr(unsafe.Pointer(&buf[off+h]))%uintptr(align)) != skew {
		off++
	}
	return buf[off : off+n : off+n]
}

// TestSIMDvsPortable compares the kernels over a grid of lengths around the
// 32- and 192-element groups, every phase of the first word in its Philox
// block, counters that carry into the high counter word, and edge values
// of p.
func TestSIMDvsPortable(t *testing.T) {
	k := simdOrSkip(t)
	lengths := []int{0, 1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 34, 35, 36, 63, 64, 65, 67, 95, 96, 100, 127, 128, 131,
		191, 192, 193, 195, 255, 256, 383, 384, 387, 1000, 4099}
	starts := []uint64{0, 1, 2, 3, 4, 5, 6, 7, 1<<34 - 5, 1<<34 - 32, 1<<34 - 33, math.MaxUint64 - 5000,
		math.MaxUint64 - 2, math.MaxUint64 - 36} // across the end of the stream
	ps := []float64{0, 1, 0.5, 0.1, 0.9, 1e-10, 1 - 1e-10, 0x1p-32, 1 - 0x1p-32, 0.3333}
	compareSIMDGrid(t, k, lengths, starts, ps)
}

// compareSIMDGrid runs compareSIMD for k over every length, first stream
// word, p and mask format, each in float32 and float64, with in-place and
// non-temporal cases mixed in; it stops at the first failure.
func compareSIMDGrid(t *testing.T, k kernels, lengths []int, starts []uint64, ps []float64) {
	t.Helper()
	n := 0
	for _, l := range lengths {
		for _, g := range starts {
			for _, p := range ps {
				for _, m := range []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes} {
					n++
					c := simdCase{n: l, g0: g, seed: uint64(n) * 0x9E3779B97F4A7C15, p: p, mask: m, f64: n%2 == 0, inPlac: n%5 == 0, nt: n/3%2 == 0, skew: uint8(n / 6 % 4)}
					compareSIMD(t, k, c)
					c.f64 = !c.f64
					compareSIMD(t, k, c)
					if t.Failed() {
						return
					}
				}
			}
		}
	}
}

// FuzzSIMDvsPortable compares the SIMD kernels with the portable ones on
// random lengths, offsets, seeds, p, mask formats and float widths. The seed
// corpus runs under plain go test.
func FuzzSIMDvsPortable(f *testing.F) {
	f.Add(uint16(1000), uint64(0), uint64(1), 0.5, uint8(0), false)
	f.Add(uint16(1001), uint64(3), uint64(42), 0.5, uint8(1), false)
	f.Add(uint16(77), uint64(2), uint64(7), 0.25, uint8(2), true)
	f.Add(uint16(33), uint64(1), uint64(1<<40), 0.9, uint8(1), true)
	f.Add(uint16(4096), uint64(1<<34-7), uint64(0xDEADBEEF), 0.1, uint8(2), false)
	f.Add(uint16(300), uint64(5), uint64(3), 1.0, uint8(1), false)
	f.Add(uint16(300), uint64(6), uint64(3), 0.0, uint8(2), true)
	f.Add(uint16(65535), uint64(math.MaxUint64-70000), uint64(99), 0x1p-32, uint8(1), false)
	f.Fuzz(func(t *testing.T, n uint16, g0, seed uint64, p float64, mask uint8, f64 bool) {
		k := simdOrSkip(t)
		if !(p >= 0 && p <= 1) { // map anything else into [0, 1]
			p = math.Abs(math.Mod(p, 1))
			if p != p {
				p = 0.5
			}
		}
		compareSIMD(t, k, simdCase{n: int(n), g0: g0, seed: seed, p: p,
			mask: dropout.MaskFormat(mask % 3), f64: f64, inPlac: seed&1 != 0, nt: seed&2 != 0, skew: uint8(seed >> 2 & 3)})
	})
}

// compareBackward compares the stored-mask backward kernels on random bit
// masks and on byte masks whose kept bytes are any nonzero value.
func compareBackward(t testing.TB, k kernels, c simdCase, r *rand.Rand, report func(string, ...any)) {
	bits := make([]byte, (c.n+7)/8)
	for i := range bits {
		bits[i] = byte(r.Uint32())
	}
	if c.n%8 != 0 { // padding bits are zero
		bits[len(bits)-1] &= 1<<(c.n%8) - 1
	}
	bytes := make([]byte, c.n)
	for i := range bytes {
		if r.IntN(2) == 0 {
			bytes[i] = byte(1 + r.IntN(255))
		}
	}
	vals := testValues(r, c.n)
	if c.f64 {
		s := dropout.Scale64(c.p)
		for _, f := range []struct {
			name   string
			kp, ks func(dx, dy []float64, m []byte, s float64)
			m      []byte
		}{{"bits", portable.bwdBits64, k.bwdBits64, bits}, {"bytes", portable.bwdBytes64, k.bwdBytes64, bytes}} {
			dxP, dxS := make([]float64, c.n), make([]float64, c.n)
			for i := range dxP {
				dxP[i], dxS[i] = -1, -2
			}
			f.kp(dxP, vals, f.m, s)
			f.ks(dxS, vals, f.m, s)
			for i := range dxP {
				if !sameFloat(dxP[i], dxS[i]) {
					report("backward %s dx[%d]: portable %v, %s %v", f.name, i, dxP[i], k.name, dxS[i])
				}
			}
		}
		return
	}
	s := dropout.Scale32(c.p)
	dy := make([]float32, c.n)
	for i, v := range vals {
		dy[i] = float32(v)
	}
	for _, f := range []struct {
		name   string
		kp, ks func(dx, dy []float32, m []byte, s float32)
		m      []byte
	}{{"bits", portable.bwdBits32, k.bwdBits32, bits}, {"bytes", portable.bwdBytes32, k.bwdBytes32, bytes}} {
		dxP, dxS := make([]float32, c.n), make([]float32, c.n)
		for i := range dxP {
			dxP[i], dxS[i] = -1, -2
		}
		f.kp(dxP, dy, f.m, s)
		f.ks(dxS, dy, f.m, s)
		for i := range dxP {
			if !sameFloat32(dxP[i], dxS[i]) {
				report("backward %s dx[%d]: portable %v, %s %v", f.name, i, dxP[i], k.name, dxS[i])
			}
			// the portable kernel against the definition
			keep := f.name == "bits" && f.m[i>>3]>>(i&7)&1 != 0 || f.name == "bytes" && f.m[i] != 0
			want := float32(0)
			if keep {
				want = dy[i] * s
			}
			if !sameFloat32(dxP[i], want) {
				report("backward %s dx[%d]: portable %v, want %v", f.name, i, dxP[i], want)
			}
		}
	}
}

// TestStreamingVsReference runs calls large enough for the non-temporal
// stores (streamMin) through the backend, at an offset that keeps y aligned
// for them and at one that does not, against the reference backend.
func TestStreamingVsReference(t *testing.T) {
	if testing.Short() {
		t.Skip("large tensors")
	}
	ref, fast := NewReference(), New(dropout.Options{})
	for _, c := range []struct {
		f64    bool
		offset uint64
		mask   dropout.MaskFormat
	}{{false, 8, dropout.MaskBits}, {false, 3, dropout.MaskBytes}, {true, 1 << 20, dropout.MaskNone}, {true, 5, dropout.MaskBits}} {
		size := 4
		if c.f64 {
			size = 8
		}
		n := streamMin/size + 37
		p := dropout.Params{P: 0.3, Seed: 0xC0FFEE, Offset: c.offset, Mask: c.mask}
		r := rand.New(rand.NewPCG(c.offset, uint64(n)))
		var x, yr, yf dropout.Tensor
		if c.f64 {
			v := make(dropout.Float64s, n)
			for i := range v {
				v[i] = r.NormFloat64()
			}
			x, yr, yf = v, make(dropout.Float64s, n), make(dropout.Float64s, n)
		} else {
			v := make(dropout.Float32s, n)
			for i := range v {
				v[i] = float32(r.NormFloat64())
			}
			x, yr, yf = v, make(dropout.Float32s, n), make(dropout.Float32s, n)
		}
		var mr, mf dropout.Tensor
		if c.mask != dropout.MaskNone {
			mr, mf = make(dropout.Bytes, c.mask.Bytes(n)), make(dropout.Bytes, c.mask.Bytes(n))
		}
		if err := ref.Forward(yr, x, mr, p); err != nil {
			t.Fatal(err)
		}
		if err := fast.Forward(yf, x, mf, p); err != nil {
			t.Fatal(err)
		}
		bad := 0
		for i := 0; i < n && bad < 5; i++ {
			var ok bool
			if c.f64 {
				ok = sameFloat(yr.(dropout.Float64s)[i], yf.(dropout.Float64s)[i])
			} else {
				ok = sameFloat32(yr.(dropout.Float32s)[i], yf.(dropout.Float32s)[i])
			}
			if !ok {
				bad++
				t.Errorf("f64=%v offset %d: y[%d] differs from the reference", c.f64, c.offset, i)
			}
		}
		if mr != nil && string(mr.(dropout.Bytes)) != string(mf.(dropout.Bytes)) {
			t.Errorf("f64=%v offset %d: %v mask differs from the reference", c.f64, c.offset, c.mask)
		}
	}
}

// TestSplitVsReference splits small calls into many spans (whatever minSpan
// the kernels ask for) and compares forward and backward with the
// reference, on both kernel sets, at offsets that start spans mid-block.
func TestSplitVsReference(t *testing.T) {
	ref := NewReference()
	sets := []kernels{portable}
	if k, ok := simdKernels(); ok {
		sets = append(sets, k)
	}
	for _, k := range sets {
		for _, th := range []int{2, 3, 5} {
			c := &CPU{threads: th, k: k, minSpan: 64}
			for _, n := range []int{64 * th, 1000, 4099} {
				for _, off := range []uint64{0, 1, 6, 1<<34 - 3} {
					for _, f := range []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes} {
						for _, f64 := range []bool{false, true} {
							name := fmt.Sprintf("%s threads=%d n=%d offset=%d mask=%v f64=%v", k.name, th, n, off, f, f64)
							p := dropout.Params{P: 0.4, Seed: uint64(n) + off, Offset: off, Mask: f}
							splitCase(t, name, ref, c, n, p, f64)
						}
					}
				}
			}
		}
	}
}

func splitCase(t *testing.T, name string, ref *Reference, c *CPU, n int, p dropout.Params, f64 bool) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(n), p.Offset))
	mk := func() (x, y1, y2 dropout.Tensor) {
		if f64 {
			v := make(dropout.Float64s, n)
			for i := range v {
				v[i] = r.NormFloat64()
			}
			return v, make(dropout.Float64s, n), make(dropout.Float64s, n)
		}
		v := make(dropout.Float32s, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v, make(dropout.Float32s, n), make(dropout.Float32s, n)
	}
	x, yr, yc := mk()
	var mr, mc dropout.Tensor
	if p.Mask != dropout.MaskNone {
		mr, mc = make(dropout.Bytes, p.Mask.Bytes(n)), make(dropout.Bytes, p.Mask.Bytes(n))
	}
	same := func(what string, a, b dropout.Tensor) {
		switch a := a.(type) {
		case dropout.Float32s:
			for i := range a {
				if !sameFloat32(a[i], b.(dropout.Float32s)[i]) {
					t.Fatalf("%s: %s[%d] = %v, reference %v", name, what, i, b.(dropout.Float32s)[i], a[i])
				}
			}
		case dropout.Float64s:
			for i := range a {
				if !sameFloat(a[i], b.(dropout.Float64s)[i]) {
					t.Fatalf("%s: %s[%d] = %v, reference %v", name, what, i, b.(dropout.Float64s)[i], a[i])
				}
			}
		case dropout.Bytes:
			if string(a) != string(b.(dropout.Bytes)) {
				t.Fatalf("%s: %s differs from the reference", name, what)
			}
		}
	}
	if err := ref.Forward(yr, x, mr, p); err != nil {
		t.Fatal(err)
	}
	if err := c.Forward(yc, x, mc, p); err != nil {
		t.Fatal(err)
	}
	same("y", yr, yc)
	if mr != nil {
		same("mask", mr, mc)
	}
	dy, dxr, dxc := mk()
	if err := ref.Backward(dxr, dy, mr, p); err != nil {
		t.Fatal(err)
	}
	if err := c.Backward(dxc, dy, mc, p); err != nil {
		t.Fatal(err)
	}
	same("dx", dxr, dxc)
}
