//go:build amd64 && !purego

package cpu

import "unsafe"

// The AVX-512 kernel set: the Philox-driven kernels of philox_amd64.s with
// 16 lanes and mask registers (_asm/avx512.go), groups of avx512Group
// elements, and the AVX2 set's kernels where AVX-512 has nothing to add
// (on what is left of a span after its last whole avx512Group, too). With
// span.nt, its forward kernels write the mask, not y, with non-temporal
// stores (see streamMin).
var avx512 = kernels{
	name:    "avx512",
	minSpan: 1 << 17,
	fwd32:   fwd32AVX512, fwd64: fwd64AVX512,
	bwdBits32: bwdBits32AVX512Go, bwdBytes32: bwdBytes32AVX2Go,
	bwdBits64: bwdBits64AVX512Go, bwdBytes64: bwdBytes64AVX2Go,
	keepBits: keepBitsAVX512Go, apply16: apply16AVX512Go,
	alpha32: alpha32AVX512Go, alpha64: alpha64AVX512Go, alpha16: alpha16AVX512Go,
	fused32: fused32AVX512Go, fused64: fused64AVX512Go, fused16: fused16AVX512Go,
}

// avx512Group is the elements one iteration of the AVX-512 forward and
// keep kernels makes: sets512 sets of eight Philox blocks (_asm/avx512.go).
// The wrappers run them on as many whole groups as a span holds, then the
// AVX2 kernels, with the same avxParams, on its remaining groups of
// avxGroup elements (fewer than avx512Group/avxGroup).
const avx512Group = 192

// aligned64 reports whether b starts at a multiple of 64 bytes, as the
// non-temporal stores of a bytes mask need.
func aligned64(b *byte) bool { return uintptr(unsafe.Pointer(b))%64 == 0 }

// split512 splits groups of avxGroup elements into big groups of
// avx512Group elements and the rest, and returns the elements of the big
// ones.
func split512(groups int) (big, rest, done int) {
	big = groups / (avx512Group / avxGroup)
	done = big * avx512Group
	return big, groups - done/avxGroup, done
}

// The forward wrappers pass fwdSIMD an alignment of 1: the non-temporal
// kernels store y as usual, and a bytes mask, whose non-temporal stores
// need 64-byte alignment, is checked here.

func fwd32AVX512(y, x []float32, bits, bytes []byte, a *span) {
	fwdSIMD(y, x, bits, bytes, a, 1, fwd32Generic, func(ys, xs []float32, bt, by []byte, h, groups int, nt bool, acc uint64) uint64 {
		var p avxParams
		p.init(a, a.g0+uint64(h), h)
		big, rest, done := split512(groups)
		if big > 0 {
			y, x, bits, bytes := &ys[0], &xs[0], first(bt), first(by)
			switch {
			case bits != nil && nt:
				acc = fwd32BitsNTAVX512(p.rows(), y, x, bits, big, acc)
			case bits != nil:
				acc = fwd32BitsAVX512(p.rows(), y, x, bits, big, acc)
			case bytes != nil && nt && aligned64(bytes):
				fwd32BytesNTAVX512(p.rows(), y, x, bytes, big, 0)
			case bytes != nil:
				fwd32BytesAVX512(p.rows(), y, x, bytes, big, 0)
			default:
				fwd32NoneAVX512(p.rows(), y, x, nil, big, 0)
			}
		}
		if rest > 0 {
			p.setCtr(a.g0 + uint64(h+done))
			y, x, bits, bytes := &ys[done], &xs[done], at(bt, done/8), at(by, done)
			switch {
			case bits != nil:
				acc = fwd32BitsAVX2(p.rows(), y, x, bits, rest, acc)
			case bytes != nil:
				fwd32BytesAVX2(p.rows(), y, x, bytes, rest, 0)
			default:
				fwd32NoneAVX2(p.rows(), y, x, nil, rest, 0)
			}
		}
		return acc
	})
}

func fwd64AVX512(y, x []float64, bits, bytes []byte, a *span) {
	fwdSIMD(y, x, bits, bytes, a, 1, fwd64Generic, func(ys, xs []float64, bt, by []byte, h, groups int, nt bool, acc uint64) uint64 {
		var p avxParams
		p.init(a, a.g0+uint64(h), h)
		big, rest, done := split512(groups)
		if big > 0 {
			y, x, bits, bytes := &ys[0], &xs[0], first(bt), first(by)
			switch {
			case bits != nil && nt:
				acc = fwd64BitsNTAVX512(p.rows(), y, x, bits, big, acc)
			case bits != nil:
				acc = fwd64BitsAVX512(p.rows(), y, x, bits, big, acc)
			case bytes != nil && nt && aligned64(bytes):
				fwd64BytesNTAVX512(p.rows(), y, x, bytes, big, 0)
			case bytes != nil:
				fwd64BytesAVX512(p.rows(), y, x, bytes, big, 0)
			default:
				fwd64NoneAVX512(p.rows(), y, x, nil, big, 0)
			}
		}
		if rest > 0 {
			p.setCtr(a.g0 + uint64(h+done))
			y, x, bits, bytes := &ys[done], &xs[done], at(bt, done/8), at(by, done)
			switch {
			case bits != nil:
				acc = fwd64BitsAVX2(p.rows(), y, x, bits, rest, acc)
			case bytes != nil:
				fwd64BytesAVX2(p.rows(), y, x, bytes, rest, 0)
			default:
				fwd64NoneAVX2(p.rows(), y, x, nil, rest, 0)
			}
		}
		return acc
	})
}

func keepBitsAVX512Go(bits []byte, n int, a *span) {
	keepBitsSIMD(bits, n, a, func(bits []byte, h, groups int, acc uint64) uint64 {
		var p avxParams
		p.init(a, a.g0+uint64(h), h)
		big, rest, done := split512(groups)
		if big > 0 {
			acc = keepBitsAVX512(p.rows(), &bits[0], big, acc)
		}
		if rest > 0 {
			p.setCtr(a.g0 + uint64(h+done))
			acc = keepBitsAVX2(p.rows(), &bits[done/8], rest, acc)
		}
		return acc
	})
}
