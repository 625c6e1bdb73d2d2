package cpu

import (
	"encoding/binary"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/internal/philox"
)

// The tile driver runs what the fused forward kernels (fwd32, fwd64) do
// not: 16-bit data, alpha dropout, the fused op, region masks that are not
// one run of the stream, and noise-shape broadcasts. A worker's span goes
// through in tiles of tileLen elements, small enough that a tile's data
// stays in the L1 cache between its two passes: first the tile's keep
// decisions as bits (from the stream with keepBits, from a stored bit mask
// as it is, packed from a bytes mask, or gathered from the broadcast
// mask), then one memory-bound apply kernel (dispatch.go).

// tileLen is the elements of one tile: a multiple of 32, so that tiles
// start at whole bytes of a bit mask and whole Philox blocks of a span.
const tileLen = 2048

// tileOp is what the apply kernel computes.
type tileOp uint8

const (
	opScale tileOp = iota // y = keep ? x·s : 0 (plain forward; every backward)
	opAlpha               // y = keep ? A·x + B : D
	opFused               // y = r + (keep ? (x + b)·s : 0)
)

// tileCall is a validated call on host slices.
type tileCall struct {
	pl      *driver.Plan
	op      tileOp
	d, s    dropout.Tensor // y and x (dx and dy)
	bias, r dropout.Tensor // the fused op's, nil when absent
	s32     float32        // opScale's factor
	s64     float64
	m       dropout.Bytes // the stored mask, nil with MaskNone
	read    bool          // keep decisions from m (backward), else from the stream
	full    []byte        // broadcast: the keep bits of every mask element
}

// run runs a call.
func (c *CPU) run(t *tileCall) {
	pl := t.pl
	if pl.Copy && t.op != opFused && !t.read { // p = 0: every element kept, y a bit copy of x
		c.parallel(pl.N, func(lo, hi int) { copySpan(t.d, t.s, lo, hi) })
		keepAll(t.m, pl.Mask, pl.MaskN)
		return
	}
	if pl.Broadcast() {
		c.runBroadcast(t)
		return
	}
	if t.op == opScale && pl.Words == nil && (pl.DType == dropout.Float32 || pl.DType == dropout.Float64) {
		if t.read {
			c.backwardStored(t)
		} else {
			c.forwardFused(t)
		}
		return
	}
	c.parallel(pl.N, func(lo, hi int) {
		var tb [tileLen / 8]byte
		for a := lo; a < hi; a += tileLen {
			b := min(a+tileLen, hi)
			var bits []byte
			switch {
			case t.read && pl.Mask == dropout.MaskBits:
				bits = t.m[a/8 : (b+7)/8]
			case t.read:
				bits = tb[:]
				packBits(bits, t.m[a:b])
			case pl.Mask == dropout.MaskBits:
				bits = t.m[a/8 : (b+7)/8]
				c.genBits(bits, pl, a, b)
			default:
				bits = tb[:]
				c.genBits(bits, pl, a, b)
				if pl.Mask == dropout.MaskBytes {
					unpackBits(t.m[a:b], bits)
				}
			}
			c.apply(t, a, b, bits)
		}
	})
}

// forwardFused runs a float32 or float64 forward call (or a backward one
// that regenerates its mask) whose mask elements are its tensor's and one
// run of the stream with the kernels that fuse Philox, the select and the
// mask's stores.
func (c *CPU) forwardFused(t *tileCall) {
	pl := t.pl
	var bits, bytes []byte
	switch pl.Mask {
	case dropout.MaskBits:
		bits = t.m
	case dropout.MaskBytes:
		bytes = t.m
	}
	a := span{seed: pl.Seed, t: pl.Threshold, s32: t.s32, s64: t.s64,
		nt: pl.N*pl.DType.Size() >= streamMin}
	c.parallel(pl.N, func(lo, hi int) {
		a := a
		a.g0 = pl.Offset + uint64(lo)
		var bt, by []byte
		if bits != nil {
			bt = bits[lo/8 : (hi+7)/8]
		}
		if bytes != nil {
			by = bytes[lo:hi]
		}
		switch d := t.d.(type) {
		case dropout.Float32s:
			c.k.fwd32(d[lo:hi], t.s.(dropout.Float32s)[lo:hi], bt, by, &a)
		case dropout.Float64s:
			c.k.fwd64(d[lo:hi], t.s.(dropout.Float64s)[lo:hi], bt, by, &a)
		}
	})
}

