//go:build cgo && !noopencl

package opencl

import (
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/internal/memlimit"
)

// reserve accounts for size bytes of device memory about to be allocated
// for what, or returns an error wrapping dropout.ErrOutOfMemory that names
// the bytes wanted and available: beyond CL_DEVICE_MAX_MEM_ALLOC_SIZE, beyond
// CL_DEVICE_GLOBAL_MEM_SIZE less what this backend already holds (after
// releasing idle workers' staging buffers, and own's, which may be nil),
// or, on a device whose memory
// is host memory (PoCL, Oclgrind), beyond what the machine and the
// process's cgroups can still give: such devices allocate lazily, and the
// kernel's OOM killer, not an OpenCL error, would answer an allocation
// they cannot back.
func (b *Backend) reserve(own *worker, what string, size int64) error {
	d := b.dev.info
	if d.MaxAlloc > 0 && size > d.MaxAlloc {
		return fmt.Errorf("%w: opencl: %s needs %s, but the largest allocation of %s is %s (CL_DEVICE_MAX_MEM_ALLOC_SIZE)",
			dropout.ErrOutOfMemory, what, memlimit.Bytes(size), d.Name, memlimit.Bytes(d.MaxAlloc))
	}
	if d.Emulated {
		if err := b.hostLimit().Check(dropout.ErrOutOfMemory, fmt.Sprintf("opencl: %s on %s", what, d.Name), size); err != nil {
			return err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if d.Memory > 0 && size > d.Memory-b.held {
		b.trim(own)
		if free := d.Memory - b.held; size > free {
			return fmt.Errorf("%w: opencl: %s needs %s, but only %s of the %s of %s (CL_DEVICE_GLOBAL_MEM_SIZE) are left: this backend holds %s",
				dropout.ErrOutOfMemory, what, memlimit.Bytes(size), memlimit.Bytes(max(free, 0)),
				memlimit.Bytes(d.Memory), d.Name, memlimit.Bytes(b.held))
		}
	}
	b.held += size
	return nil
}

// unreserve returns size bytes that reserve accounted for.
func (b *Backend) unreserve(size int64) {
	b.mu.Lock()
	b.held -= size
	b.mu.Unlock()
}

// trim releases the staging buffers of idle workers, and of own (the
// caller's worker, when its staging buffers are not in use; may be nil),
// to make room for an allocation. b.mu is held; idle workers are reachable
// only through it.
func (b *Backend) trim(own *worker) {
	ws := b.idle
	if own != nil {
		ws = append(ws[:len(ws):len(ws)], own)
	}
	for _, w := range ws {
		for role, s := range w.staging {
			s.mem.Release()
			b.held -= int64(s.size)
			delete(w.staging, role)
		}
	}
}

// newMem returns a zeroed device buffer of at least size bytes, rounded up
// to whole 32-bit words (kernels write bit masks a word at a time), and its
// size. what names the buffer in an out-of-memory error. With trimOwn, the
// worker's own staging buffers may be released to make room (they are not
// in use by the caller).
func (w *worker) newMem(what string, size int, trimOwn bool) (*cl.MemObject, int, error) {
	b := w.b
	if size < 0 || size > math.MaxInt-3 {
		return nil, 0, fmt.Errorf("%w: opencl: %s needs %d bytes", dropout.ErrOutOfMemory, what, size)
	}
	size = max(4, (size+3)&^3)
	var own *worker
	if trimOwn {
		own = w
	}
	if err := b.reserve(own, what, int64(size)); err != nil {
		return nil, 0, err
	}
	m, err := b.ctx.CreateEmptyBuffer(cl.MemReadWrite, size)
	if err != nil {
		b.unreserve(int64(size))
		return nil, 0, check("clCreateBuffer", err)
	}
	err = w.launch(w.kernels["zero_words"], uint64(size/4), m, uint64(size/4))
	if err == nil {
		err = w.finish()
	}
	if err != nil {
		m.Release()
		b.unreserve(int64(size))
		return nil, 0, err
	}
	return m, size, nil
}

// write copies size bytes from host memory p to m at byte offset off and
// waits (a blocking write: the host memory may change once it returns).
func (w *worker) write(m *cl.MemObject, off int, p unsafe.Pointer, size int) error {
	if size == 0 {
		return nil
	}
	ev, err := w.queue.EnqueueWriteBuffer(m, true, off, size, p, nil)
	w.track(ev)
	return check("clEnqueueWriteBuffer", err)
}

// read copies size bytes of m at byte offset off to host memory p and waits.
func (w *worker) read(m *cl.MemObject, off int, p unsafe.Pointer, size int) error {
	if size == 0 {
		return nil
	}
	ev, err := w.queue.EnqueueReadBuffer(m, true, off, size, p, nil)
	w.track(ev)
	return check("clEnqueueReadBuffer", err)
}

// minStage is the smallest staging buffer, in bytes.
const minStage = 4 << 10

// stage is a staging buffer for host tensors, grown on demand and kept.
type stage struct {
	mem  *cl.MemObject
	size int
}

// staged returns the worker's staging buffer of the given role with at
// least size bytes.
func (w *worker) staged(role string, size int) (*cl.MemObject, error) {
	need := size
	if s := w.staging[role]; s != nil {
		if s.size >= size {
			return s.mem, nil
		}
		// Grow at least twofold (up to a chunk), so that calls of
		// growing sizes reallocate rarely.
		size = max(size, min(2*s.size, w.b.chunkElems(1)))
		w.dropStage(role)
	}
	size = max(size, minStage)
	what := "a staging buffer for host tensors"
	m, got, err := w.newMem(what, size, false)
	if err != nil && size > need {
		m, got, err = w.newMem(what, need, false) // the doubled size may not fit where the needed one does
	}
	if err != nil {
		return nil, err
	}
	w.staging[role] = &stage{mem: m, size: got}
	return m, nil
}

// dropStage releases the staging buffer of one role.
func (w *worker) dropStage(role string) {
	if s := w.staging[role]; s != nil {
		s.mem.Release()
		w.b.unreserve(int64(s.size))
		delete(w.staging, role)
	}
}

// releaseStaging releases all of the worker's staging buffers.
func (w *worker) releaseStaging() {
	for role := range w.staging {
		w.dropStage(role)
	}
}

// hostBytes returns the memory behind a host tensor and its size in bytes
// (nil and 0 for an empty or non-host tensor).
func hostBytes(t dropout.Tensor) (unsafe.Pointer, int) {
	b, _ := dropout.RawBytes(t)
	if len(b) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(&b[0]), len(b)
}

// buffer is a device buffer made by Alloc. Uint8 buffers (masks) are
// allocated in whole 32-bit words, so kernels may write bit-mask words.
//
// A call pins the buffers it uses (pin, and end unpins them): a Release
// during the call marks the buffer released at once, so later calls get
// ErrReleased, and frees its memory when the last call using it ends.
type buffer struct {
	b    *Backend
	dt   dropout.DType
	n    int
	size int64 // bytes allocated

	mu sync.Mutex
	// mem is the device memory: set by Alloc, nil once freed. It does not
	// change while the buffer is pinned, so a call that pinned it may read
	// it without mu.
	mem      *cl.MemObject
	released bool // Release was called
	pins     int  // calls using the buffer
}

func (u *buffer) DType() dropout.DType { return u.dt }
func (u *buffer) Len() int             { return u.n }

// errReleased is the error of a call that uses a released buffer.
func (u *buffer) errReleased() error {
	return fmt.Errorf("%w: opencl %v buffer of %d elements", dropout.ErrReleased, u.dt, u.n)
}

// pin marks the buffer in use by the call running on w until w's call
// ends, or returns ErrReleased.
func (u *buffer) pin(w *worker) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.released {
		return u.errReleased()
	}
	if u.mem == nil { // freed by Close, which waits for calls: not reached
		return dropout.ErrClosed
	}
	u.pins++
	w.pinned = append(w.pinned, u)
	return nil
}

// unpin ends a call's use of the buffer, freeing it if it was released
// meanwhile.
func (u *buffer) unpin() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.pins--
	if u.pins == 0 && u.released {
		u.free()
	}
}

