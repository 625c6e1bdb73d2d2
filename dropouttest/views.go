package dropouttest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
)

// Views and wrapped buffers: every call on operands that are views
// (Buffer.Slice) at element offsets that are not multiples of 4, and on
// buffers that Config.Wrap makes, compared bit for bit with the reference
// on host copies. Each operand is a view of its own root buffer, which is
// filled with a byte pattern first: the root's elements outside the view
// must keep it, so that a kernel writing whole words (or vectors) past
// either end of a view fails the suite.

// rootFunc makes a buffer of n elements of dt that views are sliced from,
// and the function that frees it.
type rootFunc func(t *testing.T, dt dropout.DType, n int) (dropout.Buffer, func())

// viewTail is how many elements every root has past its view.
const viewTail = 5

// viewOp is one operand of a call on views: a view of n elements of dt at
// element off of its root, holding in (or the root's pattern when in is
// nil: an output the call must overwrite). same >= 0 makes it the
// operand with that index (a call in place); n < 0 makes it nil.
type viewOp struct {
	dt     dropout.DType
	off, n int
	in     dropout.Tensor
	same   int
}

func data(dt dropout.DType, off int, in dropout.Tensor) viewOp {
	return viewOp{dt: dt, off: off, n: in.Len(), in: in, same: -1}
}

func output(dt dropout.DType, off, n int) viewOp {
	return viewOp{dt: dt, off: off, n: n, same: -1}
}

func sameAs(i int) viewOp { return viewOp{same: i} }
func noOperand() viewOp   { return viewOp{n: -1, same: -1} }
func maskOp(f dropout.MaskFormat, off, m int, in dropout.Tensor) viewOp {
	if f == dropout.MaskNone {
		return noOperand()
	}
	return viewOp{dt: dropout.Uint8, off: off, n: f.Bytes(m), in: in, same: -1}
}

// pattern returns n elements of dt whose bytes are a pattern no kernel
// writes by chance (the data of no call here): what roots hold around
// their views.
func pattern(dt dropout.DType, n int, seed byte) dropout.Tensor {
	t := Zeros(dt, n)
	b, _ := driver.RawBytes(t)
	for i := range b {
		b[i] = byte(i*0x3b) ^ seed ^ 0xc6
	}
	return t
}