// backwardStored runs a float32 or float64 backward call from a stored
// mask of the tensor's own elements.
func (c *CPU) backwardStored(t *tileCall) {
	pl, m := t.pl, t.m
	c.parallel(pl.N, func(lo, hi int) {
		switch d := t.d.(type) {
		case dropout.Float32s:
			s := t.s.(dropout.Float32s)
			if pl.Mask == dropout.MaskBits {
				c.k.bwdBits32(d[lo:hi], s[lo:hi], m[lo/8:(hi+7)/8], t.s32)
			} else {
				c.k.bwdBytes32(d[lo:hi], s[lo:hi], m[lo:hi], t.s32)
			}
		case dropout.Float64s:
			s := t.s.(dropout.Float64s)
			if pl.Mask == dropout.MaskBits {
				c.k.bwdBits64(d[lo:hi], s[lo:hi], m[lo/8:(hi+7)/8], t.s64)
			} else {
				c.k.bwdBytes64(d[lo:hi], s[lo:hi], m[lo:hi], t.s64)
			}
		}
	})
}

// runBroadcast runs a call whose mask is broadcast over its tensor: the
// whole mask first, as bits (from the stream or the stored mask), then the
// tensor in tiles whose bits are gathered from it.
func (c *CPU) runBroadcast(t *tileCall) {
	pl := t.pl
	mn := pl.MaskN
	switch {
	case t.read && pl.Mask == dropout.MaskBits:
		t.full = t.m
	case t.read:
		t.full = make([]byte, (mn+7)/8)
		c.parallel(mn, func(lo, hi int) { packBits(t.full[lo/8:(hi+7)/8], t.m[lo:hi]) })
	default:
		t.full = t.m
		if pl.Mask != dropout.MaskBits {
			t.full = make([]byte, (mn+7)/8)
		}
		c.parallel(mn, func(lo, hi int) {
			c.genBits(t.full[lo/8:(hi+7)/8], pl, lo, hi)
			if pl.Mask == dropout.MaskBytes {
				unpackBits(t.m[lo:hi], t.full[lo/8:(hi+7)/8])
			}
		})
	}
	if pl.N == 0 {
		// An empty tensor whose mask is not: a zero-sized axis that the
		// noise shape broadcasts (Shape (3, 0, 4), NoiseShape (3, 1, 4)).
		return
	}
	c.parallel(pl.N, func(lo, hi int) {
		var tb [tileLen / 8]byte
		w := newBroadcastWalk(pl, lo)
		for a := lo; a < hi; a += tileLen {
			b := min(a+tileLen, hi)
			clear(tb[:])
			w.gather(tb[:], b-a, t.full)
			c.apply(t, a, b, tb[:])
		}
	})
}

// apply runs the tile [a, b) of t's tensors through its apply kernel.
func (c *CPU) apply(t *tileCall, a, b int, bits []byte) {
	pl := t.pl
	b0 := 0
	if pl.HasBias && pl.BiasLen > 0 {
		b0 = a % pl.BiasLen
	}
	switch d := t.d.(type) {
	case dropout.Float32s:
		x := t.s.(dropout.Float32s)[a:b]
		switch t.op {
		case opScale:
			c.k.bwdBits32(d[a:b], x, bits, t.s32)
		case opAlpha:
			c.k.alpha32(d[a:b], x, bits, pl.AlphaA32, pl.AlphaB32, alphaD(pl.AlphaD32, pl))
		case opFused:
			bias, _ := t.bias.(dropout.Float32s)
			r, _ := t.r.(dropout.Float32s)
			c.k.fused32(d[a:b], x, sub32(r, a, b), bias, b0, bits, pl.Scale32)
		}
	case dropout.Float64s:
		x := t.s.(dropout.Float64s)[a:b]
		switch t.op {
		case opScale:
			c.k.bwdBits64(d[a:b], x, bits, t.s64)
		case opAlpha:
			c.k.alpha64(d[a:b], x, bits, pl.AlphaA64, pl.AlphaB64, alphaD(pl.AlphaD64, pl))
		case opFused:
			bias, _ := t.bias.(dropout.Float64s)
			r, _ := t.r.(dropout.Float64s)
			c.k.fused64(d[a:b], x, sub64(r, a, b), bias, b0, bits, pl.Scale64)
		}
	case dropout.Float16s:
		c.apply16(t, d[a:b], t.s.(dropout.Float16s)[a:b], h16(t.bias), sub16(h16(t.r), a, b), b0, bits, false)
	case dropout.BFloat16s:
		c.apply16(t, d[a:b], t.s.(dropout.BFloat16s)[a:b], h16(t.bias), sub16(h16(t.r), a, b), b0, bits, true)
	}
}

