//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"fmt"
	"sync"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
	"github.com/gpudropout/dropout/internal/memlimit"
)

// memory accounts for the device memory a backend holds (buffers from
// Alloc, scratch and staging buffers), per memory heap, so that an
// allocation beyond a heap is refused with dropout.ErrOutOfMemory before
// the driver is asked: lavapipe, whose device memory is host memory,
// otherwise hands out far more than the heap it reports until the kernel's
// OOM killer ends the process.
type memory struct {
	b    *Backend
	mu   sync.Mutex
	held map[int]uint64 // bytes held, by heap index
	// limit, when non-zero, replaces every heap's size (tests).
	limit uint64
}

func (mm *memory) init(b *Backend) {
	mm.b = b
	mm.held = map[int]uint64{}
}

// heapSize returns the size of heap h as the backend counts it.
func (mm *memory) heapSize(h int) uint64 {
	if mm.limit > 0 {
		return mm.limit
	}
	heaps := mm.b.m.Phys.Heaps
	if h < 0 || h >= len(heaps) {
		return 0
	}
	return heaps[h].Size
}

// reserve accounts for size bytes about to be allocated on heap h for
// what, or returns an error wrapping dropout.ErrOutOfMemory that names the
// bytes wanted and available. It checks, in order: the host memory the
// machine and its cgroups can still give, where the memory is host memory
// (a CPU implementation such as lavapipe, and staging buffers everywhere);
// the heap's size less what this backend holds; and the heap's budget less
// the process's usage (VK_EXT_memory_budget, where the device has it).
// Idle workers' scratch is freed to make room before giving up.
func (mm *memory) reserve(what string, h int, size uint64, kind vkx.Kind) error {
	b := mm.b
	if b.info.Emulated || kind == vkx.Staging {
		where := "host memory"
		if kind != vkx.Staging {
			where = "device memory, which is host memory on " + b.info.Name
		}
		if err := memlimit.System().Check(dropout.ErrOutOfMemory, fmt.Sprintf("vulkan: %s (%s)", what, where), int64(min(size, 1<<62))); err != nil {
			return err
		}
	}
	for trimmed := false; ; trimmed = true {
		err := mm.tryReserve(what, h, size)
		if err == nil || trimmed {
			return err
		}
		// Scratch of idle workers is only a cache: free it and try again.
		if b.pool.trim(b) == 0 {
			return err
		}
	}
}

func (mm *memory) tryReserve(what string, h int, size uint64) error {
	heap := mm.heapSize(h)
	mm.mu.Lock()
	defer mm.mu.Unlock()
	held := mm.held[h]
	if heap > 0 && (size > heap || held > heap-size) {
		free := uint64(0)
		if held < heap {
			free = heap - held
		}
		return fmt.Errorf("%w: vulkan: out of device memory: %s needs %s, but only %s of the %s heap of %s are left (this backend holds %s)",
			dropout.ErrOutOfMemory, what, fmtBytes(size), fmtBytes(free), fmtBytes(heap), mm.b.info.Name, fmtBytes(held))
	}
	if budget, usage, ok := mm.b.m.MemoryBudget(h); ok && mm.limit == 0 && budget > 0 {
		free := uint64(0)
		if usage < budget {
			free = budget - usage
		}
		if size > free {
			return fmt.Errorf("%w: vulkan: out of device memory: %s needs %s, but only %s of the heap's budget of %s on %s are left (VK_EXT_memory_budget; this process uses %s of it)",
				dropout.ErrOutOfMemory, what, fmtBytes(size), fmtBytes(free), fmtBytes(budget), mm.b.info.Name, fmtBytes(usage))
		}
	}
	mm.held[h] = held + size
	return nil
}

// release returns size bytes of heap h.
func (mm *memory) release(h int, size uint64) {
	mm.mu.Lock()
	mm.held[h] -= min(size, mm.held[h])
	mm.mu.Unlock()
}

// heldBytes returns the bytes the backend holds on every heap.
func (mm *memory) heldBytes() uint64 {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	var n uint64
	for _, v := range mm.held {
		n += v
	}
	return n
}

// fmtBytes formats a byte count with its unit and the exact number.
func fmtBytes(n uint64) string { return memlimit.Bytes(int64(min(n, 1<<63-1))) }

// newBuffer allocates a buffer of size bytes of kind for what (named in
// errors), accounted for in b.mem: an error wrapping dropout.ErrOutOfMemory
// when it does not fit.
func (b *Backend) newBuffer(what string, size uint64, kind vkx.Kind) (*vkx.Buffer, error) {
	h := b.m.HeapOf(kind)
	if err := b.mem.reserve(what, h, size, kind); err != nil {
		return nil, err
	}
	buf, err := b.m.NewBuffer(size, kind)
	if err != nil {
		b.mem.release(h, size)
		err = b.wrap(err)
		if isOOM(err) {
			return nil, fmt.Errorf("%w (%s of %s, this backend holding %s)", err, what, fmtBytes(size), fmtBytes(b.mem.heldBytes()))
		}
		return nil, err
	}
	// Account for what the driver allocated, on the heap it came from.
	b.mem.release(h, size)
	b.mem.mu.Lock()
	b.mem.held[buf.Heap] += buf.Bytes
	b.mem.mu.Unlock()
	return buf, nil
}

// freeBuffer destroys a buffer from newBuffer and returns its memory.
func (b *Backend) freeBuffer(buf *vkx.Buffer) {
	if buf == nil || !buf.Alive() {
		return
	}
	h, n := buf.Heap, buf.Bytes
	buf.Destroy()
	b.mem.release(h, n)
}

func isOOM(err error) bool { return errors.Is(err, dropout.ErrOutOfMemory) }