// viewCall runs call on s.b with views made by mk for ops and on the
// reference with host copies, and compares every operand afterwards:
// inside its view with the reference's (Equal), outside it with the
// pattern the root was filled with (bit for bit).
func (s *suite) viewCall(t *testing.T, mk rootFunc, what string, ops []viewOp, call func(b dropout.Backend, ts []dropout.Tensor) error) {
	t.Helper()
	type made struct {
		root, view dropout.Buffer
		fill       dropout.Tensor // the root's contents before the call
	}
	ms := make([]made, len(ops))
	dev := make([]dropout.Tensor, len(ops))
	host := make([]dropout.Tensor, len(ops))
	for i, o := range ops {
		switch {
		case o.same >= 0:
			ms[i], dev[i], host[i] = ms[o.same], dev[o.same], host[o.same]
			continue
		case o.n < 0:
			continue
		}
		l := o.off + o.n + viewTail
		root, free := mk(t, o.dt, l)
		defer free()
		fill := pattern(o.dt, l, byte(i))
		if err := root.Write(fill); err != nil {
			t.Fatalf("%s: Write of a %v root of %d elements: %v", what, o.dt, l, err)
		}
		v, err := root.Slice(o.off, o.n)
		if err != nil {
			t.Fatalf("%s: Slice(%d, %d) of a %v buffer of %d elements: %v", what, o.off, o.n, o.dt, l, err)
		}
		defer v.Release()
		if o.in != nil {
			// a ranged Write
			if err := v.Write(o.in); err != nil {
				t.Fatalf("%s: Write of %v[%d] into a view at %d: %v", what, o.dt, o.n, o.off, err)
			}
			for j := range o.n {
				copyAt(fill, o.off+j, o.in, j)
			}
		}
		ms[i], dev[i], host[i] = made{root, v, fill}, v, slice(clone(fill), o.off, o.off+o.n)
	}
	if err := call(s.ref, host); err != nil {
		t.Fatalf("reference %s: %v", what, err)
	}
	if err := call(s.b, dev); err != nil {
		t.Fatalf("%s on views: %v", what, err)
	}
	for i, o := range ops {
		if o.same >= 0 || o.n < 0 {
			continue
		}
		m := ms[i]
		l := m.fill.Len()
		got := Zeros(o.dt, l)
		if err := m.root.Read(got); err != nil {
			t.Fatalf("%s: Read of operand %d's root: %v", what, i, err)
		}
		if err := Equal(slice(got, o.off, o.off+o.n), host[i]); err != nil {
			t.Fatalf("%s on %s: operand %d (%v[%d] at element %d of its buffer) differs from the reference: %v",
				what, s.b.Name(), i, o.dt, o.n, o.off, err)
		}
		for _, r := range [][2]int{{0, o.off}, {o.off + o.n, l}} {
			gb, _ := driver.RawBytes(slice(got, r[0], r[1]))
			wb, _ := driver.RawBytes(slice(m.fill, r[0], r[1]))
			if k := firstDiff(gb, wb); k >= 0 {
				e := r[0] + k/o.dt.Size()
				t.Fatalf("%s on %s: operand %d (%v[%d] at element %d of its buffer) changed element %d of its buffer, outside the view",
					what, s.b.Name(), i, o.dt, o.n, o.off, e)
			}
		}
		// a ranged Read
		gv := Zeros(o.dt, o.n)
		if err := m.view.Read(gv); err != nil {
			t.Fatalf("%s: Read of operand %d's view: %v", what, i, err)
		}
		if err := Equal(gv, slice(got, o.off, o.off+o.n)); err != nil {
			t.Fatalf("%s: Read of operand %d's view differs from its buffer's elements: %v", what, i, err)
		}
	}
}

// firstDiff returns the index of the first byte where a and b differ, or -1.
func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// viewLayout places the operands of a call on views: element offsets of
// dst, x (dy) and a bias or residual, the mask's byte offset, the length
// and the drop probability.
type viewLayout struct {
	y, x, r, m, n int
	p             float64
}

// ViewLayouts are the suite's views: element offsets that are not
// multiples of 4 (and some that are), mask byte offsets on and off 4-byte
// boundaries, and lengths that are not multiples of 32, across the drop
// probabilities' special paths (p = 0 copies, p = 1 zeroes).
var viewLayouts = []viewLayout{
	{y: 1, x: 3, r: 5, m: 1, n: 45, p: 0.3},
	{y: 3, x: 5, r: 1, m: 4, n: 7, p: 0},
	{y: 5, x: 1, r: 6, m: 3, n: 100, p: 1},
	{y: 6, x: 33, r: 3, m: 0, n: 1029, p: 0.5},
	{y: 33, x: 6, r: 33, m: 2, n: 77, p: 0.9},
	{y: 0, x: 0, r: 0, m: 8, n: 33, p: 0.3},
}