func (c *CPU) apply16(t *tileCall, y, x, bias, r []uint16, b0 int, bits []byte, bf bool) {
	pl := t.pl
	switch t.op {
	case opScale:
		c.k.apply16(y, x, bits, t.s32, bf)
	case opAlpha:
		c.k.alpha16(y, x, bits, pl.AlphaA32, pl.AlphaB32, alphaD(pl.AlphaD32, pl), bf)
	case opFused:
		c.k.fused16(y, x, r, bias, b0, bits, pl.Scale32, bf)
	}
}

// alphaD is the value of a dropped element of alpha dropout: D, or +0 for
// p = 1.
func alphaD[F float32 | float64](d F, pl *driver.Plan) F {
	if pl.DropAll {
		return 0
	}
	return d
}

// h16 returns the raw bits of a 16-bit host tensor, nil for nil.
func h16(t dropout.Tensor) []uint16 {
	switch t := t.(type) {
	case dropout.Float16s:
		return t
	case dropout.BFloat16s:
		return t
	}
	return nil
}

// sub32, sub64 and sub16 return s[a:b], or nil for a nil s.
func sub32(s []float32, a, b int) []float32 {
	if s == nil {
		return nil
	}
	return s[a:b]
}

func sub64(s []float64, a, b int) []float64 {
	if s == nil {
		return nil
	}
	return s[a:b]
}

func sub16(s []uint16, a, b int) []uint16 {
	if s == nil {
		return nil
	}
	return s[a:b]
}

// genBits writes the keep bits of mask elements [lo, hi) to dst (bit 0 is
// element lo; ceil((hi-lo)/8) bytes, padding bits zero): one keepBits run
// when the mask is one run of the stream, otherwise along the region's
// word map, a keepBits run for each stretch of consecutive words.
func (c *CPU) genBits(dst []byte, pl *driver.Plan, lo, hi int) {
	n := hi - lo
	a := span{seed: pl.Seed, t: pl.Threshold}
	if pl.Words == nil {
		a.g0 = pl.Offset + uint64(lo)
		c.k.keepBits(dst, n, &a)
		return
	}
	dst = dst[:(n+7)/8]
	clear(dst)
	dims, strides := pl.Words.Dims, pl.Words.Strides
	r := len(dims) - 1
	coord := make([]int, len(dims))
	for d, j := r, lo; d >= 0; d-- {
		coord[d] = j % dims[d]
		j /= dims[d]
	}
	var tmp [tileLen/8 + 8]byte
	for pos := 0; pos < n; {
		g := pl.Offset
		for d, cd := range coord {
			g += uint64(cd) * strides[d]
		}
		run := min(dims[r]-coord[r], n-pos)
		switch st := strides[r]; {
		case st == 1 && pos%8 == 0:
			// keepBits clears the bytes it writes, which hold no earlier bits
			a.g0 = g
			c.k.keepBits(dst[pos/8:], run, &a)
		case st == 1:
			for k := 0; k < run; k += tileLen {
				m := min(tileLen, run-k)
				a.g0 = g + uint64(k)
				c.k.keepBits(tmp[:], m, &a)
				orBitRun(dst, pos+k, tmp[:], 0, m)
			}
		default:
			for k := 0; k < run; k++ {
				if uint64(philox.Word(pl.Seed, g)) >= pl.Threshold {
					dst[(pos+k)>>3] |= 1 << ((pos + k) & 7)
				}
				g += st
			}
		}
		pos += run
		// next run: carry into the outer coordinates
		coord[r] += run
		for d := r; d > 0 && coord[d] == dims[d]; d-- {
			coord[d] = 0
			coord[d-1]++
		}
	}
}

// broadcastWalk follows tensor elements through the canonical broadcast
// dims (driver.Plan.Dims and Bcast) with counters: coord holds the current
// element's coordinates and j its mask element.
type broadcastWalk struct {
	dims  []int
	bcast []bool
	ms    []int // mask stride of each dim, 0 where broadcast
	coord []int
	j     int
}

