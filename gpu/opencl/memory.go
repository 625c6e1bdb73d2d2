//go:build cgo && !noopencl

package opencl

import (
	"fmt"
	"unsafe"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
)

// newMem returns a zeroed device buffer of at least size bytes, rounded up
// to whole 32-bit words (kernels write bit masks a word at a time).
func (b *Backend) newMem(size int) (*cl.MemObject, error) {
	size = max(4, (size+3)&^3)
	if int64(size) > b.dev.info.MaxAlloc && b.dev.info.MaxAlloc > 0 {
		return nil, fmt.Errorf("%w: %d bytes exceed the device's largest allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE %d)",
			dropout.ErrOutOfMemory, size, b.dev.info.MaxAlloc)
	}
	m, err := b.ctx.CreateEmptyBuffer(cl.MemReadWrite, size)
	if err != nil {
		return nil, check("clCreateBuffer", err)
	}
	err = b.launch(b.kernels["zero_words"], uint64(size/4), m, uint64(size/4))
	if err == nil {
		err = b.finish()
	}
	if err != nil {
		m.Release()
		return nil, err
	}
	return m, nil
}

// write copies size bytes from host memory p to m at byte offset off and
// waits (a blocking write: the host memory may change once it returns).
func (b *Backend) write(m *cl.MemObject, off int, p unsafe.Pointer, size int) error {
	if size == 0 {
		return nil
	}
	ev, err := b.queue.EnqueueWriteBuffer(m, true, off, size, p, nil)
	b.track(ev)
	return check("clEnqueueWriteBuffer", err)
}

// read copies size bytes of m at byte offset off to host memory p and waits.
func (b *Backend) read(m *cl.MemObject, off int, p unsafe.Pointer, size int) error {
	if size == 0 {
		return nil
	}
	ev, err := b.queue.EnqueueReadBuffer(m, true, off, size, p, nil)
	b.track(ev)
	return check("clEnqueueReadBuffer", err)
}

// minStage is the smallest staging buffer, in bytes.
const minStage = 4 << 10

// stage is a staging buffer for host tensors, grown on demand and kept.
type stage struct {
	mem  *cl.MemObject
	size int
}

// staged returns the staging buffer of the given role with at least size bytes.
func (b *Backend) staged(role string, size int) (*cl.MemObject, error) {
	need := size
	if s := b.staging[role]; s != nil {
		if s.size >= size {
			return s.mem, nil
		}
		// Grow at least twofold (up to a chunk), so that calls of
		// growing sizes reallocate rarely.
		size = max(size, min(2*s.size, b.chunkElems(1)))
		s.mem.Release()
		delete(b.staging, role)
	}
	size = max(size, minStage)
	m, err := b.newMem(size)
	if err != nil && size > need {
		size = need // the doubled size may not fit where the needed one does
		m, err = b.newMem(size)
	}
	if err != nil {
		return nil, err
	}
	b.staging[role] = &stage{mem: m, size: size}
	return m, nil
}

// hostOf returns the host slice behind a host tensor or host buffer.
func hostOf(t dropout.Tensor) dropout.Tensor {
	h, _ := dropout.Host(t)
	return h
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
type buffer struct {
	b   *Backend
	mem *cl.MemObject // nil once released
	dt  dropout.DType
	n   int
}

func (u *buffer) DType() dropout.DType { return u.dt }
func (u *buffer) Len() int             { return u.n }

// Alloc returns a zeroed device buffer of n elements of dt. A buffer larger
// than the device's largest allocation is an error matching
// dropout.ErrOutOfMemory; host tensors of any size work with Forward and
// Backward, which process them in chunks.
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
	if err := b.lock(); err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	if n > (1<<62)/dt.Size() {
		return nil, fmt.Errorf("%w: %d elements of %v", dropout.ErrOutOfMemory, n, dt)
	}
	m, err := b.newMem(n * dt.Size())
	if err != nil {
		return nil, err
	}
	u := &buffer{b: b, mem: m, dt: dt, n: n}
	b.bufs[u] = struct{}{}
	return u, nil
}

