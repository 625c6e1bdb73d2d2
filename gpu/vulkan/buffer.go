//go:build cgo && !novulkan

package vulkan

import (
	"fmt"
	"math/bits"
	"sync"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// Buffer is a device-local buffer made by Backend.Alloc. Its memory is
// rounded up to whole 32-bit words (a mask of Mask.Bytes(n) bytes is
// written a word at a time).
//
// A Buffer is safe for concurrent use: calls that use it hold it for their
// duration, and Release waits for them before it frees the memory. Calls
// that start after Release get an error wrapping dropout.ErrReleased;
// calls after the backend's Close get dropout.ErrClosed.
type Buffer struct {
	b  *Backend
	dt dropout.DType
	n  int

	mu       sync.Mutex
	idle     sync.Cond   // signalled when users drops to 0
	buf      *vkx.Buffer // nil once freed
	users    int         // calls using buf
	released bool
}

// DType returns the element type.
func (x *Buffer) DType() dropout.DType { return x.dt }

// Len returns the number of elements.
func (x *Buffer) Len() int { return x.n }

// bytes returns the size of the contents in bytes.
func (x *Buffer) bytes() uint64 { return uint64(x.n) * uint64(x.dt.Size()) }

// Alloc returns a zeroed device buffer of n elements of type dt. Beyond the
// device's largest allocation, its memory heap less what the backend holds,
// the heap's budget, or (lavapipe) the host memory left, it returns an
// error wrapping dropout.ErrOutOfMemory that names the bytes wanted and
// available.
func (b *Backend) Alloc(dt dropout.DType, n int) (dropout.Buffer, error) {
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.leave()
	if dt.Size() == 0 {
		return nil, fmt.Errorf("%w: %v", dropout.ErrDType, dt)
	}
	if n < 0 {
		return nil, fmt.Errorf("%w: negative length %d", dropout.ErrLength, n)
	}
	es := uint64(dt.Size())
	limit := uint64(b.info.MaxAlloc)
	if limit == 0 {
		limit = 1 << 62
	}
	if uint64(n) > (limit-4)/es {
		size := "more than 2^64 bytes"
		if hi, lo := bits.Mul64(uint64(n), es); hi == 0 {
			size = fmt.Sprintf("%d bytes", lo)
		}
		return nil, fmt.Errorf("%w: vulkan: %d %v elements (%s) exceed the largest allocation of %s (%s)",
			dropout.ErrOutOfMemory, n, dt, size, b.info.Name, fmtBytes(limit))
	}
	size := max(roundUp(uint64(n)*es, 4), 4)
	vb, err := b.newBuffer(fmt.Sprintf("a buffer of %d %v elements", n, dt), size, vkx.DeviceLocal)
	if err != nil {
		return nil, b.validated(err)
	}
	// Device memory is not zeroed by Vulkan.
	err = b.withWorker(func(w *worker) error {
		if err := w.seq.Fill(vb, 0, vb.Size, 0); err != nil {
			return err
		}
		return w.seq.Submit()
	})
	if err != nil {
		b.freeBuffer(vb)
		return nil, err
	}
	x := &Buffer{b: b, buf: vb, dt: dt, n: n}
	x.idle.L = &x.mu
	b.bufMu.Lock()
	b.bufs[x] = struct{}{}
	b.bufMu.Unlock()
	return x, nil
}

// acquire marks the buffer in use by a call of its backend (which has
// entered) and returns its storage, or an error wrapping ErrReleased.
// Every acquire is followed by one unacquire.
func (x *Buffer) acquire() (*vkx.Buffer, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.released || x.buf == nil {
		return nil, fmt.Errorf("%w: a %v buffer of %d elements", dropout.ErrReleased, x.dt, x.n)
	}
	x.users++
	return x.buf, nil
}

func (x *Buffer) unacquire() {
	x.mu.Lock()
	x.users--
	if x.users == 0 {
		x.idle.Broadcast()
	}
	x.mu.Unlock()
}

// Release frees the buffer once the calls using it have finished.
// Releasing twice, or after the backend's Close, is harmless.
func (x *Buffer) Release() error {
	b := x.b
	if b.enter() != nil {
		return nil // Close freed it
	}
	defer b.leave()
	x.mu.Lock()
	if x.released {
		x.mu.Unlock()
		return nil
	}
	x.released = true
	for x.users > 0 {
		x.idle.Wait()
	}
	x.mu.Unlock()
	b.bufMu.Lock()
	delete(b.bufs, x)
	b.bufMu.Unlock()
	x.destroy()
	return nil
}

// destroy frees the memory; no call uses the buffer.
func (x *Buffer) destroy() {
	x.mu.Lock()
	buf := x.buf
	x.buf = nil
	x.released = true
	x.mu.Unlock()
	x.b.freeBuffer(buf)
}

// Write copies src, a host tensor or a buffer of the same backend, into x.
func (x *Buffer) Write(src dropout.Tensor) error {
	if err := x.b.enter(); err != nil {
		return err
	}
	defer x.b.leave()
	return x.write(src)
}

// Read copies x into dst, a host tensor or a buffer of the same backend.
func (x *Buffer) Read(dst dropout.Tensor) error {
	if err := x.b.enter(); err != nil {
		return err
	}
	defer x.b.leave()
	return x.read(dst)
}

// write is Write for a caller that has entered.
func (x *Buffer) write(src dropout.Tensor) error {
	if err := dropout.CheckCopy(x, src); err != nil {
		return err
	}
	if sb, ok := src.(*Buffer); ok {
		if sb.b != x.b {
			return fmt.Errorf("%w: a buffer of another vulkan backend", dropout.ErrForeignBuffer)
		}
		return copyBetween(x, sb)
	}
	h, err := hostBytes(src)
	if err != nil {
		return err
	}
	buf, err := x.acquire()
	if err != nil {
		return err
	}
	defer x.unacquire()
	return x.b.withWorker(func(w *worker) error { return x.b.upload(w, buf, 0, h) })
}

// read is Read for a caller that has entered.
func (x *Buffer) read(dst dropout.Tensor) error {
	if err := dropout.CheckCopy(dst, x); err != nil {
		return err
	}
	if db, ok := dst.(*Buffer); ok {
		if db.b != x.b {
			return fmt.Errorf("%w: a buffer of another vulkan backend", dropout.ErrForeignBuffer)
		}
		return copyBetween(db, x)
	}
	h, err := hostBytes(dst)
	if err != nil {
		return err
	}
	buf, err := x.acquire()
	if err != nil {
		return err
	}
	defer x.unacquire()
	return x.b.withWorker(func(w *worker) error { return x.b.download(w, h, buf, 0) })
}

// copyBetween copies src into dst, two buffers of one backend, which the
// caller has entered.
func copyBetween(dst, src *Buffer) error {
	d, err := dst.acquire()
	if err != nil {
		return err
	}
	defer dst.unacquire()
	s, err := src.acquire()
	if err != nil {
		return err
	}
	defer src.unacquire()
	return dst.b.copyBuffers(d, s, src.bytes())
}

// hostBytes returns the bytes of a host tensor (a host slice or a host
// buffer from dropout.NewHostBuffer).
func hostBytes(t dropout.Tensor) ([]byte, error) {
	h, err := dropout.HostOperand(t)
	if err != nil {
		return nil, err
	}
	b, ok := dropout.RawBytes(h)
	if !ok {
		return nil, fmt.Errorf("%w: %T", dropout.ErrDType, h)
	}
	return b, nil
}

func roundUp(n, m uint64) uint64 { return (n + m - 1) / m * m }
