package exec

import (
	"fmt"
	"math"
	"sync"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
)

// Buffer is device memory made by Backend.Alloc (rounded up to whole
// 32-bit words: kernels write bit masks a word at a time), memory of the
// caller's wrapped by Wrap, or a view of either made by Slice.
//
// A call pins the buffers it uses: a Release during the call marks the
// buffer released at once, so later calls get ErrReleased, and frees its
// memory when the last call using it ends.
type Buffer struct {
	e    *Backend
	dt   dropout.DType
	n    int
	off  int64   // byte offset of element 0 in the root's memory
	root *Buffer // the buffer that holds the memory: u itself for Alloc and Wrap

	mu       sync.Mutex
	released bool // this buffer (or view) was released

	// The root's own fields, under its mu.
	size    int64 // bytes of the memory: allocated (a whole number of words), or the wrapped memory's
	foreign bool  // Wrap: the memory is the caller's, never freed here
	mem     Mem   // nil once freed (or, for wrapped memory, once the backend closed)
	pins    int
}

// DType returns the element type.
func (u *Buffer) DType() dropout.DType { return u.dt }

// Len returns the number of elements.
func (u *Buffer) Len() int { return u.n }

// Mem returns the buffer's device memory, nil once it is freed. The
// memory stays valid while no Release or Close can run. For a view or a
// wrapped buffer, element 0 is further on: Native says where.
func (u *Buffer) Mem() Mem {
	r := u.root
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mem
}

// Write copies the host tensor src into the buffer.
func (u *Buffer) Write(src dropout.Tensor) error { return u.e.Copy(u, src) }

// Read copies the buffer into the host tensor dst.
func (u *Buffer) Read(dst dropout.Tensor) error { return u.e.Copy(dst, u) }

// Slice implements dropout.Buffer: a view of n elements from element off,
// over the same memory. Kernels address a view at any element offset;
// where a device cannot (see Info.WordData, and mask views off whole
// 32-bit words), calls stage it through scratch memory.
func (u *Buffer) Slice(off, n int) (dropout.Buffer, error) {
	if off < 0 || n < 0 || off > u.n || n > u.n-off {
		return nil, fmt.Errorf("%w: Slice(%d, %d) of a %v buffer of %d elements", dropout.ErrLength, off, n, u.dt, u.n)
	}
	if err := u.live(); err != nil {
		return nil, err
	}
	return &Buffer{e: u.e, dt: u.dt, n: n, off: u.off + int64(off)*int64(u.dt.Size()), root: u.root}, nil
}

// live returns ErrReleased for a released buffer, view or root, and
// ErrClosed once the backend closed.
func (u *Buffer) live() error {
	u.mu.Lock()
	rel := u.released
	u.mu.Unlock()
	r := u.root
	if !rel && r != u {
		r.mu.Lock()
		rel = r.released
		r.mu.Unlock()
	}
	if rel {
		return fmt.Errorf("%w: %s %v buffer of %d elements", dropout.ErrReleased, u.e.name, u.dt, u.n)
	}
	if r.Mem() == nil {
		return fmt.Errorf("%w: %s buffer", dropout.ErrClosed, u.e.name)
	}
	return nil
}

// Release frees the buffer once no call uses it; a view's Release only
// makes the view unusable. Releasing twice, or after the backend closed,
// is harmless. Wrapped memory is the caller's: it is never freed here.
func (u *Buffer) Release() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.released {
		u.released = true
		if u.root == u && u.pins == 0 {
			u.free()
		}
	}
	return nil
}

// pin marks the buffer in use by q's call and returns its memory.
func (u *Buffer) pin(q *queue) (Mem, error) {
	u.mu.Lock()
	rel := u.released
	u.mu.Unlock()
	r := u.root
	r.mu.Lock()
	defer r.mu.Unlock()
	if rel || r.released {
		return nil, fmt.Errorf("%w: %s %v buffer of %d elements", dropout.ErrReleased, u.e.name, u.dt, u.n)
	}
	if r.mem == nil { // freed by Close
		return nil, fmt.Errorf("%w: %s buffer", dropout.ErrClosed, u.e.name)
	}
	r.pins++
	q.pinned = append(q.pinned, r)
	return r.mem, nil
}