// views runs the view cases on views of buffers from mk.
func (s *suite) viewCases(t *testing.T, mk rootFunc) {
	types := s.cfg.DTypes
	if !s.cfg.CoreOnly {
		types = s.allTypes()
	}
	for _, dt := range types {
		t.Run(dt.String(), func(t *testing.T) {
			for i, l := range viewLayouts {
				x := Data(dt, l.n, uint64(l.n))
				for _, f := range Formats {
					p := dropout.Params{P: l.p, Seed: Seeds[1], Offset: 1<<32 - 3 + uint64(i), Mask: f}
					what := fmt.Sprintf("Forward(%v[%d], p=%v, %v mask, dst at %d, x at %d, mask at byte %d)", dt, l.n, l.p, f, l.y, l.x, l.m)
					s.viewCall(t, mk, what, []viewOp{output(dt, l.y, l.n), data(dt, l.x, x), maskOp(f, l.m, l.n, nil)},
						func(b dropout.Backend, o []dropout.Tensor) error { return b.Forward(o[0], o[1], o[2], p) })
					// backward from the forward's mask, or regenerated
					bp := p
					if bp.P == 1 {
						bp.P = 0.5 // p = 1 drops everything: nothing to read
					}
					mask := NewMask(f, l.n)
					if err := s.ref.Forward(Zeros(dt, l.n), x, mask, bp); err != nil {
						t.Fatal(err)
					}
					what = fmt.Sprintf("Backward(%v[%d], p=%v, %v mask, dx at %d, dy at %d, mask at byte %d)", dt, l.n, bp.P, f, l.y, l.x, l.m)
					s.viewCall(t, mk, what, []viewOp{output(dt, l.y, l.n), data(dt, l.x, x), maskOp(f, l.m, l.n, mask)},
						func(b dropout.Backend, o []dropout.Tensor) error { return b.Backward(o[0], o[1], o[2], bp) })
				}
				// in place: dst and x are the same view
				f := Formats[i%len(Formats)]
				p := dropout.Params{P: l.p, Seed: Seeds[2], Offset: uint64(i), Mask: f}
				what := fmt.Sprintf("Forward in place (%v[%d] at %d, p=%v, %v mask at byte %d)", dt, l.n, l.x, l.p, f, l.m)
				s.viewCall(t, mk, what, []viewOp{data(dt, l.x, x), sameAs(0), maskOp(f, l.m, l.n, nil)},
					func(b dropout.Backend, o []dropout.Tensor) error { return b.Forward(o[0], o[1], o[2], p) })
				p.Mask = dropout.MaskNone
				what = fmt.Sprintf("Backward in place (%v[%d] at %d, p=%v, regenerated)", dt, l.n, l.x, l.p)
				s.viewCall(t, mk, what, []viewOp{data(dt, l.x, x), sameAs(0), noOperand()},
					func(b dropout.Backend, o []dropout.Tensor) error { return b.Backward(o[0], o[1], o[2], p) })
			}
			if dt == types[0] {
				// large: every worker, chunk and launch limit of the
				// configuration, from odd offsets
				n := s.cfg.Large
				x := Data(dt, n, 12)
				for _, f := range []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits} {
					p := dropout.Params{P: 0.5, Seed: Seeds[0], Offset: 1<<32 - 7, Mask: f}
					what := fmt.Sprintf("Forward(%v[%d], %v mask, dst at 5, x at 3, mask at byte 3)", dt, n, f)
					s.viewCall(t, mk, what, []viewOp{output(dt, 5, n), data(dt, 3, x), maskOp(f, 3, n, nil)},
						func(b dropout.Backend, o []dropout.Tensor) error { return b.Forward(o[0], o[1], o[2], p) })
				}
			}
			s.viewNoise(t, mk, dt)
			if !s.cfg.CoreOnly && s.b.Device().Caps.Fused {
				s.viewFused(t, mk, dt)
			}
		})
	}
}

// viewNoise runs a noise shape (Dropout1d) on views, forward and backward.
func (s *suite) viewNoise(t *testing.T, mk rootFunc, dt dropout.DType) {
	shape, noise := []int{4, 3, 5}, []int{4, 3, 1}
	n := prod(shape)
	x := Data(dt, n, 5)
	for _, f := range Formats {
		p := dropout.Params{P: 0.5, Seed: 3, Offset: 1<<32 + 1, Mask: f, Shape: shape, NoiseShape: noise}
		m := p.MaskLen(n)
		what := fmt.Sprintf("Forward(%v%v, noise %v, %v mask) on views", dt, shape, noise, f)
		s.viewCall(t, mk, what, []viewOp{output(dt, 1, n), data(dt, 3, x), maskOp(f, 1, m, nil)},
			func(b dropout.Backend, o []dropout.Tensor) error { return b.Forward(o[0], o[1], o[2], p) })
		mask := NewMask(f, m)
		if err := s.ref.Forward(Zeros(dt, n), x, mask, p); err != nil {
			t.Fatal(err)
		}
		what = fmt.Sprintf("Backward(%v%v, noise %v, %v mask) on views", dt, shape, noise, f)
		s.viewCall(t, mk, what, []viewOp{output(dt, 6, n), data(dt, 5, x), maskOp(f, 3, m, mask)},
			func(b dropout.Backend, o []dropout.Tensor) error { return b.Backward(o[0], o[1], o[2], p) })
	}
}

