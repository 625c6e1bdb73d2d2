package exec

import (
	"fmt"
	"math"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
)

// Forward implements dropout.Backend. Tensors are host tensors (staged
// through the queue's staging buffers, chunk by chunk) or buffers of this
// backend (used in place), in any mix.
func (e *Backend) Forward(dst, x, mask dropout.Tensor, p dropout.Params) error {
	return e.run(dst, x, nil, nil, mask, p, false, false)
}

// Backward implements dropout.Backend.
func (e *Backend) Backward(dx, dy, mask dropout.Tensor, p dropout.Params) error {
	return e.run(dx, dy, nil, nil, mask, p, true, false)
}

// ForwardFused implements dropout.Fuser: dst = residual + dropout(x +
// bias) in one pass. The bias is on the device whole for the call (a
// buffer, or uploaded once); the residual is staged chunk by chunk as x is.
func (e *Backend) ForwardFused(dst, x, bias, residual, mask dropout.Tensor, p dropout.Params) error {
	return e.run(dst, x, bias, residual, mask, p, false, true)
}

// call is one Forward, Backward or Copy being run.
type call struct {
	q       *queue
	pl      driver.Plan
	y, x, m operand
	r       operand // the residual of a fused call
	// biasHost is the bias of a fused call when it is larger than a
	// launch's window: each launch gets its part (rotBias).
	biasHost []byte
	es       int64 // element size
	chunk    int64 // elements per chunk, a multiple of 32
	host     bool  // some tensor is staged from or to the host
	a        Args  // the arguments every launch shares
	la       Args  // a launch's arguments (flat): here, not on the heap per chunk
}

func (e *Backend) run(dst, src, bias, resid, mask dropout.Tensor, p dropout.Params, backward, fused bool) error {
	q, err := e.begin()
	if err != nil {
		return err
	}
	defer e.end(q)
	err = q.run(dst, src, bias, resid, mask, p, backward, fused)
	if err == nil && len(q.mapped) > 0 { // host memory used in place: visible once waited for
		if q.pending {
			err = q.wait()
		}
		if err == nil {
			err = q.unmap()
		}
	}
	return err
}

// run runs a Forward, Backward or ForwardFused call on q.
func (q *queue) run(dst, src, bias, resid, mask dropout.Tensor, p dropout.Params, backward, fused bool) error {
	e := q.e
	var err error
	var pl driver.Plan
	if fused {
		pl, err = driver.NewFusedPlan(dst, src, bias, resid, mask, p)
	} else {
		pl, err = driver.NewPlan(dst, src, mask, p)
	}
	if err != nil {
		return err
	}
	if err := e.can(&pl, p.IsRegion()); err != nil {
		return err
	}
	c, err := q.newCall(pl, dst, src)
	if err != nil {
		return err
	}
	if pl.Mask != dropout.MaskNone {
		if c.m, err = q.operand(mask); err != nil {
			return err
		}
	}
	fuse := pl.HasBias || pl.Residual // a fused call that is more than dropout
	if pl.Residual {
		if c.r, err = q.operand(resid); err != nil {
			return err
		}
	}
	var b operand
	if pl.HasBias {
		if b, err = q.operand(bias); err != nil {
			return err
		}
	}
	c.place(&b)
	if err := c.mapHost(&b); err != nil {
		return err
	}
	c.setChunk()
	c.a = Args{DType: pl.DType, Seed: pl.Seed, Thresh: uint32(min(pl.Threshold, math.MaxUint32)),
		DropAll: pl.DropAll, CopyKept: pl.Copy, Scale32: pl.Scale32, Scale64: pl.Scale64,
		HasResid: pl.Residual}
	if pl.Alpha && !pl.Copy && !pl.DropAll {
		if backward { // dx = keep ? A·dy : 0, plain dropout with scale A
			c.a.Scale32, c.a.Scale64 = pl.AlphaA32, pl.AlphaA64
		} else {
			c.a.Alpha = true
			c.a.A32, c.a.B32, c.a.D32 = pl.AlphaA32, pl.AlphaB32, pl.AlphaD32
			c.a.A64, c.a.B64, c.a.D64 = pl.AlphaA64, pl.AlphaB64, pl.AlphaD64
		}
	}
	gen := !backward || pl.Mask == dropout.MaskNone
	if pl.N == 0 && !(gen && pl.Mask != dropout.MaskNone) {
		return nil // nothing to write (an empty tensor may still have a mask to write: below)
	}
	if pl.HasBias && pl.N > 0 {
		if err := c.bias(b); err != nil {
			return err
		}
	}
	switch {
	case pl.Mask == dropout.MaskNone && pl.Copy && !fuse:
		return c.flat(Copy) // p = 0: y is a bit copy of x
	case pl.Mask == dropout.MaskNone && pl.DropAll && !fuse && (c.y.mem == nil || c.y.stage || c.y.words(roundUp4(c.y.n))):
		return c.flat(Zero) // p = 1: y is +0 (a view off whole words: by GenNone with DropAll below)
	case pl.Broadcast() || gen && pl.Words != nil:
		return c.broadcast(gen)
	}
	if gen {
		return c.flat(pick(pl.Mask, GenNone, GenBits, GenBytes))
	}
	return c.flat(pick(pl.Mask, 0, ReadBits, ReadBytes))
}