// free releases the device memory; u.mu is held.
func (u *buffer) free() {
	if u.mem == nil {
		return
	}
	u.mem.Release()
	u.mem = nil
	b := u.b
	b.mu.Lock()
	delete(b.bufs, u)
	b.held -= u.size
	b.mu.Unlock()
}

// Release frees the device memory, once calls using the buffer have
// finished. Releasing twice, or after the backend closed, is harmless.
// Every later use of the buffer returns an error wrapping
// dropout.ErrReleased (dropout.ErrClosed once the backend is closed).
func (u *buffer) Release() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.released {
		u.released = true
		if u.pins == 0 {
			u.free()
		}
	}
	return nil
}

// allocBytes returns the bytes of n elements of dt, or an error for a size
// that overflows.
func allocBytes(dt dropout.DType, n int) (int, error) {
	es := dt.Size()
	if n > (math.MaxInt-3)/es {
		return 0, fmt.Errorf("%w: opencl: %d elements of %v (%d bytes each) exceed any memory", dropout.ErrOutOfMemory, n, dt, es)
	}
	return n * es, nil
}

// Alloc returns a zeroed device buffer of n elements of dt. A buffer
// larger than the device's largest allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE),
// or than the device memory this backend does not hold yet
// (CL_DEVICE_GLOBAL_MEM_SIZE less its buffers and staging buffers), or on
// a CPU device than the host memory left, is an error wrapping
// dropout.ErrOutOfMemory that names the bytes wanted and available. Host
// tensors of any size work with Forward and Backward, which process them
// in chunks.
func (b *Backend) Alloc(dt dropout.DType, n int) (dropout.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: negative length %d", dropout.ErrLength, n)
	}
	if dt.Size() == 0 {
		return nil, fmt.Errorf("%w: %v", dropout.ErrDType, dt)
	}
	if dt != dropout.Uint8 {
		if err := b.supports(dt); err != nil {
			return nil, err
		}
	}
	size, err := allocBytes(dt, n)
	if err != nil {
		return nil, err
	}
	w, err := b.begin()
	if err != nil {
		return nil, err
	}
	defer b.end(w)
	m, got, err := w.newMem(fmt.Sprintf("Alloc(%v, %d)", dt, n), size, true)
	if err != nil {
		return nil, err
	}
	u := &buffer{b: b, mem: m, dt: dt, n: n, size: int64(got)}
	b.mu.Lock()
	b.bufs[u] = struct{}{}
	b.mu.Unlock()
	return u, nil
}

