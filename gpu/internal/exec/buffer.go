package exec

import (
	"fmt"
	"math"
	"sync"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
)

// Buffer is device memory made by Backend.Alloc, rounded up to whole
// 32-bit words (kernels write bit masks a word at a time).
//
// A call pins the buffers it uses: a Release during the call marks the
// buffer released at once, so later calls get ErrReleased, and frees its
// memory when the last call using it ends.
type Buffer struct {
	e    *Backend
	dt   dropout.DType
	n    int
	size int64 // bytes allocated

	mu       sync.Mutex
	mem      Mem // nil once freed; fixed while pinned
	released bool
	pins     int
}

// DType returns the element type.
func (u *Buffer) DType() dropout.DType { return u.dt }

// Len returns the number of elements.
func (u *Buffer) Len() int { return u.n }

// Mem returns the buffer's device memory, nil once it is freed. The
// memory stays valid while no Release or Close can run.
func (u *Buffer) Mem() Mem {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.mem
}

// Write copies the host tensor src into the buffer.
func (u *Buffer) Write(src dropout.Tensor) error { return u.e.Copy(u, src) }

// Read copies the buffer into the host tensor dst.
func (u *Buffer) Read(dst dropout.Tensor) error { return u.e.Copy(dst, u) }

// Release frees the buffer once no call uses it. Releasing twice, or after
// the backend closed, is harmless.
func (u *Buffer) Release() error {
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

// pin marks the buffer in use by q's call and returns its memory.
func (u *Buffer) pin(q *queue) (Mem, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.released {
		return nil, fmt.Errorf("%w: %s %v buffer of %d elements", dropout.ErrReleased, u.e.name, u.dt, u.n)
	}
	if u.mem == nil { // freed by Close
		return nil, fmt.Errorf("%w: %s buffer", dropout.ErrClosed, u.e.name)
	}
	u.pins++
	q.pinned = append(q.pinned, u)
	return u.mem, nil
}

func (u *Buffer) unpin() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.pins--; u.pins == 0 && u.released {
		u.free()
	}
}

// free frees the memory; u.mu is held.
func (u *Buffer) free() {
	if u.mem == nil {
		return
	}
	u.e.dev.Free(u.mem)
	u.mem = nil
	u.e.mu.Lock()
	delete(u.e.bufs, u)
	u.e.held -= u.size
	u.e.mu.Unlock()
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
	e.mu.Lock()
	e.bufs[u] = struct{}{}
	e.mu.Unlock()
	return u, nil
}

// operand is a tensor of a call: the memory of a buffer of this backend,
// or host bytes (mem nil).
type operand struct {
	mem  Mem
	host []byte
}

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
		return operand{mem: m}, err
	}
	if b, ok := driver.RawBytes(t); ok {
		return operand{host: b}, nil
	}
	if driver.IsHostBuffer(t) {
		return operand{}, fmt.Errorf("%w: host %v buffer of %d elements", dropout.ErrReleased, t.DType(), t.Len())
	}
	return operand{}, fmt.Errorf("%w: %T is neither host memory nor a buffer of this %s backend", dropout.ErrForeignBuffer, t, q.e.name)
}