// unpin ends a call's use of the root u.
func (u *Buffer) unpin() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.pins--; u.pins == 0 && u.released {
		u.free()
	}
}

// free frees the root's memory (wrapped memory is only forgotten); u.mu
// is held.
func (u *Buffer) free() {
	if u.mem == nil {
		return
	}
	if !u.foreign {
		u.e.dev.Free(u.mem)
	}
	u.mem = nil
	u.e.mu.Lock()
	delete(u.e.bufs, u)
	if !u.foreign {
		u.e.held -= u.size
	}
	u.e.mu.Unlock()
}

// Wrap returns a Buffer over memory the backend does not own, such as a
// caller's cl_mem or VkBuffer made into the device's Mem: n elements of dt
// from byte offset off of m, which has size bytes. off must be a multiple
// of dt's size. Release and Close never free m (Close makes the buffer
// ErrClosed); the caller keeps m alive while the buffer is in use. It is a
// function, not a method, as Do is.
func Wrap(e *Backend, m Mem, size, off int64, dt dropout.DType, n int) (*Buffer, error) {
	es := int64(dt.Size())
	switch {
	case es == 0:
		return nil, fmt.Errorf("%w: %v", dropout.ErrDType, dt)
	case m == nil:
		return nil, fmt.Errorf("%w: wrap of no memory", dropout.ErrLength)
	case n < 0 || off < 0 || size < 0:
		return nil, fmt.Errorf("%w: wrap of %d elements at byte %d of %d bytes", dropout.ErrLength, n, off, size)
	case off%es != 0:
		return nil, fmt.Errorf("%w: wrap at byte offset %d, not a multiple of the %d-byte %v element", dropout.ErrLength, off, es, dt)
	case int64(n) > (size-off)/es:
		return nil, fmt.Errorf("%w: wrap of %d %v elements (%d bytes) at byte %d of a %d-byte buffer", dropout.ErrLength, n, dt, int64(n)*es, off, size)
	}
	u := &Buffer{e: e, dt: dt, n: n, off: off, size: size, foreign: true, mem: m}
	u.root = u
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("%w: %s", dropout.ErrClosed, e.name)
	}
	e.bufs[u] = struct{}{}
	return u, nil
}

// Extent implements driver.Extenter: the bytes of its memory the buffer
// covers, so that driver.CheckOverlap (NewPlan's) sees that views and
// wraps of one memory share it. A released or closed buffer has none: the
// call reports that itself.
func (u *Buffer) Extent() (driver.Extent, bool) {
	if u.live() != nil {
		return driver.Extent{}, false
	}
	return driver.Extent{Mem: u.root.Mem(), Lo: u.off, Hi: u.off + int64(u.n)*int64(u.dt.Size())}, true
}

// Native returns the memory of t, a Buffer of e (made by Alloc, Wrap or
// Slice), and the byte offset of its element 0 there: for handing the
// device's own handle to a caller. The memory stays valid until the
// buffer's root is released or the backend closes.
func Native(e *Backend, t dropout.Tensor) (Mem, int64, error) {
	u, ok := t.(*Buffer)
	if !ok || u.e != e {
		return nil, 0, fmt.Errorf("%w: %T is not a buffer of this %s backend", dropout.ErrForeignBuffer, t, e.name)
	}
	if err := u.live(); err != nil {
		return nil, 0, err
	}
	return u.root.Mem(), u.off, nil
}

