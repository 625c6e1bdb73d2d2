//go:build cgo && !noopencl

package opencl

import (
	"fmt"
	"unsafe"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
)

// Flags of the kernels (kernels/opencl/dropout.cl).
const (
	fDropAll  = 1 // p = 1
	fBytes    = 4 // write a byte mask
	fMaskOnly = 8 // write the mask only
)

// defaultChunk caps the bytes of one tensor a call stages or dispatches at
// once when Options.MaxChunkBytes is 0.
const defaultChunk = 64 << 20

// Forward implements dropout.Backend. Tensors may be host tensors (copied
// through staging buffers, chunk by chunk) or buffers from b.Alloc (used
// in place, no host copy); any mix works.
func (b *Backend) Forward(dst, x, mask dropout.Tensor, p dropout.Params) error {
	return b.run(dst, x, mask, p, false)
}

// Backward implements dropout.Backend.
func (b *Backend) Backward(dx, dy, mask dropout.Tensor, p dropout.Params) error {
	return b.run(dx, dy, mask, p, true)
}

// call is one Forward or Backward being run.
type call struct {
	w        *worker
	pl       dropout.Plan
	backward bool
	dst, src dropout.Tensor // host tensors, or nil where the operand is a device buffer
	d, s, m  *buffer        // device operands, or nil
	hmask    dropout.Bytes  // host mask, or nil
	es       int            // element size
	chunk    int            // elements per chunk: a multiple of 32
	k0, k1   uint32         // Philox key
	thr      uint32
	flags    uint32
	scale    any // float32 or float64
}

func (b *Backend) run(dst, src, mask dropout.Tensor, p dropout.Params, backward bool) error {
	w, err := b.begin()
	if err != nil {
		return err
	}
	defer b.end(w)
	pl, err := dropout.NewPlan(dst, src, mask, p)
	if err != nil {
		return err
	}
	if pl.Alpha {
		return fmt.Errorf("%w: alpha dropout on the OpenCL backend", dropout.ErrUnsupported)
	}
	if err := b.supports(pl.DType); err != nil {
		return err
	}
	c := &call{w: w, pl: pl, backward: backward, es: pl.DType.Size()}
	if c.d, c.dst, err = w.own(dst); err != nil {
		return err
	}
	if c.s, c.src, err = w.own(src); err != nil {
		return err
	}
	if pl.Mask != dropout.MaskNone {
		var hm dropout.Tensor
		if c.m, hm, err = w.own(mask); err != nil {
			return err
		}
		if hm != nil {
			c.hmask = hm.(dropout.Bytes) // NewPlan checked it is uint8
		}
	}
	// An empty tensor may still have a mask to write: a noise shape such
	// as [3 1 4] over a [3 0 4] tensor draws 12 mask elements.
	maskOnly := pl.N == 0 && !backward && pl.Mask != dropout.MaskNone && pl.MaskN > 0
	if pl.N == 0 && !maskOnly {
		return nil
	}
	c.chunk = b.chunkElems(c.es)
	c.k0, c.k1 = uint32(pl.Seed), uint32(pl.Seed>>32)
	if pl.Threshold >= 1<<32 {
		c.flags |= fDropAll
	} else {
		c.thr = uint32(pl.Threshold)
	}
	c.scale = pl.Scale32
	if pl.DType == dropout.Float64 {
		c.scale = pl.Scale64
	}
	switch {
	case maskOnly:
		err = c.maskOnly()
	case pl.Broadcast():
		err = c.broadcast()
	default:
		err = c.flat()
	}
	if err != nil {
		return err
	}
	return w.finish()
}

// chunkElems returns the elements of es bytes one chunk holds: a multiple
// of 32, so chunks start on whole bit-mask words.
func (b *Backend) chunkElems(es int) int {
	lim := int64(defaultChunk)
	if b.maxChunk > 0 {
		lim = b.maxChunk
	}
	if a := b.dev.info.MaxAlloc; a > 0 {
		lim = min(lim, a)
	}
	return max(32, int(lim/int64(es))&^31)
}

// span returns the elements of the largest chunk of the call's tensor:
// staging buffers are sized for it, not for a whole chunk.
func (c *call) span() int { return min(c.chunk, c.pl.N) }

// data returns the device memory and element offset of the chunk [lo, hi)
// of the source and destination, staging host tensors: a host source is
// written to the "data" staging buffer; a host destination is computed in
// place there (or in "out" when the source is on the device) and read back
// by c.readBack.
func (c *call) data(lo, hi int) (y *cl.MemObject, yoff uint64, x *cl.MemObject, xoff uint64, err error) {
	w := c.w
	if c.s != nil {
		x, xoff = c.s.mem, uint64(lo)
	} else {
		if x, err = w.staged("data", c.span()*c.es); err != nil {
			return
		}
		p, _ := hostBytes(c.src)
		if err = w.write(x, 0, unsafe.Add(p, lo*c.es), (hi-lo)*c.es); err != nil {
			return
		}
	}
	if c.d != nil {
		y, yoff = c.d.mem, uint64(lo)
	} else {
		y, err = w.staged("out", c.span()*c.es)
	}
	return
}