// can returns an error if the device cannot run pl: a data type outside
// Info.DTypes, or alpha dropout, a fused op or a region where its
// capabilities say no.
func (e *Backend) can(pl *driver.Plan, region bool) error {
	if err := e.supports(pl.DType); err != nil {
		return err
	}
	caps, what := e.info.Caps, ""
	switch {
	case pl.Alpha && !caps.Alpha:
		what = "alpha dropout"
	case pl.Fused && !caps.Fused:
		what = "the fused bias+dropout+residual op"
	case region && !caps.Regions:
		what = "a region of a larger tensor (Params.Global)"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s on %s (%s)", dropout.ErrUnsupported, what, e.name, e.info.Name)
}

// bias puts the whole bias of a fused call on the device, once: a buffer
// in place, or host data uploaded to the queue's bias staging buffer. A
// bias larger than a launch's window (Info.MaxLaunchBytes) is instead kept
// on the host (read back from a buffer) and each launch gets its own
// (rotBias).
func (c *call) bias(b operand) error {
	n := int64(c.pl.BiasLen) * c.es
	c.a.HasBias, c.a.BiasLen = true, int64(c.pl.BiasLen)
	if l := c.q.e.info.MaxLaunchBytes; l > 0 && n > l {
		c.biasHost = b.host
		if b.mem != nil {
			c.biasHost = make([]byte, n)
			if err := c.q.download(c.biasHost, b.view(0)); err != nil {
				return err
			}
			return c.q.wait()
		}
		return nil
	}
	v, err := c.in(b, roleBias, 0, n)
	c.a.B = v
	return err
}

// rotBias sets a's bias for tensor elements [lo, hi) when the bias is
// kept on the host: a bias of hi-lo elements, uploaded, whose element
// (lo+i) mod (hi-lo) is the bias of element lo+i, so that the kernels'
// B[(I0+i) mod BiasLen] with I0 = lo reads it.
func (c *call) rotBias(a *Args, lo, hi int64) error {
	if c.biasHost == nil {
		return nil
	}
	n, L, es := hi-lo, int64(c.pl.BiasLen), c.es
	buf := make([]byte, n*es)
	for i := lo; i < hi; i++ {
		copy(buf[i%n*es:(i%n+1)*es], c.biasHost[i%L*es:])
	}
	v, err := c.q.staging(roleBias, roundUp4(n*es))
	if err == nil {
		err = c.q.upload(v, buf, true)
	}
	a.B, a.BiasLen, a.I0 = v, n, lo
	return err
}

// pick returns the kernel for mask format f.
func pick(f dropout.MaskFormat, none, bits, bytes Kernel) Kernel {
	return [...]Kernel{dropout.MaskNone: none, dropout.MaskBits: bits, dropout.MaskBytes: bytes}[f]
}

// newCall sorts out the data operands of a call over pl. The call is the
// queue's (a queue runs one call at a time; end clears it), so that a call
// allocates none.
func (q *queue) newCall(pl driver.Plan, dst, src dropout.Tensor) (*call, error) {
	c := &q.c
	*c = call{q: q, pl: pl, es: int64(pl.DType.Size())}
	var err error
	if c.y, err = q.operand(dst); err == nil {
		c.x, err = q.operand(src)
	}
	return c, err
}

// setChunk sets the call's chunk size: host tensors are staged in chunks
// of at most Options.MaxChunkBytes, while a call on device buffers only
// is split where the device's launch limits need it.
func (c *call) setChunk() {
	c.host = c.y.mem == nil || c.x.mem == nil || c.pl.Mask != dropout.MaskNone && c.m.mem == nil ||
		c.pl.Residual && c.r.mem == nil
	c.chunk = c.q.e.chunk(c.es, c.host)
}

// Copy copies src into dst (same type and length): on the device between
// two buffers, straight into or out of the buffer between it and the host,
// and between two host tensors by a round trip through the device.
func (e *Backend) Copy(dst, src dropout.Tensor) error {
	q, err := e.begin()
	if err != nil {
		return err
	}
	defer e.end(q)
	return q.copyCall(dst, src)
}

// copyCall runs a Copy call on q.
func (q *queue) copyCall(dst, src dropout.Tensor) error {
	e := q.e
	if err := driver.CheckCopy(dst, src); err != nil {
		return err
	}
	if err := driver.CheckOverlap([]string{"dst", "src"}, []dropout.Tensor{dst, src}); err != nil {
		return err
	}
	if src.DType().Size() == 0 {
		return fmt.Errorf("%w: copy of %v", dropout.ErrDType, src.DType())
	}
	c, err := q.newCall(driver.Plan{DType: src.DType(), N: src.Len()}, dst, src)
	if err != nil {
		return err
	}
	c.setChunk()
	if n := int64(c.pl.N) * c.es; e.info.DirectCopy && n > 0 && (c.y.mem != nil || c.x.mem != nil) {
		switch {
		case c.x.mem == nil:
			err = q.upload(c.y.view(0), c.x.host, false)
		case c.y.mem == nil:
			err = q.download(c.y.host, c.x.view(0))
		case c.y.view(0) != c.x.view(0):
			err = q.launch(Copy, &Args{Y: c.y.view(0), X: c.x.view(0), N: n})
		}
		if err == nil {
			err = q.wait()
		}
		return err
	}
	return c.flat(Copy)
}

// flat runs kernel k over the tensor chunk by chunk, the mask (if k has
// one) one to one with it.
func (c *call) flat(k Kernel) error {
	f, es := k.Format(), c.es
	return c.chunks(int64(c.pl.N), func(lo, hi int64) error {
		Y, X, err := c.data(lo, hi, k)
		if err != nil {
			return err
		}
		a := &c.la
		*a = c.a
		a.Y, a.X, a.N, a.G0 = Y, X, hi-lo, c.pl.Offset+uint64(lo)
		if a.HasBias {
			a.I0 = lo
			if err := c.rotBias(a, lo, hi); err != nil {
				return err
			}
		}
		mlo, mhi := maskRange(f, lo, hi)
		switch {
		case k == Copy:
			a.N *= es
		case k == Zero:
			a.N = roundUp4(a.N * es) // 16-bit data: the padding of the buffer's last word too
		case k.ReadsMask():
			a.M, err = c.in(c.m, roleMaskIn, mlo, mhi)
		case f != dropout.MaskNone:
			a.M, err = c.out(c.m, roleMaskOut, mlo, mhi)
		}
		if err == nil && a.HasResid {
			a.R, err = c.in(c.r, roleResid, lo*es, hi*es)
		}
		if err != nil {
			return err
		}
		if k != Copy || Y != X {
			if err := c.q.launch(k, a); err != nil {
				return err
			}
		}
		if err := c.down(c.y, Y, lo*es, hi*es); err != nil {
			return err
		}
		if f != dropout.MaskNone && !k.ReadsMask() {
			return c.down(c.m, a.M, mlo, mhi)
		}
		return nil
	})
}

// broadcast runs a call whose keep decisions are not the stream read in
// order: a noise shape, or a region whose mask is not one run of the
// stream (Plan.Words). The whole mask comes first (made from the stream
// into the mask tensor, or a scratch bit mask without one; or, for
// backward, the stored mask uploaded), then the data chunk by chunk, each
// element reading its mask element (a region without a noise shape reads
// it one to one, through a single canonical axis).
func (c *call) broadcast(gen bool) error {
	pl, info := &c.pl, c.q.e.info
	f := pl.Mask
	if f == dropout.MaskNone {
		f = dropout.MaskBits
	}
	mn := int64(pl.MaskN)
	mbytes := int64(f.Bytes(pl.MaskN))
	ds := dims(pl)
	switch { // the limits of Apply; an empty tensor only has its mask written
	case pl.N == 0:
	case info.ApplyMaxDims > 0 && len(ds) > info.ApplyMaxDims:
		return fmt.Errorf("%w: a noise shape of %d canonical axes on %s (at most %d)", dropout.ErrUnsupported, len(ds), info.Name, info.ApplyMaxDims)
	case info.ApplyMaxElems > 0 && max(int64(pl.N), mn) > info.ApplyMaxElems:
		return fmt.Errorf("%w: a noise-shape call over %d elements on %s (at most %d)", dropout.ErrUnsupported, max(int64(pl.N), mn), info.Name, info.ApplyMaxElems)
	case info.MaxLaunchBytes > 0 && MaskWords(f, mn) > info.MaxLaunchBytes:
		return fmt.Errorf("%w: a noise-shape mask of %d bytes on %s (at most %d in one launch)", dropout.ErrUnsupported, mbytes, info.Name, info.MaxLaunchBytes)
	}
	var M View
	var err error
	switch {
	case c.m.mem != nil && !c.m.stage:
		M = c.m.view(0)
	case gen:
		M, err = c.q.staging(roleMaskOut, MaskWords(f, mn))
	default:
		M, err = c.in(c.m, roleMaskIn, 0, mbytes)
	}
	if err != nil {
		return err
	}
	if gen {
		mk := pick(f, 0, MaskBits, MaskBytes)
		a := Args{DType: c.a.DType, Seed: c.a.Seed, Thresh: c.a.Thresh, DropAll: c.a.DropAll, Words: words(pl.Words)}
		err := c.chunks(mn, func(lo, hi int64) error {
			mlo, _ := maskRange(f, lo, hi)
			a.M, a.N, a.G0 = M.At(mlo), hi-lo, pl.Offset+uint64(lo)
			if a.Words != nil { // mask element I0+i: its word from the map
				a.G0, a.I0 = pl.Offset, lo
			}
			return c.q.launch(mk, &a)
		})
		if err == nil && pl.Mask != dropout.MaskNone {
			err = c.down(c.m, M, 0, mbytes)
		}
		if err != nil {
			return err
		}
	}
	ak := pick(f, 0, ApplyBits, ApplyBytes)
	a := c.a
	a.M, a.MaskLen, a.Dims = M, mn, ds
	return c.chunks(int64(pl.N), func(lo, hi int64) error {
		Y, X, err := c.data(lo, hi, ak)
		if err == nil && a.HasResid {
			a.R, err = c.in(c.r, roleResid, lo*c.es, hi*c.es)
		}
		if err != nil {
			return err
		}
		a.Y, a.X, a.N, a.I0 = Y, X, hi-lo, lo
		if a.HasBias {
			if err := c.rotBias(&a, lo, hi); err != nil {
				return err
			}
		}
		if err := c.q.launch(ak, &a); err != nil {
			return err
		}
		return c.down(c.y, Y, lo*c.es, hi*c.es)
	})
}

// words returns a region's word map as the kernels take it, nil for none.
func words(w *driver.WordMap) []WordDim {
	if w == nil {
		return nil
	}
	d := make([]WordDim, len(w.Dims))
	for i := range d {
		d[i] = WordDim{Size: int64(w.Dims[i]), Stride: w.Strides[i]}
	}
	return d
}

// dims returns the canonical axes of a broadcast with their mask strides;
// without a broadcast (a region read one to one), the one axis of the
// tensor.
func dims(pl *driver.Plan) []Dim {
	if pl.Dims == nil {
		return []Dim{{Size: int64(pl.N), Stride: 1}}
	}
	d := make([]Dim, len(pl.Dims))
	stride := int64(1)
	for i := len(d) - 1; i >= 0; i-- {
		d[i].Size = int64(pl.Dims[i])
		if !pl.Bcast[i] {
			d[i].Stride = stride
			stride *= d[i].Size
		}
	}
	return d
}

// chunks calls step over [0, n) in chunks. It waits after each chunk that
// moved host data (so a queue holds at most one chunk of it at a time)
// and at the end; on an Info.Overlap device, a call that stages host data
// in more than one chunk alternates two queues instead (overlapped).
func (c *call) chunks(n int64, step func(lo, hi int64) error) error {
	if c.host && n > c.chunk {
		if q2 := c.q.e.spare(c.q, 8*c.chunk*c.es); q2 != nil {
			return c.overlapped(n, q2, step)
		}
	}
	for lo := int64(0); lo < n; lo += c.chunk {
		if err := step(lo, min(lo+c.chunk, n)); err != nil {
			return err
		}
		if c.q.moved {
			if err := c.q.wait(); err != nil {
				return err
			}
		}
	}
	if c.q.pending {
		return c.q.wait()
	}
	return nil
}

// overlapped runs the chunks of chunks alternately on the call's queue
// and q2: before a queue takes chunk k it finishes its chunk k-2 (whose
// staging buffers chunk k reuses and whose downloads land then), and it
// flushes chunk k once queued (Flusher), so the host stages one chunk
// while the device computes and downloads the other.
// What the call queued before its chunks (a bias, a mask) is finished
// first, since q2's chunks read it. q2 goes back to the pool at the end.
func (c *call) overlapped(n int64, q2 *queue, step func(lo, hi int64) error) error {
	q1 := c.q
	defer func() {
		c.q = q1
		q1.e.end(q2) // drains what an error left queued on q2
	}()
	if q1.pending {
		if err := q1.wait(); err != nil {
			return err
		}
	}
	qs := [2]*queue{q1, q2}
	for k, lo := 0, int64(0); lo < n; k, lo = k+1, lo+c.chunk {
		q := qs[k&1]
		if q.pending {
			if err := q.wait(); err != nil {
				return err
			}
		}
		c.q = q
		if err := step(lo, min(lo+c.chunk, n)); err != nil {
			return err
		}
		if err := q.flush(); err != nil { // the device starts it while the host stages the next
			return err
		}
	}
	for _, q := range qs {
		if q.pending {
			if err := q.wait(); err != nil {
				return err
			}
		}
	}
	return nil
}

// maskRange returns the mask bytes of mask elements [lo, hi), lo a
// multiple of 32.
func maskRange(f dropout.MaskFormat, lo, hi int64) (int64, int64) {
	if f == dropout.MaskBits {
		return lo / 8, (hi + 7) / 8
	}
	return lo, hi
}

// data returns the views of y and x for elements [lo, hi) under kernel k,
// staging host tensors. A host y is computed in place in x's staging
// buffer when x is on the host too; a Copy between the host and a buffer
// moves the bytes straight into or out of the buffer.
func (c *call) data(lo, hi int64, k Kernel) (Y, X View, err error) {
	lo, hi = lo*c.es, hi*c.es
	switch {
	case k == Zero:
		Y, err = c.out(c.y, roleY, lo, hi)
	case c.y.mem == nil && (c.x.mem == nil || k == Copy):
		X, err = c.in(c.x, roleX, lo, hi)
		Y = X
	case c.x.mem == nil && k == Copy:
		if Y, err = c.out(c.y, roleY, lo, hi); err == nil {
			err = c.q.upload(Y, c.x.host[lo:hi], c.y.stage)
		}
		X = Y
	default:
		if X, err = c.in(c.x, roleX, lo, hi); err == nil {
			Y, err = c.out(c.y, roleY, lo, hi)
		}
	}
	return Y, X, err
}

// in returns the device view of bytes [lo, hi) of o: a buffer's own, or
// the staging buffer of role r with the bytes put there (uploaded from the
// host, or copied from a staged buffer).
func (c *call) in(o operand, r role, lo, hi int64) (View, error) {
	v, err := c.out(o, r, lo, hi)
	switch {
	case err != nil || hi == lo:
	case o.mem == nil:
		err = c.q.upload(v, o.host[lo:hi], true)
	case o.stage:
		err = c.q.copy(v, o.view(lo), hi-lo)
	}
	return v, err
}

// out returns the device view of bytes [lo, hi) of o, to be written: a
// buffer's own, or the staging buffer of role r (see down).
func (c *call) out(o operand, r role, lo, hi int64) (View, error) {
	if o.mem != nil && !o.stage {
		return o.view(lo), nil
	}
	return c.q.staging(r, roundUp4(hi-lo))
}

// down queues the copy of bytes [lo, hi) of a host or staged operand back
// from its staging view v.
func (c *call) down(o operand, v View, lo, hi int64) error {
	switch {
	case hi == lo || o.mem != nil && !o.stage:
		return nil
	case o.stage:
		return c.q.copy(o.view(lo), v, hi-lo)
	}
	return c.q.download(o.host[lo:hi], v)
}

// place marks the buffers the device cannot address in place for
// staging: a mask whose whole words a kernel touches are not its own, and,
// on a WordData device, 16-bit data off whole words. b is a fused call's
// bias. (How operands share memory, driver.NewPlan has checked: Buffer's
// Extent.)
func (c *call) place(b *operand) {
	if c.pl.Mask != dropout.MaskNone && c.m.mem != nil {
		c.m.stage = !c.m.words(MaskWords(c.pl.Mask, int64(c.pl.MaskN)))
	}
	if c.q.e.info.WordData && c.es < 4 {
		for _, o := range []*operand{&c.y, &c.x, &c.r, b} {
			o.stage = o.mem != nil && !o.words(roundUp4(o.n))
		}
	}
}