// own sorts out an operand of a call on w: a host tensor or released host
// buffer gives the host slice behind it in h; a buffer of b gives u, pinned
// for the call; a released buffer is ErrReleased, anything else
// ErrForeignBuffer. A nil t gives neither, and no error.
func (w *worker) own(t dropout.Tensor) (u *buffer, h dropout.Tensor, err error) {
	if t == nil {
		return nil, nil, nil
	}
	if h, ok := dropout.Host(t); ok {
		return nil, h, nil
	}
	u, ok := t.(*buffer)
	if !ok || u.b != w.b {
		if dropout.IsHostBuffer(t) {
			return nil, nil, fmt.Errorf("%w: host %v buffer of %d elements", dropout.ErrReleased, t.DType(), t.Len())
		}
		return nil, nil, fmt.Errorf("%w: %T is neither a host tensor nor a buffer of this OpenCL backend", dropout.ErrForeignBuffer, t)
	}
	if err := u.pin(w); err != nil {
		return nil, nil, err
	}
	return u, nil, nil
}

// Write copies the host tensor src into the buffer.
func (u *buffer) Write(src dropout.Tensor) error {
	w, err := u.b.begin()
	if err != nil {
		return err
	}
	defer u.b.end(w)
	if err := u.pin(w); err != nil {
		return err
	}
	h, err := u.hostPeer(src, "write")
	if err != nil {
		return err
	}
	if err := w.writeAll(u, h); err != nil {
		return err
	}
	return w.finish()
}