// viewFused runs the fused op with every operand a view, and in place on
// the residual.
func (s *suite) viewFused(t *testing.T, mk rootFunc, dt dropout.DType) {
	for i, l := range viewLayouts[:3] {
		shape := []int{3, 15 + i}
		n := prod(shape)
		x, bias, res := Data(dt, n, 8), Data(dt, shape[1], 9), Data(dt, n, 10)
		for _, f := range Formats {
			p := dropout.Params{P: 0.4, Seed: Seeds[1], Offset: 7, Mask: f, Shape: shape}
			what := fmt.Sprintf("ForwardFused(%v%v, %v mask, dst at %d, x at %d, bias at %d, residual at %d, mask at byte %d)",
				dt, shape, f, l.y, l.x, l.r, l.r+1, l.m)
			s.viewCall(t, mk, what, []viewOp{output(dt, l.y, n), data(dt, l.x, x), data(dt, l.r, bias), data(dt, l.r+1, res), maskOp(f, l.m, n, nil)},
				func(b dropout.Backend, o []dropout.Tensor) error {
					return dropout.ForwardFused(b, o[0], o[1], o[2], o[3], o[4], p)
				})
		}
		p := dropout.Params{P: 0.4, Seed: Seeds[2], Offset: 9, Mask: dropout.MaskBits, Shape: shape}
		what := fmt.Sprintf("ForwardFused(%v%v) in place on the residual at %d", dt, shape, l.y)
		s.viewCall(t, mk, what, []viewOp{data(dt, l.y, res), data(dt, l.x, x), data(dt, l.r, bias), sameAs(0), maskOp(p.Mask, l.m, n, nil)},
			func(b dropout.Backend, o []dropout.Tensor) error {
				return dropout.ForwardFused(b, o[0], o[1], o[2], o[3], o[4], p)
			})
	}
}

// allocRoot is the rootFunc of views of the backend's own buffers.
func (s *suite) allocRoot(t *testing.T, dt dropout.DType, n int) (dropout.Buffer, func()) {
	b := s.alloc(t, dt, n)
	return b, func() { b.Release() }
}

// wrapOffsets are the element offsets in the caller's memory at which
// wrapped buffers start, in turn.
var wrapOffsets = []int{3, 0, 1, 6, 5, 33}

// wrapRoot returns a rootFunc of buffers from Config.Wrap, at the
// offsets of wrapOffsets in turn.
func (s *suite) wrapRoot() rootFunc {
	k := 0
	return func(t *testing.T, dt dropout.DType, n int) (dropout.Buffer, func()) {
		t.Helper()
		off := wrapOffsets[k%len(wrapOffsets)]
		k++
		b, free, err := s.cfg.Wrap(dt, n, off)
		if err != nil {
			t.Fatalf("Wrap(%v, %d, %d): %v", dt, n, off, err)
		}
		if b.Len() != n || b.DType() != dt {
			t.Fatalf("Wrap(%v, %d, %d) returned %v[%d]", dt, n, off, b.DType(), b.Len())
		}
		return b, func() {
			if err := b.Release(); err != nil {
				t.Errorf("Release of a wrapped buffer: %v", err)
			}
			free()
		}
	}
}

