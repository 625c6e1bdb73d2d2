package exec

import (
	"fmt"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/internal/memlimit"
)

// minStage is the smallest staging buffer, in bytes.
const minStage = 4 << 10

// reserve accounts for size bytes about to be allocated for what, or
// returns an error wrapping ErrOutOfMemory that names the bytes wanted and
// available. To make room it frees the staging buffers of idle queues, and
// of own (the caller's queue, when they are not in use; may be nil).
func (e *Backend) reserve(own *queue, what string, size int64) error {
	d := e.info
	if d.MaxAlloc > 0 && size > d.MaxAlloc {
		return fmt.Errorf("%w: %s: %s needs %s, but the largest allocation of %s is %s",
			dropout.ErrOutOfMemory, e.name, what, memlimit.Bytes(size), d.Name, memlimit.Bytes(d.MaxAlloc))
	}
	if d.HostMemory {
		limit := memlimit.System
		if d.HostLimit != nil {
			limit = d.HostLimit
		}
		if err := limit().Check(dropout.ErrOutOfMemory, fmt.Sprintf("%s: %s on %s", e.name, what, d.Name), size); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if d.Memory > 0 && size > d.Memory-e.held {
		for _, q := range append(e.idle[:len(e.idle):len(e.idle)], own) {
			if q != nil {
				e.held -= q.freeStaging()
			}
		}
		if free := d.Memory - e.held; size > free {
			return fmt.Errorf("%w: %s: %s needs %s, but only %s of the %s of %s are left (this backend holds %s)",
				dropout.ErrOutOfMemory, e.name, what, memlimit.Bytes(size), memlimit.Bytes(max(free, 0)),
				memlimit.Bytes(d.Memory), d.Name, memlimit.Bytes(e.held))
		}
	}
	e.held += size
	return nil
}

func (e *Backend) unreserve(size int64) {
	e.mu.Lock()
	e.held -= size
	e.mu.Unlock()
}

// alloc returns size bytes of device memory (rounded up to whole words),
// accounted for, and the size allocated.
func (e *Backend) alloc(own *queue, what string, size int64) (Mem, int64, error) {
	size = max(4, roundUp4(size))
	if err := e.reserve(own, what, size); err != nil {
		return nil, 0, err
	}
	m, err := e.dev.Alloc(size)
	if err != nil {
		e.unreserve(size)
		return nil, 0, err
	}
	return m, size, nil
}

// staging returns the queue's staging buffer of role r, grown to at least
// size bytes.
func (q *queue) staging(r role, size int64) (View, error) {
	if q.async {
		return View{}, fmt.Errorf("%w: an asynchronous %s call needs scratch device memory for %s; use a synchronous call", dropout.ErrUnsupported, q.e.name, roleNeeds[r])
	}
	s := &q.stage[r]
	if s.mem == nil || s.size < size {
		if s.mem != nil && q.pending { // the old buffer may still be in use
			if err := q.wait(); err != nil {
				return View{}, err
			}
		}
		q.free(s)
		m, got, err := q.e.alloc(nil, "a staging buffer for host tensors", max(size, minStage))
		if err != nil {
			return View{}, err
		}
		*s = stage{m, got}
	}
	return View{Mem: s.mem}, nil
}

func (q *queue) free(s *stage) {
	if s.mem != nil {
		q.e.dev.Free(s.mem)
		q.e.unreserve(s.size)
		*s = stage{}
	}
}

// freeStaging frees the queue's staging buffers and returns their bytes;
// the caller accounts for them (reserve holds e.mu).
func (q *queue) freeStaging() (n int64) {
	for i := range q.stage {
		if s := &q.stage[i]; s.mem != nil {
			q.e.dev.Free(s.mem)
			n += s.size
			*s = stage{}
		}
	}
	return n
}

// roleNeeds says why a call on device buffers needs a staging buffer of a
// role.
var roleNeeds = [nRoles]string{
	roleX:       "an input off whole 32-bit words (16-bit data on a WordData device)",
	roleY:       "an output off whole 32-bit words (16-bit data on a WordData device)",
	roleMaskIn:  "a mask view off whole 32-bit words",
	roleMaskOut: "a mask view off whole 32-bit words, or the bit mask of a noise shape or region with no mask tensor",
	roleResid:   "a residual off whole 32-bit words (16-bit data on a WordData device)",
	roleBias:    "a bias off whole 32-bit words, or larger than one launch's window",
}