// writeAll copies the host tensor h, of the buffer's type and length, into
// the buffer u. A Uint8 buffer whose length is not a multiple of 4 is
// written whole, zero padding included, so that kernels reading masks a
// 32-bit word at a time read only written bytes (and Oclgrind, which
// forgets the rest of a buffer after a partial host write, agrees).
func (w *worker) writeAll(u *buffer, h dropout.Tensor) error {
	p, size := hostBytes(h)
	if pad := (size + 3) &^ 3; pad != size && u.dt == dropout.Uint8 {
		b := make([]byte, pad)
		copy(b, h.(dropout.Bytes))
		p, size = unsafe.Pointer(&b[0]), pad
	}
	return w.write(u.mem, 0, p, size)
}

// Read copies the buffer into the host tensor dst.
func (u *buffer) Read(dst dropout.Tensor) error {
	w, err := u.b.begin()
	if err != nil {
		return err
	}
	defer u.b.end(w)
	if err := u.pin(w); err != nil {
		return err
	}
	h, err := u.hostPeer(dst, "read")
	if err != nil {
		return err
	}
	p, size := hostBytes(h)
	if err := w.read(u.mem, 0, p, size); err != nil {
		return err
	}
	return w.finish()
}

// hostPeer checks that t is a host tensor matching the buffer.
func (u *buffer) hostPeer(t dropout.Tensor, op string) (dropout.Tensor, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: %s of a nil tensor", dropout.ErrLength, op)
	}
	h, ok := dropout.Host(t)
	if !ok {
		if dropout.IsHostBuffer(t) {
			return nil, fmt.Errorf("%w: %s of a released host buffer", dropout.ErrReleased, op)
		}
		return nil, fmt.Errorf("%w: %s needs a host tensor, got %T", dropout.ErrForeignBuffer, op, t)
	}
	if h.DType() != u.dt {
		return nil, fmt.Errorf("%w: %s of %v into a %v buffer", dropout.ErrDType, op, h.DType(), u.dt)
	}
	if h.Len() != u.n {
		return nil, fmt.Errorf("%w: %s of %d elements into a buffer of %d", dropout.ErrLength, op, h.Len(), u.n)
	}
	return h, nil
}

// Copy copies src into dst: device to device with clEnqueueCopyBuffer (the
// bandwidth ceiling benchmarks compare dropout with), or between the host
// and a buffer.
func (b *Backend) Copy(dst, src dropout.Tensor) error {
	w, err := b.begin()
	if err != nil {
		return err
	}
	defer b.end(w)
	if err := dropout.CheckCopy(dst, src); err != nil {
		return err
	}
	d, hd, err := w.own(dst)
	if err != nil {
		return err
	}
	s, hs, err := w.own(src)
	if err != nil {
		return err
	}
	switch {
	case d != nil && s != nil:
		size := d.n * d.dt.Size()
		if size == 0 || d == s {
			return nil
		}
		ev, err := w.queue.EnqueueCopyBuffer(s.mem, d.mem, 0, 0, size, nil)
		w.track(ev)
		if err != nil {
			return check("clEnqueueCopyBuffer", err)
		}
		return w.finish()
	case d != nil:
		if err := w.writeAll(d, hs); err != nil {
			return err
		}
		return w.finish()
	case s != nil:
		p, size := hostBytes(hd)
		if err := w.read(s.mem, 0, p, size); err != nil {
			return err
		}
		return w.finish()
	}
	return dropout.CopyHost(hd, hs)
}
