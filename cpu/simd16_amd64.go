//go:build amd64 && !purego

package cpu

// The tile kernels' wrappers (dispatch.go states their contracts) for the
// AVX2 and AVX-512 sets: whole blocks of an iteration's lanes (AVX-512: 16,
// or 8 for float64; AVX2: 8) in assembly (_asm/tiles.go), the rest with
// the portable kernels. The kernels are called directly, not through
// function values, so that the caller's tile of bits and the bias window
// stay on the stack.

// tileBlocks returns the whole blocks of lanes elements in y, after checking
// that x, r and bits cover them.
func tileBlocks[T any](y, x, r []T, bits []byte, lanes int) int {
	n := len(y)
	bl := n / lanes
	if bl > 0 {
		_, _ = x[n-1], bits[bl*lanes/8-1]
		if r != nil {
			_ = r[n-1]
		}
	}
	return bl
}

// biasExt fills ext (32 elements) with the bias from element
// max(0, len(bias)-lanes) on, repeated: the fused kernels read a block's
// bias there when it may wrap around the end of the bias.
func biasExt[T any](ext []T, bias []T, lanes int) {
	if bias == nil {
		return
	}
	base := max(0, len(bias)-lanes)
	for k := range ext {
		ext[k] = bias[(base+k)%len(bias)]
	}
}

// tailBias returns the bias index of element k of a fused call whose
// element 0 uses bias element b0.
func tailBias[T any](bias []T, b0, k int) int {
	if len(bias) == 0 {
		return 0
	}
	return (b0 + k) % len(bias)
}

// ptr returns &s[0], or nil for a nil s.
func ptr[T any](s []T) *T {
	if s == nil {
		return nil
	}
	return &s[0]
}

// tail returns s[k:], or nil for a nil s.
func tail[T any](s []T, k int) []T {
	if s == nil {
		return nil
	}
	return s[k:]
}

// lanesOf is the elements of one tile-kernel iteration: 16 (8 for
// float64) with AVX-512, 8 with AVX2.
func lanesOf(w512, f64 bool) int {
	if w512 && !f64 {
		return 16
	}
	return 8
}

// variant numbers the fused kernels: bias present +2, residual present +1.
func variant(bias, r bool) int {
	v := 0
	if bias {
		v += 2
	}
	if r {
		v++
	}
	return v
}

func fused32SIMD(y, x, r, bias []float32, b0 int, bits []byte, s float32, w512 bool) {
	lanes := lanesOf(w512, false)
	bl := tileBlocks(y, x, r, bits, lanes)
	if bl > 0 {
		var ext [32]float32
		biasExt(ext[:], bias, lanes)
		yp, xp, rp, bp, ep, mp, l := &y[0], &x[0], ptr(r), ptr(bias), &ext[0], &bits[0], len(bias)
		switch v := variant(bias != nil, r != nil); {
		case w512 && v == 3:
			fused32BRAVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case w512 && v == 2:
			fused32BAVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case w512 && v == 1:
			fused32RAVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case w512:
			fused32AVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case v == 3:
			fused32BRAVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case v == 2:
			fused32BAVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case v == 1:
			fused32RAVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		default:
			fused32AVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		}
	}
	k := lanes * bl
	fused32Generic(y[k:], x[k:], tail(r, k), bias, tailBias(bias, b0, k), bits[k/8:], s)
}

func fused64SIMD(y, x, r, bias []float64, b0 int, bits []byte, s float64, w512 bool) {
	lanes := lanesOf(w512, true)
	bl := tileBlocks(y, x, r, bits, lanes)
	if bl > 0 {
		var ext [32]float64
		biasExt(ext[:], bias, lanes)
		yp, xp, rp, bp, ep, mp, l := &y[0], &x[0], ptr(r), ptr(bias), &ext[0], &bits[0], len(bias)
		switch v := variant(bias != nil, r != nil); {
		case w512 && v == 3:
			fused64BRAVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case w512 && v == 2:
			fused64BAVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case w512 && v == 1:
			fused64RAVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case w512:
			fused64AVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case v == 3:
			fused64BRAVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case v == 2:
			fused64BAVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case v == 1:
			fused64RAVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		default:
			fused64AVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		}
	}
	k := lanes * bl
	fused64Generic(y[k:], x[k:], tail(r, k), bias, tailBias(bias, b0, k), bits[k/8:], s)
}