// views checks calls on views of the backend's buffers.
func (s *suite) views(t *testing.T) { s.viewCases(t, s.allocRoot) }

// wrapped checks calls on views of wrapped buffers, and on wrapped buffers
// themselves.
func (s *suite) wrapped(t *testing.T) {
	s.viewCases(t, s.wrapRoot())
	// wrapped buffers as whole operands, at offsets that are not multiples
	// of 4 elements (and a mask at an odd byte)
	for _, dt := range s.cfg.DTypes {
		for _, f := range Formats {
			for i, n := range []int{45, 1029} {
				x := Data(dt, n, uint64(n))
				p := dropout.Params{P: 0.3, Seed: Seeds[1], Offset: 11, Mask: f}
				mk := s.wrapRoot()
				ops := make([]dropout.Buffer, 3)
				var frees []func()
				for j, dn := range []struct {
					dt dropout.DType
					n  int
				}{{dt, n}, {dt, n}, {dropout.Uint8, f.Bytes(n)}} {
					if j == 2 && f == dropout.MaskNone {
						break
					}
					b, free := mk(t, dn.dt, dn.n)
					ops[j], frees = b, append(frees, free)
				}
				if err := ops[1].Write(x); err != nil {
					t.Fatal(err)
				}
				want, wm := Zeros(dt, n), NewMask(f, n)
				if err := s.ref.Forward(want, x, wm, p); err != nil {
					t.Fatal(err)
				}
				var mt dropout.Tensor
				if ops[2] != nil {
					mt = ops[2]
				}
				if err := s.b.Forward(ops[0], ops[1], mt, p); err != nil {
					t.Fatalf("Forward(%v[%d], %v mask) on wrapped buffers: %v", dt, n, f, err)
				}
				got := Zeros(dt, n)
				if err := ops[0].Read(got); err != nil {
					t.Fatal(err)
				}
				if err := Equal(got, want); err != nil {
					t.Fatalf("Forward(%v[%d], %v mask) on wrapped buffers (case %d) differs from the reference: %v", dt, n, f, i, err)
				}
				if ops[2] != nil {
					gm := Zeros(dropout.Uint8, ops[2].Len())
					if err := ops[2].Read(gm); err != nil {
						t.Fatal(err)
					}
					if err := Equal(gm, wm); err != nil {
						t.Fatalf("Forward(%v[%d], %v mask) on wrapped buffers: the mask differs from the reference: %v", dt, n, f, err)
					}
				}
				for _, free := range slices.Backward(frees) {
					free()
				}
			}
		}
	}
}

