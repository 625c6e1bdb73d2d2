//go:build cgo && !novulkan

package vulkan

import (
	"fmt"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// Forward implements dropout.Backend: dst = dropout(x), and the mask in
// p.Mask's format. Tensors are host tensors or buffers of this backend.
func (b *Backend) Forward(dst, x, mask dropout.Tensor, p dropout.Params) error {
	return b.run(dst, x, mask, p, false)
}

// Backward implements dropout.Backend: dx = keep ? dy*s : 0, keep read
// from mask or, with MaskNone, regenerated from (p.Seed, p.Offset).
func (b *Backend) Backward(dx, dy, mask dropout.Tensor, p dropout.Params) error {
	return b.run(dx, dy, mask, p, true)
}

// operand is one tensor of a call: a buffer of this backend (acquired for
// the call, its storage in buf) or host bytes.
type operand struct {
	dev  *Buffer
	buf  *vkx.Buffer
	host []byte
}

// operand returns t as an operand. A buffer is acquired: the call must
// release it (call.release).
func (b *Backend) operand(t dropout.Tensor) (operand, error) {
	if x, ok := t.(*Buffer); ok {
		if x.b != b {
			return operand{}, fmt.Errorf("%w: a buffer of another vulkan backend", dropout.ErrForeignBuffer)
		}
		buf, err := x.acquire()
		if err != nil {
			return operand{}, err
		}
		return operand{dev: x, buf: buf}, nil
	}
	h, err := hostBytes(t)
	return operand{host: h}, err
}

// call is one validated Forward or Backward.
type call struct {
	pl     dropout.Plan
	gen    bool // the mask comes from the stream (forward, or backward with MaskNone)
	es     int  // bytes per element
	module string
	y, x   operand
	m      operand // zero with MaskNone
	w      *worker
}

// release gives back the buffers the call acquired.
func (c *call) release() {
	for _, o := range []operand{c.y, c.x, c.m} {
		if o.dev != nil {
			o.dev.unacquire()
		}
	}
}

func (b *Backend) run(dst, src, mask dropout.Tensor, p dropout.Params, backward bool) error {
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	pl, err := dropout.NewPlan(dst, src, mask, p)
	if err != nil {
		return err
	}
	if pl.Alpha {
		return fmt.Errorf("%w: alpha dropout on the vulkan backend", dropout.ErrUnsupported)
	}
	c := call{pl: pl, gen: !backward || pl.Mask == dropout.MaskNone}
	switch {
	case pl.DType == dropout.Float32:
		c.es, c.module = 4, "dropout"
	case pl.DType == dropout.Float64 && b.f64:
		c.es, c.module = 8, "dropout_f64"
	case pl.DType == dropout.Float64:
		return fmt.Errorf("%w: float64 data on %s, which lacks shaderFloat64", dropout.ErrDType, b.info.Name)
	default:
		return fmt.Errorf("%w: %v data on the vulkan backend", dropout.ErrDType, pl.DType)
	}
	defer c.release()
	if c.y, err = b.operand(dst); err != nil {
		return err
	}
	if c.x, err = b.operand(src); err != nil {
		return err
	}
	if pl.Mask != dropout.MaskNone {
		if c.m, err = b.operand(mask); err != nil {
			return err
		}
	}
	if pl.N == 0 && !(c.gen && pl.Mask != dropout.MaskNone && pl.MaskN > 0) {
		// Nothing to compute (an empty tensor still gets the mask of its
		// noise shape, below).
		return nil
	}
	return b.withWorker(func(w *worker) error {
		c.w = w
		if pl.Broadcast() {
			return b.broadcast(&c)
		}
		return b.elementwise(&c)
	})
}

// maskSpan returns the mask bytes of elements [lo, hi) (lo a multiple of 32)
// and the bytes the shaders may touch (whole 32-bit words).
func maskSpan(f dropout.MaskFormat, lo, hi int) (off, n, words uint64) {
	switch f {
	case dropout.MaskBits:
		return uint64(lo / 8), uint64((hi+7)/8 - lo/8), uint64((hi-lo+31)/32) * 4
	case dropout.MaskBytes:
		return uint64(lo), uint64(hi - lo), roundUp(uint64(hi-lo), 4)
	}
	return 0, 0, 0
}

// stage returns the device side of bytes [off, off+n) of operand o: its own
// buffer at that offset, or the scratch buffer *dev (grown to words bytes)
// with, if in, the host bytes uploaded through the staging buffer *st.
func (b *Backend) stage(w *worker, o operand, off, n, words uint64, dev, st **vkx.Buffer, in bool) (view, error) {
	if o.dev != nil {
		return view{buf: o.buf, off: off}, nil
	}
	d, err := b.get(dev, words, vkx.DeviceLocal)
	if err != nil {
		return view{}, err
	}
	s, err := b.get(st, words, vkx.Staging)
	if err != nil {
		return view{}, err
	}
	if in {
		copy(s.Host(), o.host[off:off+n])
		if err := w.seq.Copy(d, 0, s, 0, n); err != nil {
			return view{}, err
		}
	}
	return view{buf: d}, nil
}

// elementwise runs a call without broadcasting, in host pieces of at most
// hostPiece bytes and device dispatches of at most limits.chunk elements.
func (b *Backend) elementwise(c *call) error {
	pl := &c.pl
	n := pl.N
	piece := n
	if c.x.dev == nil || c.y.dev == nil || (pl.Mask != dropout.MaskNone && c.m.dev == nil) {
		piece = max(hostPiece/c.es/32*32, 32)
	}
	mode := uint32(modeGenNone)
	switch {
	case pl.Mask == dropout.MaskBits && c.gen:
		mode = modeGenBits
	case pl.Mask == dropout.MaskBytes && c.gen:
		mode = modeGenBytes
	case pl.Mask == dropout.MaskBits:
		mode = modeReadBits
	case pl.Mask == dropout.MaskBytes:
		mode = modeReadBytes
	}
	alg, err := b.alg(c.module, mode)
	if err != nil {
		return err
	}
	sc := &c.w.sc
	chunk := b.lim.chunk(c.es, pl.Mask)
	pc := newPush(pl)
	es := uint64(c.es)
	for p0 := 0; p0 < n; p0 += piece {
		p1 := min(n, p0+piece)
		dOff, dN := uint64(p0)*es, uint64(p1-p0)*es
		// x and y share the scratch data buffer when both are on the host:
		// the call runs in place there.
		X, err := b.stage(c.w, c.x, dOff, dN, dN, &sc.data, &sc.sdata, true)
		if err != nil {
			return err
		}
		Y := view{buf: X.buf}
		if c.y.dev != nil || c.x.dev != nil {
			if Y, err = b.stage(c.w, c.y, dOff, dN, dN, &sc.data, &sc.sdata, false); err != nil {
				return err
			}
		}
		var M view
		mOff, mN, mWords := maskSpan(pl.Mask, p0, p1)
		if pl.Mask != dropout.MaskNone {
			if M, err = b.stage(c.w, c.m, mOff, mN, mWords, &sc.mask, &sc.smask, !c.gen); err != nil {
				return err
			}
		}
		c.w.seq.Barrier()
		if pl.Copy && pl.Mask == dropout.MaskNone {
			// p = 0 without a mask: y is a bit copy of x
			if X.buf != Y.buf || X.off != Y.off {
				if err := c.w.seq.Copy(Y.buf, Y.off, X.buf, X.off, dN); err != nil {
					return err
				}
				c.w.seq.Barrier()
			}
		}
		for c0 := 0; c0 < p1-p0 && !(pl.Copy && pl.Mask == dropout.MaskNone); c0 += chunk {
			c1 := min(p1-p0, c0+chunk)
			cnt := c1 - c0
			var r [vkx.Bindings]vkx.Range
			var err error
			if r[0], pc[pcXBase], err = b.lim.window(X, uint64(c0)*es, uint64(c1)*es, es); err != nil {
				return err
			}
			if r[1], pc[pcYBase], err = b.lim.window(Y, uint64(c0)*es, uint64(c1)*es, es); err != nil {
				return err
			}
			if pl.Mask != dropout.MaskNone {
				lo, _, words := maskSpan(pl.Mask, c0, c1)
				if r[2], pc[pcMBase], err = b.lim.window(M, lo, lo+words, 4); err != nil {
					return err
				}
			} else {
				r[2] = vkx.Range{Buf: b.dummy, Size: b.dummy.Size}
			}
			pc[pcCount] = uint32(cnt)
			pc.setOffset(pl.Offset + uint64(p0+c0))
			var inv uint64
			switch mode {
			case modeGenNone:
				inv = uint64(cnt+int(pc[pcOffLo]&3)+3) / 4
			case modeGenBits, modeGenBytes:
				inv = uint64(cnt+31) / 32
			default:
				inv = uint64(cnt+3) / 4
			}
			if err := b.dispatch(c.w, alg, r, &pc, inv); err != nil {
				return err
			}
		}
		if err := b.finish(c, Y, M, dOff, dN, mOff, mN); err != nil {
			return err
		}
	}
	return nil
}

// finish records the copies of the results of host operands (data bytes
// [dOff, dOff+dN), mask bytes [mOff, mOff+mN)) from the device buffers Y and
// M into staging, submits the recorded sequence and waits for it, and
// copies the staged results into the host tensors.
func (b *Backend) finish(c *call, Y, M view, dOff, dN, mOff, mN uint64) error {
	if c.y.dev == nil {
		if err := c.w.seq.Copy(c.w.sc.sdata, 0, Y.buf, 0, dN); err != nil {
			return err
		}
	}
	if c.gen && c.m.host != nil {
		if err := c.w.seq.Copy(c.w.sc.smask, 0, M.buf, 0, mN); err != nil {
			return err
		}
	}
	if err := c.w.seq.Submit(); err != nil {
		return err
	}
	if c.y.dev == nil {
		copy(c.y.host[dOff:dOff+dN], c.w.sc.sdata.Host())
	}
	if c.gen && c.m.host != nil {
		copy(c.m.host[mOff:mOff+mN], c.w.sc.smask.Host())
	}
	return nil
}

// broadcast runs a noise-shape call: the mask over the noise shape first
// (into the mask tensor, or a scratch bit mask with MaskNone), then the
// data, each element reading its mask element.
func (b *Backend) broadcast(c *call) error {
	pl := &c.pl
	if uint64(pl.N) > 1<<32-1 || uint64(pl.MaskN) > 1<<32-1 {
		return fmt.Errorf("%w: noise-shape calls on the vulkan backend need fewer than 2^32 elements", dropout.ErrUnsupported)
	}
	if len(pl.Dims) > maxDims {
		return fmt.Errorf("%w: noise shape with %d alternating broadcast axes (the vulkan backend takes %d)", dropout.ErrUnsupported, len(pl.Dims), maxDims)
	}
	f := pl.Mask
	if f == dropout.MaskNone {
		f = dropout.MaskBits // the scratch mask
	}
	_, mN, mWords := maskSpan(f, 0, pl.MaskN)
	if mWords > b.lim.maxRange {
		return fmt.Errorf("%w: a noise-shape mask of %d bytes exceeds the device's storage buffer range", dropout.ErrUnsupported, mWords)
	}
	es := uint64(c.es)
	dN := uint64(pl.N) * es
	sc := &c.w.sc
	X, err := b.stage(c.w, c.x, 0, dN, dN, &sc.data, &sc.sdata, true)
	if err != nil {
		return err
	}
	Y := view{buf: X.buf}
	if c.y.dev != nil || c.x.dev != nil {
		if Y, err = b.stage(c.w, c.y, 0, dN, dN, &sc.data, &sc.sdata, false); err != nil {
			return err
		}
	}
	var M view
	if pl.Mask == dropout.MaskNone {
		if M.buf, err = b.get(&sc.mask, mWords, vkx.DeviceLocal); err != nil {
			return err
		}
	} else if M, err = b.stage(c.w, c.m, 0, mN, mWords, &sc.mask, &sc.smask, !c.gen); err != nil {
		return err
	}
	c.w.seq.Barrier()
	pc := newPush(pl)
	mode := uint32(maskBits)
	if f == dropout.MaskBytes {
		mode = maskBytes
	}
	mr, _, err := b.lim.window(M, 0, mWords, 4)
	if err != nil {
		return err
	}
	if c.gen {
		malg, err := b.alg("mask", mode)
		if err != nil {
			return err
		}
		// invocations own 32 mask elements: one word of bits, 8 of bytes
		perWord := uint64(32)
		if f == dropout.MaskBytes {
			perWord = 4
		}
		step := 1 << 30
		for j0 := 0; j0 < pl.MaskN; j0 += step {
			j1 := min(pl.MaskN, j0+step)
			pc[pcCount] = uint32(j1 - j0)
			pc[pcMBase] = uint32(uint64(j0) / perWord)
			pc.setOffset(pl.Offset + uint64(j0))
			if err := b.dispatch(c.w, malg, [vkx.Bindings]vkx.Range{mr, mr, mr}, &pc, (uint64(j1-j0)+31)/32); err != nil {
				return err
			}
		}
	}
	module := "apply"
	if pl.DType == dropout.Float64 {
		module = "apply_f64"
	}
	alg, err := b.alg(module, mode)
	if err != nil {
		return err
	}
	chunk := b.lim.chunk(c.es, dropout.MaskNone)
	pc[pcMBase] = 0
	for c0 := 0; c0 < pl.N; c0 += chunk {
		c1 := min(pl.N, c0+chunk)
		var r [vkx.Bindings]vkx.Range
		if r[0], pc[pcXBase], err = b.lim.window(X, uint64(c0)*es, uint64(c1)*es, es); err != nil {
			return err
		}
		if r[1], pc[pcYBase], err = b.lim.window(Y, uint64(c0)*es, uint64(c1)*es, es); err != nil {
			return err
		}
		r[2] = mr
		pc[pcCount] = uint32(c1 - c0)
		pc[pcI0] = uint32(c0)
		if err := b.dispatch(c.w, alg, r, &pc, uint64(c1-c0)); err != nil {
			return err
		}
	}
	return b.finish(c, Y, M, 0, dN, 0, mN)
}