func newBroadcastWalk(pl *driver.Plan, i int) *broadcastWalk {
	w := &broadcastWalk{dims: pl.Dims, bcast: pl.Bcast, ms: make([]int, len(pl.Dims)), coord: make([]int, len(pl.Dims))}
	st := 1
	for d := len(w.dims) - 1; d >= 0; d-- {
		if !w.bcast[d] {
			w.ms[d] = st
			st *= w.dims[d]
		}
	}
	for d := len(w.dims) - 1; d >= 0; d-- {
		w.coord[d] = i % w.dims[d]
		i /= w.dims[d]
		w.j += w.coord[d] * w.ms[d]
	}
	return w
}

// gather ORs the keep bits of the next n tensor elements into dst (zeroed),
// read from the mask bits full, and advances the walk: a run of the
// innermost dim is a run of mask bits, or one mask bit repeated where that
// dim is broadcast.
func (w *broadcastWalk) gather(dst []byte, n int, full []byte) {
	r := len(w.dims) - 1
	for pos := 0; pos < n; {
		run := min(w.dims[r]-w.coord[r], n-pos)
		if w.bcast[r] {
			if full[w.j>>3]>>(w.j&7)&1 == 1 {
				fillBitRun(dst, pos, run)
			}
		} else {
			orBitRun(dst, pos, full, w.j, run)
		}
		pos += run
		w.coord[r] += run
		w.j += run * w.ms[r]
		for d := r; d > 0 && w.coord[d] == w.dims[d]; d-- {
			w.j -= w.ms[d] * w.dims[d]
			w.coord[d] = 0
			w.coord[d-1]++
			w.j += w.ms[d-1]
		}
	}
}

// orBitRun ORs bits [spos, spos+n) of src into dst at bit dpos, 56 bits at
// a time.
func orBitRun(dst []byte, dpos int, src []byte, spos, n int) {
	for n > 0 {
		k := min(n, 56)
		orBitsAt(dst, dpos, loadBits(src, spos, k), k)
		dpos, spos, n = dpos+k, spos+k, n-k
	}
}

// fillBitRun sets bits [dpos, dpos+n) of dst.
func fillBitRun(dst []byte, dpos, n int) {
	for n > 0 {
		k := min(n, 56)
		orBitsAt(dst, dpos, 1<<k-1, k)
		dpos, n = dpos+k, n-k
	}
}

// loadBits returns bits [pos, pos+k) of b, k <= 56, in the low bits.
func loadBits(b []byte, pos, k int) uint64 {
	i, sh := pos>>3, pos&7
	var w uint64
	if i+8 <= len(b) {
		w = binary.LittleEndian.Uint64(b[i:])
	} else {
		for j := 0; i+j < len(b) && j < 8; j++ {
			w |= uint64(b[i+j]) << (8 * j)
		}
	}
	return w >> sh & (1<<k - 1)
}

// orBitsAt ORs the k <= 56 low bits of v into dst at bit pos.
func orBitsAt(dst []byte, pos int, v uint64, k int) {
	i, sh := pos>>3, pos&7
	v <<= sh
	for j := 0; j < (k+sh+7)/8; j++ {
		dst[i+j] |= byte(v >> (8 * j))
	}
}

// packBits sets the bits of a bit mask from a bytes mask (nonzero: kept),
// padding bits zero.
func packBits(bits []byte, m []byte) {
	n := len(m)
	bits = bits[:(n+7)/8]
	i := 0
	for ; i+8 <= n; i += 8 {
		w := binary.LittleEndian.Uint64(m[i:])
		// one bit per nonzero byte, gathered into the low byte
		w = (w | w>>4) & 0x0f0f0f0f0f0f0f0f
		w = (w | w>>2) & 0x0303030303030303
		w = (w | w>>1) & 0x0101010101010101
		bits[i>>3] = byte(w * 0x0102040810204080 >> 56)
	}
	if i < n {
		var v byte
		for j := i; j < n; j++ {
			v |= b2u8(m[j] != 0) << (j - i)
		}
		bits[i>>3] = v
	}
}

// unpackBits writes a bytes mask (1 kept, 0 dropped) from a bit mask.
func unpackBits(m, bits []byte) {
	for i := range m {
		m[i] = bits[i>>3] >> (i & 7) & 1
	}
}