// readBack copies a host destination's chunk from its staging buffer.
func (c *call) readBack(y *cl.MemObject, lo, hi int) error {
	if c.d != nil {
		return nil
	}
	p, _ := hostBytes(c.dst)
	return c.w.read(y, 0, unsafe.Add(p, lo*c.es), (hi-lo)*c.es)
}

// maskRange returns the bytes of the mask that mask elements [lo, hi) use
// (lo a multiple of 32) and the kernel's mask offset: in 32-bit words for
// bit masks, in bytes for byte masks.
func (c *call) maskRange(lo, hi int) (blo, bhi int, off uint64) {
	if c.pl.Mask == dropout.MaskBits {
		return lo / 8, (hi + 7) / 8, uint64(lo / 32)
	}
	return lo, hi, uint64(lo)
}

// writeMask copies host mask bytes [blo, bhi) to the start of m. A length
// that is not a whole number of 32-bit words is padded with zeros so that
// kernels, which read bit masks a word at a time, never read unset bytes;
// the padded copy is one write (Oclgrind's uninitialized-value checker
// loses track of a buffer written in two pieces).
func (c *call) writeMask(m *cl.MemObject, blo, bhi int) error {
	h := c.hmask[blo:bhi]
	if len(h)%4 != 0 {
		p := make([]byte, (len(h)+3)&^3)
		copy(p, h)
		h = p
	}
	if len(h) == 0 {
		return nil
	}
	return c.w.write(m, 0, unsafe.Pointer(&h[0]), len(h))
}

// maskRole names the staging buffer of a host mask. A backward call's
// mask is written by the host and a forward call's by a kernel; they use
// separate buffers, so a buffer is only ever read where it was last written
// as a whole. (Oclgrind's uninitialized-value checker forgets the rest of a
// buffer after a host write to part of it.)
func (c *call) maskRole(role string) string {
	if c.backward {
		return role + "-in"
	}
	return role + "-out"
}

// mask returns the device memory and offset of the mask for mask elements
// [lo, hi): the mask buffer itself, or for a host mask a staging
// buffer, filled from the host for a backward call. Without a mask it
// returns the dummy buffer.
func (c *call) mask(lo, hi int) (*cl.MemObject, uint64, error) {
	if c.pl.Mask == dropout.MaskNone {
		return c.w.dummy, 0, nil
	}
	blo, bhi, off := c.maskRange(lo, hi)
	if c.m != nil {
		return c.m.mem, off, nil
	}
	m, err := c.w.staged(c.maskRole("mask"), c.pl.Mask.Bytes(min(c.chunk, c.pl.MaskN)))
	if err != nil {
		return nil, 0, err
	}
	if c.backward {
		if err := c.writeMask(m, blo, bhi); err != nil {
			return nil, 0, err
		}
	}
	return m, 0, nil
}

// readMask copies a forward call's host mask chunk back from staging.
func (c *call) readMask(m *cl.MemObject, lo, hi int) error {
	if c.backward || c.m != nil || c.pl.Mask == dropout.MaskNone {
		return nil
	}
	blo, bhi, _ := c.maskRange(lo, hi)
	return c.w.read(m, 0, unsafe.Pointer(&c.hmask[blo]), bhi-blo)
}

// flat runs a call whose mask covers the tensor one to one, chunk by chunk.
func (c *call) flat() error {
	n := c.pl.N
	for lo := 0; lo < n; lo += c.chunk {
		hi := min(lo+c.chunk, n)
		y, yoff, x, xoff, err := c.data(lo, hi)
		if err != nil {
			return err
		}
		m, moff, err := c.mask(lo, hi)
		if err != nil {
			return err
		}
		if err := c.kernel(y, yoff, x, xoff, m, moff, lo, hi, 0); err != nil {
			return err
		}
		if err := c.readBack(y, lo, hi); err != nil {
			return err
		}
		if err := c.readMask(m, lo, hi); err != nil {
			return err
		}
	}
	return nil
}

