package exec

import (
	"fmt"

	"github.com/gpudropout/dropout"
)

// The asynchronous calls queue a call's commands on a Queue the device
// made over a caller's own queue or command buffer, and return without
// waiting for them: the caller orders them with its own work (an in-order
// OpenCL queue and events, Vulkan barriers) and waits when it needs the
// results. They validate as the synchronous calls do. Every tensor must be
// a Buffer of the backend (host tensors are ErrUnsupported: nothing is
// staged), and a call that would need scratch device memory (a noise shape
// or a region whose mask is not one run of the stream with no mask tensor,
// a mask view off whole 32-bit words, 16-bit data off whole words on a
// WordData device) is ErrUnsupported, naming why. Buffers are pinned only
// while the commands are queued: what a Release does to memory that
// queued work still uses is the device's rule (an OpenCL implementation
// frees it once the commands complete; a Vulkan caller must wait first).
// On an error, commands queued before it stay queued.
//
// One goroutine at a time may use q; calls on other queues of the backend
// run side by side. Close waits for calls that are queueing, not for the
// device work they queued. They are functions, not methods, as Do is.

// ForwardOn queues Forward on q.
func ForwardOn(e *Backend, q Queue, dst, x, mask dropout.Tensor, p dropout.Params) error {
	return e.on(q, func(aq *queue) error { return aq.run(dst, x, nil, nil, mask, p, false, false) })
}

// BackwardOn queues Backward on q.
func BackwardOn(e *Backend, q Queue, dx, dy, mask dropout.Tensor, p dropout.Params) error {
	return e.on(q, func(aq *queue) error { return aq.run(dx, dy, nil, nil, mask, p, true, false) })
}

// ForwardFusedOn queues ForwardFused on q.
func ForwardFusedOn(e *Backend, q Queue, dst, x, bias, residual, mask dropout.Tensor, p dropout.Params) error {
	return e.on(q, func(aq *queue) error { return aq.run(dst, x, bias, residual, mask, p, false, true) })
}

// CopyOn queues Copy on q: between two buffers of e.
func CopyOn(e *Backend, q Queue, dst, src dropout.Tensor) error {
	return e.on(q, func(aq *queue) error { return aq.copyCall(dst, src) })
}

// on runs f on an asynchronous queue over q, counted as a call in flight
// so that Close waits for it.
func (e *Backend) on(q Queue, f func(*queue) error) error {
	if q == nil {
		return fmt.Errorf("%w: an asynchronous %s call on no queue", dropout.ErrUnsupported, e.name)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return fmt.Errorf("%w: %s", dropout.ErrClosed, e.name)
	}
	e.active++
	e.mu.Unlock()
	aq := &queue{q: q, e: e, async: true}
	defer func() {
		for _, u := range aq.pinned {
			u.unpin()
		}
		e.mu.Lock()
		e.active--
		e.cond.Broadcast()
		e.mu.Unlock()
	}()
	return f(aq)
}
