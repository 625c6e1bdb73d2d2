package cpu

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/internal/memlimit"
)

// state is the one mutable thing a CPU backend has: whether it is open. It
// is shared with the buffers the backend's Alloc returns.
//
// Calls hold mu's read lock while they run, so that any number of them run
// side by side and Close, which takes the write lock, waits for those in
// flight; a call that comes after Close returns ErrClosed. closed is
// atomic as well, so that a buffer can be checked without the lock (a
// buffer of one backend may be an operand of another's call; only a call's
// own backend is locked, so that two backends' locks are never nested).
type state struct {
	mu     sync.RWMutex
	closed atomic.Bool
}

// enter starts a call: ErrClosed after Close; otherwise nil, with the read
// lock held until exit. A call enters once: never from inside another call
// (a nested read lock deadlocks with a Close waiting for the write lock).
func (s *state) enter(call string) error {
	s.mu.RLock()
	if s.closed.Load() {
		s.mu.RUnlock()
		return fmt.Errorf("%w: %s after Close", dropout.ErrClosed, call)
	}
	return nil
}

func (s *state) exit() { s.mu.RUnlock() }

// close marks the backend closed once the calls in flight have finished.
func (s *state) close() {
	s.mu.Lock()
	s.closed.Store(true)
	s.mu.Unlock()
}

// buffer is the Buffer a CPU backend's Alloc returns: host memory (a buffer
// from driver.NewHostBuffer, which reports ErrReleased after Release) that
// knows its backend, so that it reports ErrClosed once that is closed.
// Either CPU backend takes the other's buffers as host memory.
type buffer struct {
	h     dropout.Buffer
	owner *state
}

func (b *buffer) DType() dropout.DType { return b.h.DType() }
func (b *buffer) Len() int             { return b.h.Len() }

// Write copies the host tensor src into the buffer.
func (b *buffer) Write(src dropout.Tensor) error {
	if err := b.live("Write"); err != nil {
		return err
	}
	return b.h.Write(src)
}

// Read copies the buffer into the host tensor dst.
func (b *buffer) Read(dst dropout.Tensor) error {
	if err := b.live("Read"); err != nil {
		return err
	}
	return b.h.Read(dst)
}

// Slice returns a view of elements [off, off+n) of the buffer: host
// memory shared with it, owned by the same backend.
func (b *buffer) Slice(off, n int) (dropout.Buffer, error) {
	if err := b.live("Slice"); err != nil {
		return nil, err
	}
	h, err := b.h.Slice(off, n)
	if err != nil {
		return nil, err
	}
	return &buffer{h: h, owner: b.owner}, nil
}

// Release frees the buffer's memory (to the garbage collector) and makes
// its views unusable; the Release of a view makes only the view unusable.
// It is harmless twice and after the backend's Close.
func (b *buffer) Release() error { return b.h.Release() }

func (b *buffer) live(what string) error {
	if b.owner.closed.Load() {
		return fmt.Errorf("%w: %s of a %v buffer of %d elements", dropout.ErrClosed, what, b.h.DType(), b.h.Len())
	}
	return nil
}

// HostBuffer returns the host buffer (from driver.NewHostBuffer) that b
// wraps, or an error wrapping dropout.ErrClosed once b's backend is
// closed: it makes b a driver.HostMemory, which driver.Host,
// driver.HostOperand and driver.RawBytes see through, so b is host memory
// to every backend (and ErrClosed once its backend is closed).
func (b *buffer) HostBuffer() (dropout.Buffer, error) {
	if err := b.live("use"); err != nil {
		return nil, err
	}
	return b.h, nil
}

// hostLimit reads the memory this process may still allocate (a variable
// for tests).
var hostLimit = memlimit.System

// maxHostBytes bounds one allocation where the memory limit is unknown:
// the Go heap's address space on 64-bit machines (2^48 bytes) less room,
// or the largest int on 32-bit ones.
const maxHostBytes = min(1<<47, math.MaxInt)

// alloc is the Alloc of both CPU backends: a zeroed host buffer of n
// elements of dt owned by s, after checking that the machine and its
// cgroup can give it (ErrOutOfMemory, naming the bytes wanted and
// available, instead of the runtime's fatal out-of-memory error).
func alloc(s *state, dt dropout.DType, n int) (dropout.Buffer, error) {
	if err := s.enter("Alloc"); err != nil {
		return nil, err
	}
	defer s.exit()
	if size := int64(dt.Size()); n > 0 && size > 0 { // else NewHostBuffer reports the error
		what := fmt.Sprintf("Alloc(%v, %d)", dt, n)
		if int64(n) > maxHostBytes/size {
			return nil, fmt.Errorf("%w: %s needs %d × %d bytes, more than one allocation can hold (%s); %s",
				dropout.ErrOutOfMemory, what, n, size, memlimit.Bytes(maxHostBytes), hostLimit())
		}
		if err := hostLimit().Check(dropout.ErrOutOfMemory, what, int64(n)*size); err != nil {
			return nil, err
		}
	}
	h, err := driver.NewHostBuffer(dt, n)
	if err != nil {
		return nil, err
	}
	return &buffer{h: h, owner: s}, nil
}