// kernel launches the kernel for elements [lo, hi) of the call: forward
// (and backward by regeneration) from the stream, or backward from a
// stored mask. extra flags are or-ed in (fMaskOnly).
func (c *call) kernel(y *cl.MemObject, yoff uint64, x *cl.MemObject, xoff uint64, m *cl.MemObject, moff uint64, lo, hi int, extra uint32) error {
	n := uint64(hi - lo)
	dt := c.pl.DType
	fmtBits := c.pl.Mask == dropout.MaskBits
	if c.backward && c.pl.Mask != dropout.MaskNone {
		fam := "bwdbytes"
		items := (n + 3) / 4
		if fmtBits {
			fam, items = "bwdbits", (n+31)/32
		}
		k, err := c.w.kernelFor(fam, dt, c.pl.Copy)
		if err != nil {
			return err
		}
		return c.w.launch(k, items, y, yoff, x, xoff, m, moff, n, c.flags|extra, c.scale)
	}
	g0 := c.pl.Offset + uint64(lo)
	flags := c.flags | extra
	fam := "fwd"
	items := (n + g0&3 + 3) / 4
	switch {
	case c.backward: // regenerate; store nothing
	case fmtBits:
		fam, items = "fwdbits", (n+31)/32
	case c.pl.Mask == dropout.MaskBytes:
		flags |= fBytes
	}
	k, err := c.w.kernelFor(fam, dt, c.pl.Copy)
	if err != nil {
		return err
	}
	return c.w.launch(k, items, y, yoff, x, xoff, m, moff, n, g0, c.k0, c.k1, c.thr, flags, c.scale)
}

// broadcast runs a call whose mask is broadcast over the tensor (a noise
// shape): the whole mask is made (forward) or uploaded (backward) in one
// device buffer first, then every tensor element finds its mask element
// by index arithmetic over the plan's canonical dims.
func (c *call) broadcast() error {
	w, pl := c.w, c.pl
	mn := pl.MaskN
	keepBits := uint32(0)
	var km *cl.MemObject
	var err error
	switch {
	case pl.Mask == dropout.MaskNone:
		// A byte keep-mask in scratch memory, made from the stream.
		if km, err = w.staged("keep", mn); err != nil {
			return err
		}
		gen := *c
		gen.backward = false
		gen.pl.Mask = dropout.MaskBytes
		if err := gen.genMask(km); err != nil {
			return err
		}
	default:
		if pl.Mask == dropout.MaskBits {
			keepBits = 1
		}
		if c.m != nil {
			km = c.m.mem
		} else if km, err = w.staged(c.maskRole("maskall"), pl.Mask.Bytes(mn)); err != nil {
			return err
		}
		if c.backward {
			if c.m == nil {
				if err := c.writeMask(km, 0, pl.Mask.Bytes(mn)); err != nil {
					return err
				}
			}
		} else if err := c.genMask(km); err != nil {
			return err
		}
	}
	// dims: size and mask stride of each canonical axis.
	dims := make([]uint64, 2*len(pl.Dims))
	stride := uint64(1)
	for i := len(pl.Dims) - 1; i >= 0; i-- {
		dims[2*i] = uint64(pl.Dims[i])
		if !pl.Bcast[i] {
			dims[2*i+1] = stride
			stride *= uint64(pl.Dims[i])
		}
	}
	dm, err := w.staged("dims", 8*len(dims))
	if err != nil {
		return err
	}
	if err := w.write(dm, 0, unsafe.Pointer(&dims[0]), 8*len(dims)); err != nil {
		return err
	}
	k, err := w.kernelFor("bcast", pl.DType, pl.Copy)
	if err != nil {
		return err
	}
	for lo := 0; lo < pl.N; lo += c.chunk {
		hi := min(lo+c.chunk, pl.N)
		y, yoff, x, xoff, err := c.data(lo, hi)
		if err != nil {
			return err
		}
		if err := w.launch(k, uint64(hi-lo), y, yoff, x, xoff, km, uint64(lo), uint64(hi-lo),
			dm, uint32(len(pl.Dims)), keepBits, c.flags, c.scale); err != nil {
			return err
		}
		if err := c.readBack(y, lo, hi); err != nil {
			return err
		}
	}
	if !c.backward && c.m == nil && c.hmask != nil {
		return w.read(km, 0, unsafe.Pointer(&c.hmask[0]), len(c.hmask))
	}
	return nil
}

// maskOnly writes the mask of a forward call over an empty tensor.
func (c *call) maskOnly() error {
	if c.m != nil {
		return c.genMask(c.m.mem)
	}
	km, err := c.w.staged(c.maskRole("maskall"), c.pl.Mask.Bytes(c.pl.MaskN))
	if err != nil {
		return err
	}
	if err := c.genMask(km); err != nil {
		return err
	}
	return c.w.read(km, 0, unsafe.Pointer(&c.hmask[0]), len(c.hmask))
}

// genMask writes the whole mask of the call (MaskN elements, in c.pl.Mask's
// format) into m from the stream, chunk by chunk, touching no data.
func (c *call) genMask(m *cl.MemObject) error {
	mn := c.pl.MaskN
	for lo := 0; lo < mn; lo += c.chunk {
		hi := min(lo+c.chunk, mn)
		_, _, off := c.maskRange(lo, hi)
		d := c.w.dummy
		if err := c.kernel(d, 0, d, 0, m, off, lo, hi, fMaskOnly); err != nil {
			return err
		}
	}
	return nil
}