// sliceAPI checks Slice's edge cases on the backend's buffers: ranges,
// views of views, empty views, ranged transfers, Release of a view and of
// its root, and operands that overlap in part.
func (s *suite) sliceAPI(t *testing.T) {
	const l = 40
	root := s.alloc(t, dropout.Float32, l)
	defer root.Release()
	whole := pattern(dropout.Float32, l, 1).(dropout.Float32s)
	if err := root.Write(whole); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int{{-1, 1}, {0, -1}, {l + 1, 0}, {3, l - 2}, {0, l + 1}, {l, 1}} {
		if v, err := root.Slice(r[0], r[1]); !errors.Is(err, dropout.ErrLength) {
			t.Errorf("Slice(%d, %d) of %d elements: got %v, %v; want ErrLength", r[0], r[1], l, v, err)
		}
	}
	v, err := root.Slice(3, 20) // root elements [3, 23)
	if err != nil {
		t.Fatal(err)
	}
	if v.Len() != 20 || v.DType() != dropout.Float32 {
		t.Fatalf("Slice(3, 20) is %v[%d]", v.DType(), v.Len())
	}
	if _, err := v.Slice(5, 16); !errors.Is(err, dropout.ErrLength) {
		t.Errorf("Slice(5, 16) of a view of 20 elements: got %v, want ErrLength", err)
	}
	w, err := v.Slice(5, 7) // root elements [8, 15)
	if err != nil {
		t.Fatal(err)
	}
	// ranged transfers: Read of the view of a view, Write through it
	got := make(dropout.Float32s, 7)
	if err := w.Read(got); err != nil {
		t.Fatal(err)
	}
	if err := Equal(got, whole[8:15]); err != nil {
		t.Errorf("Read of Slice(5, 7) of Slice(3, 20): %v", err)
	}
	in := Data(dropout.Float32, 7, 2).(dropout.Float32s)
	if err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	copy(whole[8:], in)
	all := make(dropout.Float32s, l)
	if err := root.Read(all); err != nil {
		t.Fatal(err)
	}
	if err := Equal(all, whole); err != nil {
		t.Errorf("the root after a Write of a view of a view: %v", err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"Write of 8 elements into a view of 7", w.Write(make(dropout.Float32s, 8)), dropout.ErrLength},
		{"Read of a view of 7 into 6 elements", w.Read(make(dropout.Float32s, 6)), dropout.ErrLength},
		{"Read of a float32 view into float64", w.Read(make(dropout.Float64s, 7)), dropout.ErrDType},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	// empty views, at either end, and a call on them
	for _, off := range []int{0, l} {
		e, err := root.Slice(off, 0)
		if err != nil {
			t.Fatalf("Slice(%d, 0): %v", off, err)
		}
		if e.Len() != 0 {
			t.Errorf("Slice(%d, 0) has %d elements", off, e.Len())
		}
		if err := e.Write(dropout.Float32s{}); err != nil {
			t.Errorf("Write into an empty view: %v", err)
		}
		if err := s.b.Forward(e, e, nil, dropout.Params{P: 0.5}); err != nil {
			t.Errorf("Forward on an empty view: %v", err)
		}
		e.Release()
	}
	s.overlap(t, root)
	// Releasing a view makes it unusable and leaves its root, and the views
	// sliced from it (views of the root), as they were.
	if err := v.Release(); err != nil {
		t.Fatal(err)
	}
	host := make(dropout.Float32s, 20)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"Read of a released view", v.Read(host)},
		{"Write into a released view", v.Write(host)},
		{"Forward into a released view", s.b.Forward(v, host, nil, dropout.Params{P: 0.5})},
		{"Forward from a released view", s.b.Forward(host, v, nil, dropout.Params{P: 0.5})},
		{"Copy from a released view", s.b.Copy(host, v)},
	} {
		if !errors.Is(tc.err, dropout.ErrReleased) {
			t.Errorf("%s: got %v, want ErrReleased", tc.name, tc.err)
		}
	}
	if _, err := v.Slice(0, 1); !errors.Is(err, dropout.ErrReleased) {
		t.Errorf("Slice of a released view: got %v, want ErrReleased", err)
	}
	if err := v.Release(); err != nil {
		t.Errorf("second Release of a view: %v", err)
	}
	if err := root.Read(all); err != nil {
		t.Errorf("Read of a buffer whose view was released: %v", err)
	}
	if err := w.Read(got); err != nil {
		t.Errorf("Read of a view sliced from a released view: %v", err)
	}
	if err := s.b.Forward(w, w, nil, dropout.Params{P: 0.5}); err != nil {
		t.Errorf("Forward on a view sliced from a released view: %v", err)
	}
	// Releasing the root makes every view of it unusable.
	u, err := root.Slice(1, 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Release(); err != nil {
		t.Fatal(err)
	}
	for _, b := range []dropout.Buffer{w, u} {
		if err := b.Read(make(dropout.Float32s, b.Len())); !errors.Is(err, dropout.ErrReleased) {
			t.Errorf("Read of a view of a released buffer: got %v, want ErrReleased", err)
		}
		if err := s.b.Forward(b, make(dropout.Float32s, b.Len()), nil, dropout.Params{P: 0.5}); !errors.Is(err, dropout.ErrReleased) {
			t.Errorf("Forward into a view of a released buffer: got %v, want ErrReleased", err)
		}
		if _, err := b.Slice(0, 1); !errors.Is(err, dropout.ErrReleased) {
			t.Errorf("Slice of a view of a released buffer: got %v, want ErrReleased", err)
		}
		if err := b.Release(); err != nil {
			t.Errorf("Release of a view of a released buffer: %v", err)
		}
	}
}

