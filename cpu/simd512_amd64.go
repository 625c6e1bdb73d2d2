//go:build amd64 && !purego

package cpu

// The AVX-512 kernel set: the Philox-driven kernels of philox_amd64.s with
// 16 lanes and mask registers (_asm/avx512.go), groups of avx512Group
// elements, and the AVX2 set's kernels where AVX-512 has nothing to add.
var avx512 = kernels{
	name:    "avx512",
	minSpan: 1 << 17,
	fwd32:   fwd32AVX512, fwd64: fwd64AVX512, keep: keepAVX512,
	bwdBits32: bwdBits32AVX512Go, bwdBytes32: bwdBytes32AVX2Go,
	bwdBits64: bwdBits64AVX512Go, bwdBytes64: bwdBytes64AVX2Go,
	keepBits: keepBitsAVX512Go, apply16: apply16AVX512Go,
	alpha32: alpha32AVX512Go, alpha64: alpha64AVX512Go, alpha16: alpha16AVX512Go,
	fused32: fused32AVX512Go, fused64: fused64AVX512Go, fused16: fused16AVX512Go,
}

// avx512Group is the elements one iteration of the AVX-512 forward and
// keep kernels makes: two sets of eight Philox blocks (_asm/avx512.go).
const avx512Group = 64

func fwd32AVX512(y, x []float32, bits, bytes []byte, a *span) {
	fwdSIMD(y, x, bits, bytes, a, avx512Group, 64, fwd32Generic, func(y, x *float32, bits, bytes *byte, h, groups int, nt bool, acc uint64) uint64 {
		var p avxParams
		p.init(a, a.g0+uint64(h), h)
		switch {
		case bits != nil && nt:
			return fwd32BitsNTAVX512(p.rows(), y, x, bits, groups, acc)
		case bits != nil:
			return fwd32BitsAVX512(p.rows(), y, x, bits, groups, acc)
		case bytes != nil && nt:
			return fwd32BytesNTAVX512(p.rows(), y, x, bytes, groups, 0)
		case bytes != nil:
			return fwd32BytesAVX512(p.rows(), y, x, bytes, groups, 0)
		case nt:
			return fwd32NoneNTAVX512(p.rows(), y, x, nil, groups, 0)
		}
		return fwd32NoneAVX512(p.rows(), y, x, nil, groups, 0)
	})
}

func fwd64AVX512(y, x []float64, bits, bytes []byte, a *span) {
	fwdSIMD(y, x, bits, bytes, a, avx512Group, 64, fwd64Generic, func(y, x *float64, bits, bytes *byte, h, groups int, nt bool, acc uint64) uint64 {
		var p avxParams
		p.init(a, a.g0+uint64(h), h)
		switch {
		case bits != nil && nt:
			return fwd64BitsNTAVX512(p.rows(), y, x, bits, groups, acc)
		case bits != nil:
			return fwd64BitsAVX512(p.rows(), y, x, bits, groups, acc)
		case bytes != nil && nt:
			return fwd64BytesNTAVX512(p.rows(), y, x, bytes, groups, 0)
		case bytes != nil:
			return fwd64BytesAVX512(p.rows(), y, x, bytes, groups, 0)
		case nt:
			return fwd64NoneNTAVX512(p.rows(), y, x, nil, groups, 0)
		}
		return fwd64NoneAVX512(p.rows(), y, x, nil, groups, 0)
	})
}

func keepAVX512(k []byte, a *span) {
	keepSIMD(k, a, avx512Group, func(k *byte, h, groups int) {
		var p avxParams
		p.init(a, a.g0+uint64(h), h)
		keepBytesAVX512(p.rows(), k, groups, 0)
	})
}

func keepBitsAVX512Go(bits []byte, n int, a *span) {
	keepBitsSIMD(bits, n, a, avx512Group, func(bits *byte, h, groups int, acc uint64) uint64 {
		var p avxParams
		p.init(a, a.g0+uint64(h), h)
		return keepBitsAVX512(p.rows(), bits, groups, acc)
	})
}
