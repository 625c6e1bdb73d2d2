package dropouttest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
)

// Sentinels are the errors every error of a backend must wrap.
var Sentinels = []error{
	dropout.ErrP, dropout.ErrLength, dropout.ErrShape, dropout.ErrDType,
	dropout.ErrMaskFormat, dropout.ErrClosed, dropout.ErrReleased,
	dropout.ErrOutOfMemory, dropout.ErrUnsupported, dropout.ErrForeignBuffer,
	dropout.ErrOverlap,
}

// IsSentinel reports whether err wraps one of Sentinels.
func IsSentinel(err error) bool {
	for _, s := range Sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzAPI fuzzes random sequences of API calls on the backends open
// returns: Alloc, Write, Read, Forward, ForwardFused and Backward with
// random data types (16-bit too), shapes, noise shapes, regions, alpha
// dropout, probabilities (valid and not), offsets (near 2^64 too),
// mask formats and operands (host tensors, live, released and foreign
// buffers, views of buffers, overlapping or not), Copy, Slice, Release
// and Close. No call may panic or crash; every
// error must wrap one of Sentinels; every call that succeeds must equal
// the reference backend run on host copies of the operands; a call the
// reference refuses, or that uses a feature the backend's Capabilities do
// not claim, must fail on the backend too, and a valid call using only
// claimed features must not be refused as unsupported.
//
// Call it from a fuzz target of the backend's package:
//
//	func FuzzAPI(f *testing.F) { dropouttest.FuzzAPI(f, open) }
func FuzzAPI(f *testing.F, open func() (dropout.Backend, error)) {
	for _, seed := range [][]byte{
		{0, 0, 10, 1, 0, 3, 0, 0, 0, 0},
		{0, 0, 40, 0, 1, 40, 2, 3, 0, 1, 2, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		{0, 1, 7, 3, 1, 0, 0, 2, 2, 7, 9, 6, 0, 3, 0, 1, 0, 2},
		{0, 0, 200, 0, 0, 200, 0, 2, 150, 3, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 5, 1, 0, 3, 1, 0, 1},
		{7, 0, 0, 0, 10, 3, 0, 0, 1, 2, 3, 4, 5, 6},
		{0, 0, 12, 6, 0, 3, 0, 0, 0, 0, 3, 2, 1, 1, 1, 1, 1, 1},
	} {
		f.Add(seed)
	}
	h := &apiFuzzer{open: open, ref: cpu.NewReference()}
	f.Cleanup(func() {
		if h.b != nil {
			h.b.Close()
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := h.run(data); err != nil {
			t.Fatal(err)
		}
	})
}

type apiFuzzer struct {
	open func() (dropout.Backend, error)
	b    dropout.Backend // reused across inputs until one closes it
	ref  dropout.Backend
}

// slot is a buffer, or a view of one, with a host mirror of what its
// memory must hold. Views share their root's mirror.
type slot struct {
	buf      dropout.Buffer
	root     *slot // the slot of the buffer that holds the memory: s itself for Alloc
	off      int   // the element offset in root
	released bool
	foreign  bool // belongs to a backend that was closed

	// The root's own: what the memory holds, where known.
	mirror dropout.Tensor
	known  []bool
}

func newRoot(buf dropout.Buffer) *slot {
	s := &slot{buf: buf, mirror: Zeros(buf.DType(), buf.Len()), known: make([]bool, buf.Len())}
	s.root = s
	for i := range s.known {
		s.known[i] = true
	}
	return s
}

// dead reports whether the slot or its root was released.
func (s *slot) dead() bool { return s.released || s.root.released }

// get returns a copy of what the slot must hold, or nil where that is not
// known.
func (s *slot) get() dropout.Tensor {
	r, n := s.root, s.buf.Len()
	if s.dead() || r.mirror == nil || slices.Contains(r.known[s.off:s.off+n], false) {
		return nil
	}
	return clone(slice(r.mirror, s.off, s.off+n))
}

// set records that the slot holds t, or, for nil, forgets what it holds.
func (s *slot) set(t dropout.Tensor) {
	r := s.root
	if r.mirror == nil {
		return
	}
	for i := range s.buf.Len() {
		if r.known[s.off+i] = t != nil; t != nil {
			copyAt(r.mirror, s.off+i, t, i)
		}
	}
}

// overlaps reports whether two slots share memory; same whether they are
// the same elements.
func overlaps(a, b *slot) bool {
	return a != nil && b != nil && a.root == b.root && a.buf.Len() > 0 && b.buf.Len() > 0 &&
		a.off < b.off+b.buf.Len() && b.off < a.off+a.buf.Len()
}

func same(a, b *slot) bool {
	return a != nil && b != nil && a.root == b.root && a.off == b.off && a.buf.Len() == b.buf.Len()
}

type reader struct {
	data []byte
	i    int
}

func (r *reader) byte() byte {
	if r.i >= len(r.data) {
		return 0
	}
	r.i++
	return r.data[r.i-1]
}

func (r *reader) done() bool { return r.i >= len(r.data) }

var (
	fuzzDTypes = []dropout.DType{dropout.Float32, dropout.Float64, dropout.Uint8, dropout.Float16, dropout.DType(0)}
	fuzzPs     = []float64{0.5, 0, 1, 0.1, 0.9, 1e-9, -0.5, math.NaN(), 2, math.Inf(1)}
	// fuzzCallTypes are the data types of Forward and Backward calls.
	fuzzCallTypes = []dropout.DType{dropout.Float32, dropout.Float64, dropout.Float16, dropout.BFloat16}
	fuzzOffsets   = []uint64{0, 1, 5, math.MaxUint64, math.MaxUint64 - 2, math.MaxUint64 - 33, 1<<32 - 1, 1 << 62}
)

func (h *apiFuzzer) run(data []byte) error {
	if h.b == nil {
		b, err := h.open()
		if err != nil {
			return fmt.Errorf("open: %w", err)
		}
		h.b = b
	}
	var slots []*slot
	defer func() {
		for _, s := range slots {
			if !s.released {
				s.buf.Release()
			}
		}
	}()
	r := &reader{data: data}
	closed := false
	pick := func() *slot {
		if len(slots) == 0 {
			return nil
		}
		return slots[int(r.byte())%len(slots)]
	}
	for step := 0; !r.done() && step < 64; step++ {
		switch op := r.byte() % 9; op {
		case 0: // Alloc
			dt := fuzzDTypes[int(r.byte())%len(fuzzDTypes)]
			n := int(r.byte())
			if r.byte()%16 == 15 {
				n = -n - 1
			}
			buf, err := h.b.Alloc(dt, n)
			if err != nil {
				if !IsSentinel(err) {
					return fmt.Errorf("Alloc(%v, %d): %v matches no sentinel", dt, n, err)
				}
				continue
			}
			if closed {
				return fmt.Errorf("after Close, Alloc succeeded")
			}
			if buf.Len() != n || buf.DType() != dt {
				return fmt.Errorf("Alloc(%v, %d) gave %v[%d]", dt, n, buf.DType(), buf.Len())
			}
			slots = append(slots, newRoot(buf))
		case 1: // Write
			s := pick()
			if s == nil {
				continue
			}
			n := s.buf.Len()
			if r.byte()%8 == 7 {
				n++
			}
			src := fuzzData(s.buf.DType(), n, uint64(r.byte()))
			err := s.buf.Write(src)
			if err := h.expectOK(err, s.dead() || s.foreign || closed || n != s.buf.Len(), "Write"); err != nil {
				return err
			}
			if err == nil {
				s.set(src)
			}
		case 2: // Read
			s := pick()
			if s == nil {
				continue
			}
			dst := Zeros(s.buf.DType(), s.buf.Len())
			if s.buf.DType() == dropout.Uint8 || s.buf.DType() == 0 {
				dst = make(dropout.Bytes, s.buf.Len())
			}
			err := s.buf.Read(dst)
			if err := h.expectOK(err, s.dead() || s.foreign || closed || s.buf.DType() == 0, "Read"); err != nil {
				return err
			}
			if m := s.get(); err == nil && m != nil {
				if err := Equal(dst, m); err != nil {
					return fmt.Errorf("reading a %v[%d] buffer: %v", s.buf.DType(), s.buf.Len(), err)
				}
			}
		case 3, 4: // Forward, Backward
			if err := h.call(r, op == 4, slots, closed); err != nil {
				return err
			}
		case 5: // Copy
			d, s := pick(), pick()
			if d == nil {
				continue
			}
			err := h.b.Copy(d.buf, s.buf)
			bad := d.dead() || s.dead() || d.foreign || s.foreign || closed ||
				d.buf.DType() != s.buf.DType() || d.buf.Len() != s.buf.Len() || overlaps(d, s) && !same(d, s)
			if err := h.expectOK(err, bad, "Copy"); err != nil {
				return err
			}
			if err == nil {
				d.set(s.get())
			}
		case 6: // Release
			if s := pick(); s != nil {
				if err := s.buf.Release(); err != nil {
					return fmt.Errorf("releasing a buffer: %v", err)
				}
				s.released = true
			}
		case 7: // Close; the next input opens a new backend
			if r.byte()%4 != 0 {
				continue
			}
			if err := h.b.Close(); err != nil {
				return fmt.Errorf("closing the backend: %v", err)
			}
			closed = true
			for _, s := range slots {
				s.foreign = true
			}
		case 8: // Slice: a view of a buffer or of a view
			s := pick()
			if s == nil {
				continue
			}
			l := s.buf.Len()
			off, n := int(r.byte())%(l+2), int(r.byte())%(l+2)
			if r.byte()%16 == 15 {
				off = -off - 1
			}
			v, err := s.buf.Slice(off, n)
			bad := s.dead() || s.foreign || closed || off < 0 || off+n > l
			if err := h.expectOK(err, bad, fmt.Sprintf("Slice(%d, %d) of %d elements", off, n, l)); err != nil {
				return err
			}
			if err != nil {
				continue
			}
			if v.Len() != n || v.DType() != s.buf.DType() {
				return fmt.Errorf("Slice(%d, %d) of a %v buffer gave %v[%d]", off, n, s.buf.DType(), v.DType(), v.Len())
			}
			slots = append(slots, &slot{buf: v, root: s.root, off: s.off + off})
		}
	}
	if closed {
		h.b = nil
	}
	return nil
}

// expectOK checks an error: it must wrap a sentinel, and a call that should
// fail must fail.
func (h *apiFuzzer) expectOK(err error, mustFail bool, what string) error {
	if err != nil && !IsSentinel(err) {
		return fmt.Errorf("%s: %v matches no sentinel", what, err)
	}
	if err == nil && mustFail {
		return fmt.Errorf("%s succeeded on a released, closed or mismatched operand", what)
	}
	return nil
}

// call runs a random Forward or Backward and checks it against the
// reference on host copies of its operands.
func (h *apiFuzzer) call(r *reader, backward bool, slots []*slot, closed bool) error {
	p := dropout.Params{
		P:      fuzzPs[int(r.byte())%len(fuzzPs)],
		Seed:   uint64(r.byte()) * 0x9e3779b97f4a7c15,
		Offset: fuzzOffsets[int(r.byte())%len(fuzzOffsets)] + uint64(r.byte()%8),
		Mask:   dropout.MaskFormat(r.byte() % 4),
	}
	// A random shape of rank 1-3 and a noise shape over it.
	rank := 1 + int(r.byte()%3)
	shape := make([]int, rank)
	n := 1
	for i := range shape {
		shape[i] = int(r.byte() % 9)
		n *= shape[i]
	}
	nb := r.byte()
	// The features: data type, alpha dropout, a region, the fused op.
	fb := r.byte()
	dt := fuzzCallTypes[fb%4]
	p.Alpha = fb>>2&1 == 1
	fused := !backward && fb>>4&1 == 1
	if nb&1 == 1 {
		p.Shape = shape
		over := shape
		if fb>>3&1 == 1 { // a block of a larger global tensor
			p.Global, p.Start = make([]int, rank), make([]int, rank)
			for i, d := range shape {
				p.Global[i] = d + int(r.byte()%3)
				p.Start[i] = int(r.byte()) % (p.Global[i] - d + 1)
			}
			over = p.Global
		}
		if nb&2 == 2 {
			p.NoiseShape = make([]int, rank)
			for i, d := range over {
				p.NoiseShape[i] = d
				if nb>>(2+i)&1 == 1 {
					p.NoiseShape[i] = 1
				}
			}
		}
	}
	if p.Shape == nil {
		n = int(r.byte())
	}
	caps := h.b.Device().Caps
	claimed := slices.Contains(caps.DTypes, dt) && (!p.Alpha || caps.Alpha) &&
		(p.Global == nil || caps.Regions) && (!fused || caps.Fused) && (p.NoiseShape == nil || caps.NoiseShape)
	var bias, res dropout.Tensor
	if fused {
		if fb>>5&1 == 1 {
			bias = fuzzData(dt, p.BiasLen(n), uint64(fb))
		}
		if fb>>6&1 == 1 {
			res = fuzzData(dt, n, uint64(fb)+1)
		}
	}
	m := p.MaskLen(n)
	// Operands: a fresh host tensor, or a slot (which may be of any type,
	// length, released or foreign).
	type operand struct {
		t dropout.Tensor
		s *slot
	}
	var ops [3]operand
	for i := range ops {
		k := r.byte()
		if k < 128 || len(slots) == 0 {
			switch i {
			case 2:
				if p.Mask == dropout.MaskBits || p.Mask == dropout.MaskBytes {
					ops[i].t = NewMask(p.Mask, m)
					if backward {
						ops[i].t = randomMask(p.Mask, m, uint64(k))
					}
				}
			default:
				ops[i].t = fuzzData(dt, n, uint64(k))
			}
			continue
		}
		s := slots[int(k)%len(slots)]
		ops[i] = operand{t: s.buf, s: s}
	}
	// Host copies for the reference; an operand whose contents are unknown
	// (released, foreign, or written by a failed call) makes the reference
	// comparison impossible, so the call need only not crash.
	unknown, bad := false, closed
	usesMask := p.Mask == dropout.MaskBits || p.Mask == dropout.MaskBytes
	host := func(o operand, isMask bool) dropout.Tensor {
		if o.s == nil {
			return clone(o.t)
		}
		if (o.s.dead() || o.s.foreign) && (!isMask || usesMask) {
			bad = true
		}
		m := o.s.get()
		if m == nil {
			unknown = true
			return Zeros(o.s.buf.DType(), o.s.buf.Len())
		}
		return m
	}
	hd, hx, hm := host(ops[0], false), host(ops[1], false), host(ops[2], true)
	if ops[2].t == nil {
		hm = nil
	}
	if backward && p.Mask == dropout.MaskBytes {
		// A stored byte mask holds 0 or 1; what other bytes mean is not
		// part of the contract.
		if b, ok := hm.(dropout.Bytes); ok {
			for _, v := range b {
				unknown = unknown || v > 1
			}
		}
	}
	if same(ops[0].s, ops[1].s) {
		hx = hd // in place
	}
	// Operands sharing memory in part (views) must be refused: ErrOverlap.
	for _, pr := range [][2]int{{0, 1}, {0, 2}, {1, 2}} {
		a, b := ops[pr[0]].s, ops[pr[1]].s
		if pr[1] == 2 && !usesMask {
			continue
		}
		if overlaps(a, b) && !same(a, b) {
			bad = true
		}
	}
	if overlaps(ops[2].s, ops[0].s) || overlaps(ops[2].s, ops[1].s) {
		// A mask aliasing data: the result depends on the order of reads
		// and writes, which the contract leaves open.
		unknown = true
	}
	var err, refErr error
	switch {
	case backward:
		err = h.b.Backward(ops[0].t, ops[1].t, ops[2].t, p)
		refErr = h.ref.Backward(hd, hx, hm, p)
	case fused:
		err = dropout.ForwardFused(h.b, ops[0].t, ops[1].t, bias, res, ops[2].t, p)
		refErr = dropout.ForwardFused(h.ref, hd, hx, bias, res, hm, p)
	default:
		err = h.b.Forward(ops[0].t, ops[1].t, ops[2].t, p)
		refErr = h.ref.Forward(hd, hx, hm, p)
	}
	what := fmt.Sprintf("%s(dst %s, x %s, mask %s, %+v)", map[bool]string{false: "Forward", true: "Backward"}[backward],
		desc(ops[0].t), desc(ops[1].t), desc(ops[2].t), p)
	if fused {
		what = fmt.Sprintf("ForwardFused(dst %s, x %s, bias %s, residual %s, mask %s, %+v)",
			desc(ops[0].t), desc(ops[1].t), desc(bias), desc(res), desc(ops[2].t), p)
	}
	if err := h.expectOK(err, bad || refErr != nil || !claimed, what); err != nil {
		return fmt.Errorf("%w (reference: %v; the backend claims the call's features: %v)", err, refErr, claimed)
	}
	if err != nil && claimed && refErr == nil && !bad && (errors.Is(err, dropout.ErrUnsupported) || errors.Is(err, dropout.ErrDType)) {
		return fmt.Errorf("%s: the backend claims the call's features but refused it: %v", what, err)
	}
	if err != nil {
		// Validation failed or the operands were unusable: a valid call's
		// destination may be partly written by a failing device, so forget
		// its contents.
		if refErr == nil && !bad {
			for _, o := range ops {
				if o.s != nil {
					o.s.set(nil)
				}
			}
		}
		return nil
	}
	if unknown {
		for _, i := range []int{0, 2} {
			if ops[i].s != nil {
				ops[i].s.set(nil)
			}
		}
		return nil
	}
	// Compare what the backend wrote with the reference.
	got := func(o operand) (dropout.Tensor, error) {
		if o.s == nil {
			return o.t, nil
		}
		t := Zeros(o.s.buf.DType(), o.s.buf.Len())
		if o.s.buf.DType() == dropout.Uint8 {
			t = make(dropout.Bytes, o.s.buf.Len())
		}
		return t, o.s.buf.Read(t)
	}
	gd, e := got(ops[0])
	if e != nil {
		return fmt.Errorf("%s: reading dst: %v", what, e)
	}
	if err := Equal(gd, hd); err != nil {
		return fmt.Errorf("%s: %w: %v", what, ErrMismatch, err)
	}
	if ops[0].s != nil {
		ops[0].s.set(hd)
	}
	if hm != nil && !backward {
		gm, e := got(ops[2])
		if e != nil {
			return fmt.Errorf("%s: reading mask: %v", what, e)
		}
		if err := Equal(gm, hm); err != nil {
			return fmt.Errorf("%s: mask %w: %v", what, ErrMismatch, err)
		}
		if ops[2].s != nil {
			ops[2].s.set(hm)
		}
	}
	return nil
}

func desc(t dropout.Tensor) string {
	if t == nil {
		return "nil"
	}
	kind := "host"
	if _, ok := t.(dropout.Buffer); ok {
		kind = "buffer"
	}
	return fmt.Sprintf("%s %v[%d]", kind, t.DType(), t.Len())
}

// fuzzData returns n values of dt (Data for float types, bytes otherwise).
func fuzzData(dt dropout.DType, n int, seed uint64) dropout.Tensor {
	switch dt {
	case dropout.Float32, dropout.Float64, dropout.Float16, dropout.BFloat16:
		return Data(dt, n, seed)
	}
	b := make(dropout.Bytes, n)
	for i := range b {
		b[i] = byte(seed + uint64(i)*7)
	}
	return b
}

// randomMask returns a valid mask of m elements in format f.
func randomMask(f dropout.MaskFormat, m int, seed uint64) dropout.Tensor {
	mask := make(dropout.Bytes, f.Bytes(m))
	for j := range m {
		if (seed*0x9e3779b97f4a7c15+uint64(j)*0xbf58476d1ce4e5b9)>>63 == 1 {
			if f == dropout.MaskBits {
				mask[j/8] |= 1 << (j % 8)
			} else {
				mask[j] = 1
			}
		}
	}
	return mask
}

func clone(t dropout.Tensor) dropout.Tensor {
	switch v := t.(type) {
	case nil:
		return nil
	case dropout.Float32s:
		return append(dropout.Float32s(nil), v...)
	case dropout.Float64s:
		return append(dropout.Float64s(nil), v...)
	case dropout.Float16s:
		return append(dropout.Float16s(nil), v...)
	case dropout.BFloat16s:
		return append(dropout.BFloat16s(nil), v...)
	case dropout.Bytes:
		return append(dropout.Bytes(nil), v...)
	}
	return t
}
