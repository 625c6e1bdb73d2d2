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
	return e.run(dst, x, mask, p, false)
}

// Backward implements dropout.Backend.
func (e *Backend) Backward(dx, dy, mask dropout.Tensor, p dropout.Params) error {
	return e.run(dx, dy, mask, p, true)
}

// call is one Forward, Backward or Copy being run.
type call struct {
	q       *queue
	pl      driver.Plan
	y, x, m operand
	es      int64 // element size
	chunk   int64 // elements per chunk, a multiple of 32
	a       Args  // the arguments every launch shares
}

func (e *Backend) run(dst, src, mask dropout.Tensor, p dropout.Params, backward bool) error {
	q, err := e.begin()
	if err != nil {
		return err
	}
	defer e.end(q)
	pl, err := driver.NewPlan(dst, src, mask, p)
	if err != nil {
		return err
	}
	if pl.Alpha {
		return fmt.Errorf("%w: alpha dropout on %s", dropout.ErrUnsupported, e.name)
	}
	if err := e.supports(pl.DType); err != nil {
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
	dropAll := pl.Threshold > math.MaxUint32
	c.a = Args{DType: pl.DType, Seed: pl.Seed, Thresh: uint32(min(pl.Threshold, math.MaxUint32)),
		DropAll: dropAll, CopyKept: pl.Copy, Scale32: pl.Scale32, Scale64: pl.Scale64}
	gen := !backward || pl.Mask == dropout.MaskNone
	switch {
	case pl.N == 0 && !(gen && pl.Mask != dropout.MaskNone):
		return nil // nothing to write (an empty tensor may still have a mask to write: below)
	case pl.Mask == dropout.MaskNone && pl.Copy:
		return c.flat(Copy) // p = 0: y is a bit copy of x
	case pl.Mask == dropout.MaskNone && dropAll:
		return c.flat(Zero) // p = 1: y is +0
	case pl.Broadcast():
		return c.broadcast(gen)
	}
	if gen {
		return c.flat(pick(pl.Mask, GenNone, GenBits, GenBytes))
	}
	return c.flat(pick(pl.Mask, 0, ReadBits, ReadBytes))
}

// pick returns the kernel for mask format f.
func pick(f dropout.MaskFormat, none, bits, bytes Kernel) Kernel {
	return [...]Kernel{dropout.MaskNone: none, dropout.MaskBits: bits, dropout.MaskBytes: bytes}[f]
}

// newCall sorts out the data operands of a call over pl.
func (q *queue) newCall(pl driver.Plan, dst, src dropout.Tensor) (*call, error) {
	c := &call{q: q, pl: pl, es: int64(pl.DType.Size())}
	c.chunk = q.e.chunk(c.es)
	var err error
	if c.y, err = q.operand(dst); err == nil {
		c.x, err = q.operand(src)
	}
	return c, err
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
	if err := driver.CheckCopy(dst, src); err != nil {
		return err
	}
	if src.DType().Size() == 0 {
		return fmt.Errorf("%w: copy of %v", dropout.ErrDType, src.DType())
	}
	c, err := q.newCall(driver.Plan{DType: src.DType(), N: src.Len()}, dst, src)
	if err != nil {
		return err
	}
	if n := int64(c.pl.N) * c.es; e.info.DirectCopy && n > 0 && (c.y.mem != nil || c.x.mem != nil) {
		switch {
		case c.x.mem == nil:
			err = q.upload(View{Mem: c.y.mem}, c.x.host)
		case c.y.mem == nil:
			err = q.download(c.y.host, View{Mem: c.x.mem})
		case c.y.mem != c.x.mem:
			err = q.launch(Copy, &Args{Y: View{Mem: c.y.mem}, X: View{Mem: c.x.mem}, N: n})
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
		a := c.a
		a.Y, a.X, a.N, a.G0 = Y, X, hi-lo, c.pl.Offset+uint64(lo)
		mlo, mhi := maskRange(f, lo, hi)
		switch {
		case k == Copy || k == Zero:
			a.N *= es
		case k.ReadsMask():
			a.M, err = c.in(c.m, roleMaskIn, mlo, mhi)
		case f != dropout.MaskNone:
			a.M, err = c.out(c.m, roleMaskOut, mlo, mhi)
		}
		if err != nil {
			return err
		}
		if k != Copy || Y != X {
			if err := c.q.launch(k, &a); err != nil {
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

// broadcast runs a noise-shape call: the whole mask first (made from the
// stream into the mask tensor, or a scratch bit mask without one; or, for
// backward, the stored mask uploaded), then the data chunk by chunk, each
// element reading its mask element.
func (c *call) broadcast(gen bool) error {
	pl, info := &c.pl, c.q.e.info
	f := pl.Mask
	if f == dropout.MaskNone {
		f = dropout.MaskBits
	}
	mn := int64(pl.MaskN)
	mbytes := int64(f.Bytes(pl.MaskN))
	switch { // the limits of Apply; an empty tensor only has its mask written
	case pl.N == 0:
	case info.ApplyMaxDims > 0 && len(pl.Dims) > info.ApplyMaxDims:
		return fmt.Errorf("%w: a noise shape of %d canonical axes on %s (at most %d)", dropout.ErrUnsupported, len(pl.Dims), info.Name, info.ApplyMaxDims)
	case info.ApplyMaxElems > 0 && max(int64(pl.N), mn) > info.ApplyMaxElems:
		return fmt.Errorf("%w: a noise-shape call over %d elements on %s (at most %d)", dropout.ErrUnsupported, max(int64(pl.N), mn), info.Name, info.ApplyMaxElems)
	case info.MaxLaunchBytes > 0 && MaskWords(f, mn) > info.MaxLaunchBytes:
		return fmt.Errorf("%w: a noise-shape mask of %d bytes on %s (at most %d in one launch)", dropout.ErrUnsupported, mbytes, info.Name, info.MaxLaunchBytes)
	}
	var M View
	var err error
	switch {
	case c.m.mem != nil:
		M = View{Mem: c.m.mem}
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
		err := c.chunks(mn, func(lo, hi int64) error {
			a := c.a
			mlo, _ := maskRange(f, lo, hi)
			a.M, a.N, a.G0 = M.At(mlo), hi-lo, pl.Offset+uint64(lo)
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
	a.M, a.MaskLen, a.Dims = M, mn, dims(pl)
	return c.chunks(int64(pl.N), func(lo, hi int64) error {
		Y, X, err := c.data(lo, hi, ak)
		if err != nil {
			return err
		}
		a.Y, a.X, a.N, a.I0 = Y, X, hi-lo, lo
		if err := c.q.launch(ak, &a); err != nil {
			return err
		}
		return c.down(c.y, Y, lo*c.es, hi*c.es)
	})
}

// dims returns the canonical axes of a broadcast with their mask strides.
func dims(pl *driver.Plan) []Dim {
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
// and at the end.
func (c *call) chunks(n int64, step func(lo, hi int64) error) error {
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
			err = c.q.upload(Y, c.x.host[lo:hi])
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
// the staging buffer of role r with the host bytes uploaded.
func (c *call) in(o operand, r role, lo, hi int64) (View, error) {
	v, err := c.out(o, r, lo, hi)
	if err == nil && o.mem == nil {
		err = c.q.upload(v, o.host[lo:hi])
	}
	return v, err
}

// out returns the device view of bytes [lo, hi) of o, to be written: a
// buffer's own, or the staging buffer of role r (see down).
func (c *call) out(o operand, r role, lo, hi int64) (View, error) {
	if o.mem != nil {
		return View{Mem: o.mem, Off: lo}, nil
	}
	return c.q.staging(r, roundUp4(hi-lo))
}

// down queues the copy of bytes [lo, hi) of a host operand back from its
// staging view v.
func (c *call) down(o operand, v View, lo, hi int64) error {
	if o.mem != nil || hi == lo {
		return nil
	}
	return c.q.download(o.host[lo:hi], v)
}