func fused16SIMD(y, x, r, bias []uint16, b0 int, bits []byte, s float32, bf, w512 bool) {
	lanes := lanesOf(w512, false)
	bl := tileBlocks(y, x, r, bits, lanes)
	if bl > 0 {
		var ext [32]uint16
		biasExt(ext[:], bias, lanes)
		yp, xp, rp, bp, ep, mp, l := &y[0], &x[0], ptr(r), ptr(bias), &ext[0], &bits[0], len(bias)
		switch v := variant(bias != nil, r != nil); {
		case w512 && bf && v == 3:
			fused16bBRAVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case w512 && bf && v == 2:
			fused16bBAVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case w512 && bf && v == 1:
			fused16bRAVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case w512 && bf:
			fused16bAVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case w512 && v == 3:
			fused16fBRAVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case w512 && v == 2:
			fused16fBAVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case w512 && v == 1:
			fused16fRAVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case w512:
			fused16fAVX512(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case bf && v == 3:
			fused16bBRAVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case bf && v == 2:
			fused16bBAVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case bf && v == 1:
			fused16bRAVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case bf:
			fused16bAVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case v == 3:
			fused16fBRAVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case v == 2:
			fused16fBAVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		case v == 1:
			fused16fRAVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		default:
			fused16fAVX2(yp, xp, rp, bp, ep, mp, bl, b0, l, s)
		}
	}
	k := lanes * bl
	fused16Generic(y[k:], x[k:], tail(r, k), bias, tailBias(bias, b0, k), bits[k/8:], s, bf)
}

func alpha32SIMD(y, x []float32, bits []byte, A, B, D float32, w512 bool) {
	lanes := lanesOf(w512, false)
	if bl := tileBlocks(y, x, nil, bits, lanes); bl > 0 {
		if w512 {
			alpha32AVX512(&y[0], &x[0], &bits[0], bl, A, B, D)
		} else {
			alpha32AVX2(&y[0], &x[0], &bits[0], bl, A, B, D)
		}
	}
	k := len(y) / lanes * lanes
	alpha32Generic(y[k:], x[k:], bits[k/8:], A, B, D)
}

func alpha64SIMD(y, x []float64, bits []byte, A, B, D float64, w512 bool) {
	lanes := lanesOf(w512, true)
	if bl := tileBlocks(y, x, nil, bits, lanes); bl > 0 {
		if w512 {
			alpha64AVX512(&y[0], &x[0], &bits[0], bl, A, B, D)
		} else {
			alpha64AVX2(&y[0], &x[0], &bits[0], bl, A, B, D)
		}
	}
	k := len(y) / lanes * lanes
	alpha64Generic(y[k:], x[k:], bits[k/8:], A, B, D)
}

func alpha16SIMD(y, x []uint16, bits []byte, A, B, D float32, bf, w512 bool) {
	lanes := lanesOf(w512, false)
	if bl := tileBlocks(y, x, nil, bits, lanes); bl > 0 {
		switch {
		case w512 && bf:
			alpha16bAVX512(&y[0], &x[0], &bits[0], bl, A, B, D)
		case w512:
			alpha16fAVX512(&y[0], &x[0], &bits[0], bl, A, B, D)
		case bf:
			alpha16bAVX2(&y[0], &x[0], &bits[0], bl, A, B, D)
		default:
			alpha16fAVX2(&y[0], &x[0], &bits[0], bl, A, B, D)
		}
	}
	k := len(y) / lanes * lanes
	alpha16Generic(y[k:], x[k:], bits[k/8:], A, B, D, bf)
}

// The kernels-set entries: the wrappers above on one instruction set. The
// scale by a bit mask (apply16, and float32/float64 backward from bits) is
// the fused kernel with neither bias nor residual.

func fused32AVX512Go(y, x, r, bias []float32, b0 int, bits []byte, s float32) {
	fused32SIMD(y, x, r, bias, b0, bits, s, true)
}
func fused64AVX512Go(y, x, r, bias []float64, b0 int, bits []byte, s float64) {
	fused64SIMD(y, x, r, bias, b0, bits, s, true)
}
func fused16AVX512Go(y, x, r, bias []uint16, b0 int, bits []byte, s float32, bf bool) {
	fused16SIMD(y, x, r, bias, b0, bits, s, bf, true)
}
func apply16AVX512Go(y, x []uint16, bits []byte, s float32, bf bool) {
	fused16SIMD(y, x, nil, nil, 0, bits, s, bf, true)
}
func bwdBits32AVX512Go(dx, dy []float32, bits []byte, s float32) {
	fused32SIMD(dx, dy, nil, nil, 0, bits, s, true)
}
func bwdBits64AVX512Go(dx, dy []float64, bits []byte, s float64) {
	fused64SIMD(dx, dy, nil, nil, 0, bits, s, true)
}
func alpha32AVX512Go(y, x []float32, bits []byte, A, B, D float32) {
	alpha32SIMD(y, x, bits, A, B, D, true)
}
func alpha64AVX512Go(y, x []float64, bits []byte, A, B, D float64) {
	alpha64SIMD(y, x, bits, A, B, D, true)
}
func alpha16AVX512Go(y, x []uint16, bits []byte, A, B, D float32, bf bool) {
	alpha16SIMD(y, x, bits, A, B, D, bf, true)
}

func fused32AVX2Go(y, x, r, bias []float32, b0 int, bits []byte, s float32) {
	fused32SIMD(y, x, r, bias, b0, bits, s, false)
}
func fused64AVX2Go(y, x, r, bias []float64, b0 int, bits []byte, s float64) {
	fused64SIMD(y, x, r, bias, b0, bits, s, false)
}
func fused16AVX2Go(y, x, r, bias []uint16, b0 int, bits []byte, s float32, bf bool) {
	fused16SIMD(y, x, r, bias, b0, bits, s, bf, false)
}
func apply16AVX2Go(y, x []uint16, bits []byte, s float32, bf bool) {
	fused16SIMD(y, x, nil, nil, 0, bits, s, bf, false)
}
func alpha32AVX2Go(y, x []float32, bits []byte, A, B, D float32) {
	alpha32SIMD(y, x, bits, A, B, D, false)
}
func alpha64AVX2Go(y, x []float64, bits []byte, A, B, D float64) {
	alpha64SIMD(y, x, bits, A, B, D, false)
}
func alpha16AVX2Go(y, x []uint16, bits []byte, A, B, D float32, bf bool) {
	alpha16SIMD(y, x, bits, A, B, D, bf, false)
}