// Alloc returns a zeroed buffer of n elements of dt, any type of known
// size (Forward and Backward take only the device's DTypes). A buffer beyond the device's largest
// allocation, or the device memory this backend does not hold yet, is an
// error wrapping ErrOutOfMemory that names the bytes wanted and available.
func (e *Backend) Alloc(dt dropout.DType, n int) (dropout.Buffer, error) {
	q, err := e.begin()
	if err != nil {
		return nil, err
	}
	defer e.end(q)
	es := int64(dt.Size())
	switch {
	case n < 0:
		return nil, fmt.Errorf("%w: negative length %d", dropout.ErrLength, n)
	case es == 0:
		return nil, fmt.Errorf("%w: %v", dropout.ErrDType, dt)
	case int64(n) > (math.MaxInt64-3)/es:
		return nil, fmt.Errorf("%w: %s: %d elements of %v exceed any memory", dropout.ErrOutOfMemory, e.name, n, dt)
	}
	m, size, err := e.alloc(q, fmt.Sprintf("Alloc(%v, %d)", dt, n), int64(n)*es)
	if err != nil {
		return nil, err
	}
	err = q.launch(Zero, &Args{Y: View{Mem: m}, N: size})
	if err == nil {
		err = q.wait()
	}
	if err != nil {
		q.wait()
		e.dev.Free(m)
		e.unreserve(size)
		return nil, err
	}
	u := &Buffer{e: e, dt: dt, n: n, size: size, mem: m}
	u.root = u
	e.mu.Lock()
	e.bufs[u] = struct{}{}
	e.mu.Unlock()
	return u, nil
}

// operand is a tensor of a call: the memory of a buffer of this backend
// from byte off (n bytes of it), or host bytes (mem nil).
type operand struct {
	mem  Mem
	off  int64 // byte offset of element 0 in mem
	n    int64 // bytes of the tensor
	host []byte
	// pad is the bytes after the tensor's end a kernel may write whole
	// words into: the allocation's padding when the tensor ends where its
	// Alloc'd root does, otherwise none (they are another view's).
	pad int64
	// stage routes a buffer through a staging buffer, with Copy launches
	// in and out, where the device cannot address it in place (a mask off
	// whole words, 16-bit data off whole words on a WordData device).
	stage bool
}

// view returns the device view of the operand's byte lo.
func (o operand) view(lo int64) View { return View{Mem: o.mem, Off: o.off + lo} }

// operand sorts out t for q's call: a buffer of this backend (pinned),
// host memory, or an error: ErrReleased for a released buffer,
// ErrForeignBuffer for anything else. A nil t gives the zero operand.
func (q *queue) operand(t dropout.Tensor) (operand, error) {
	switch u := t.(type) {
	case nil:
		return operand{}, nil
	case *Buffer:
		if u.e != q.e {
			return operand{}, fmt.Errorf("%w: a buffer of another %s backend", dropout.ErrForeignBuffer, u.e.name)
		}
		m, err := u.pin(q)
		o := operand{mem: m, off: u.off, n: int64(u.n) * int64(u.dt.Size())}
		if r := u.root; !r.foreign && o.off+o.n == r.off+int64(r.n)*int64(r.dt.Size()) {
			o.pad = r.size - o.off - o.n
		}
		return o, err
	}
	if q.async {
		return operand{}, fmt.Errorf("%w: an asynchronous call takes buffers of this %s backend only, not %T (host memory)", dropout.ErrUnsupported, q.e.name, t)
	}
	if b, ok := driver.RawBytes(t); ok {
		return operand{host: b}, nil
	}
	if driver.IsHostBuffer(t) {
		return operand{}, fmt.Errorf("%w: host %v buffer of %d elements", dropout.ErrReleased, t.DType(), t.Len())
	}
	return operand{}, fmt.Errorf("%w: %T is neither host memory nor a buffer of this %s backend", dropout.ErrForeignBuffer, t, q.e.name)
}

// words reports whether a kernel may read and write the operand in whole
// 32-bit words of w bytes from its start: it starts on a word and the
// words end within its bytes or its allocation's padding.
func (o operand) words(w int64) bool {
	return o.off%4 == 0 && w <= o.n+o.pad
}