// overlap checks that operands overlapping in part are ErrOverlap, views
// of root (40 float32s, live) and host slices alike, and that the same
// view twice (or two views of the same elements) is a call in place.
func (s *suite) overlap(t *testing.T, root dropout.Buffer) {
	const n = 16
	sl := func(off, n int) dropout.Buffer {
		v, err := root.Slice(off, n)
		if err != nil {
			t.Fatalf("Slice(%d, %d): %v", off, n, err)
		}
		t.Cleanup(func() { v.Release() })
		return v
	}
	h := make(dropout.Float32s, 40)
	p := dropout.Params{P: 0.5, Seed: 1}
	fp := dropout.Params{P: 0.5, Seed: 1, Shape: []int{2, 8}}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Forward(dst = Slice(1, n), x = Slice(0, n))", func() error { return s.b.Forward(sl(1, n), sl(0, n), nil, p) }},
		{"Forward(dst = Slice(0, n), x = Slice(5, n))", func() error { return s.b.Forward(sl(0, n), sl(5, n), nil, p) }},
		{"Backward(dx = Slice(3, n), dy = Slice(0, n))", func() error { return s.b.Backward(sl(3, n), sl(0, n), nil, p) }},
		{"Forward(dst = Slice(0, n), x = Slice(n-1, n)), one element shared", func() error { return s.b.Forward(sl(0, n), sl(n-1, n), nil, p) }},
		{"Forward(dst = h[1:n+1], x = h[:n]) on host slices", func() error { return s.b.Forward(h[1:n+1], h[:n], nil, p) }},
		{"Backward(dx = h[:n], dy = h[2:n+2]) on host slices", func() error { return s.b.Backward(h[:n], h[2:n+2], nil, p) }},
		{"Copy(Slice(1, n), Slice(0, n))", func() error { return s.b.Copy(sl(1, n), sl(0, n)) }},
	} {
		if err := tc.call(); !errors.Is(err, dropout.ErrOverlap) {
			t.Errorf("%s: got %v, want ErrOverlap", tc.name, err)
		}
	}
	if s.b.Device().Caps.Fused {
		for _, tc := range []struct {
			name            string
			dst, x, bias, r dropout.Tensor
		}{
			{"dst over x", sl(1, n), sl(0, n), nil, nil},
			{"the residual over dst", sl(0, n), sl(n, n), nil, sl(2, n)},
			{"the bias inside x", sl(20, n), sl(0, n), sl(4, 8), nil},
		} {
			if err := dropout.ForwardFused(s.b, tc.dst, tc.x, tc.bias, tc.r, nil, fp); !errors.Is(err, dropout.ErrOverlap) {
				t.Errorf("ForwardFused with %s: got %v, want ErrOverlap", tc.name, err)
			}
		}
	}
	// the same elements twice: in place
	x := Data(dropout.Float32, n, 4)
	want := Zeros(dropout.Float32, n)
	if err := s.ref.Forward(want, x, nil, p); err != nil {
		t.Fatal(err)
	}
	a, b := sl(7, n), sl(7, n)
	if err := a.Write(x); err != nil {
		t.Fatal(err)
	}
	if err := s.b.Forward(a, b, nil, p); err != nil {
		t.Fatalf("Forward(dst = Slice(7, n), x = another Slice(7, n)): %v", err)
	}
	got := Zeros(dropout.Float32, n)
	if err := b.Read(got); err != nil {
		t.Fatal(err)
	}
	if err := Equal(got, want); err != nil {
		t.Errorf("Forward in place on two views of the same elements differs from the reference: %v", err)
	}
}