// own returns t as a buffer of b: ok is false for a host tensor; a buffer
// of another backend is ErrForeignBuffer, a released one ErrClosed.
func (b *Backend) own(t dropout.Tensor) (u *buffer, ok bool, err error) {
	if _, isHost := dropout.Host(t); isHost {
		return nil, false, nil
	}
	u, ok = t.(*buffer)
	if !ok || u.b != b {
		if dropout.IsHostBuffer(t) {
			return nil, false, errReleased
		}
		return nil, false, fmt.Errorf("%w: %T is neither a host tensor nor a buffer of this OpenCL backend", dropout.ErrForeignBuffer, t)
	}
	if u.mem == nil {
		return nil, false, errReleased
	}
	return u, true, nil
}

// Write copies the host tensor src into the buffer.
func (u *buffer) Write(src dropout.Tensor) error {
	if err := u.b.lock(); err != nil {
		return err
	}
	defer u.b.mu.Unlock()
	h, err := u.hostPeer(src, "write")
	if err != nil {
		return err
	}
	if err := u.writeAll(h); err != nil {
		return err
	}
	return u.b.finish()
}

// writeAll copies the host tensor h, of the buffer's type and length, into
// the buffer. A Uint8 buffer whose length is not a multiple of 4 is written
// whole, zero padding included, so that kernels reading masks a 32-bit word
// at a time read only written bytes (and Oclgrind, which forgets the rest
// of a buffer after a partial host write, agrees).
func (u *buffer) writeAll(h dropout.Tensor) error {
	p, size := hostBytes(h)
	if pad := (size + 3) &^ 3; pad != size && u.dt == dropout.Uint8 {
		b := make([]byte, pad)
		copy(b, h.(dropout.Bytes))
		p, size = unsafe.Pointer(&b[0]), pad
	}
	return u.b.write(u.mem, 0, p, size)
}

// Read copies the buffer into the host tensor dst.
func (u *buffer) Read(dst dropout.Tensor) error {
	if err := u.b.lock(); err != nil {
		return err
	}
	defer u.b.mu.Unlock()
	h, err := u.hostPeer(dst, "read")
	if err != nil {
		return err
	}
	p, size := hostBytes(h)
	if err := u.b.read(u.mem, 0, p, size); err != nil {
		return err
	}
	return u.b.finish()
}

// hostPeer checks that t is a host tensor matching the buffer.
func (u *buffer) hostPeer(t dropout.Tensor, op string) (dropout.Tensor, error) {
	if u.mem == nil {
		return nil, errReleased
	}
	if t == nil {
		return nil, fmt.Errorf("%w: %s of a nil tensor", dropout.ErrLength, op)
	}
	h, ok := dropout.Host(t)
	if !ok {
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

// Release frees the device memory. Releasing twice, or after the backend
// closed, is harmless.
func (u *buffer) Release() error {
	u.b.mu.Lock()
	defer u.b.mu.Unlock()
	if u.mem != nil {
		u.mem.Release()
		u.mem = nil
		delete(u.b.bufs, u)
	}
	return nil
}

// Copy copies src into dst: device to device with clEnqueueCopyBuffer (the
// bandwidth ceiling benchmarks compare dropout with), or between the host
// and a buffer.
func (b *Backend) Copy(dst, src dropout.Tensor) error {
	if err := b.lock(); err != nil {
		return err
	}
	defer b.mu.Unlock()
	if err := dropout.CheckCopy(dst, src); err != nil {
		return err
	}
	d, dDev, err := b.own(dst)
	if err != nil {
		return err
	}
	s, sDev, err := b.own(src)
	if err != nil {
		return err
	}
	switch {
	case dDev && sDev:
		size := d.n * d.dt.Size()
		if size == 0 || d == s {
			return nil
		}
		ev, err := b.queue.EnqueueCopyBuffer(s.mem, d.mem, 0, 0, size, nil)
		b.track(ev)
		if err != nil {
			return check("clEnqueueCopyBuffer", err)
		}
		return b.finish()
	case dDev:
		if err := d.writeAll(hostOf(src)); err != nil {
			return err
		}
		return b.finish()
	case sDev:
		p, size := hostBytes(hostOf(dst))
		if err := b.read(s.mem, 0, p, size); err != nil {
			return err
		}
		return b.finish()
	}
	return dropout.CopyHost(dst, src)
}
