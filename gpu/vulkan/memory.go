//go:build cgo && !novulkan

package vulkan

import (
	"fmt"
	"sync"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
	"github.com/gpudropout/dropout/internal/memlimit"
)

// heaps account for the memory a device holds, per memory heap: the
// buffers the executor allocates (its Buffers and staging buffers) and the
// queues' staging areas. The executor checks device-local allocations
// against the device's memory and the machine's (Info.Memory, HostMemory);
// what only the device knows is checked here: each heap's own size, with
// staging areas counted where they share a heap with device-local memory
// (lavapipe, integrated GPUs), and the heap's budget (VK_EXT_memory_budget).
type heaps struct {
	mu   sync.Mutex
	held map[int]uint64 // bytes held, by heap index
	// limit, when non-zero, replaces every heap's size (tests).
	limit uint64
}

func (hs *heaps) init(limit uint64) {
	hs.held = map[int]uint64{}
	hs.limit = limit
}

// heapSize returns the size of heap h as the device counts it.
func (d *vkDevice) heapSize(h int) uint64 {
	if d.mem.limit > 0 {
		return d.mem.limit
	}
	heaps := d.m.Phys.Heaps
	if h < 0 || h >= len(heaps) {
		return 0
	}
	return heaps[h].Size
}

// heldBytes returns the bytes the device holds on every heap.
func (d *vkDevice) heldBytes() uint64 {
	d.mem.mu.Lock()
	defer d.mem.mu.Unlock()
	var n uint64
	for _, v := range d.mem.held {
		n += v
	}
	return n
}

// reserve accounts for size bytes of kind about to be allocated on heap h
// for what, or returns an error wrapping dropout.ErrOutOfMemory that names
// the bytes wanted and available. Staging areas are host memory on every
// device, so they are also checked against what the machine and its
// cgroups can still give. Idle queues' staging areas are freed to make
// room before giving up.
func (d *vkDevice) reserve(what string, h int, size uint64, kind vkx.Kind) error {
	if kind == vkx.Staging {
		if err := memlimit.System().Check(dropout.ErrOutOfMemory, fmt.Sprintf("vulkan: %s (host memory)", what), int64(min(size, 1<<62))); err != nil {
			return err
		}
	}
	err := d.tryReserve(what, h, size)
	if err != nil && d.trim() > 0 {
		err = d.tryReserve(what, h, size)
	}
	return err
}

func (d *vkDevice) tryReserve(what string, h int, size uint64) error {
	heap := d.heapSize(h)
	d.mem.mu.Lock()
	defer d.mem.mu.Unlock()
	held := d.mem.held[h]
	if heap > 0 && (size > heap || held > heap-size) {
		free := uint64(0)
		if held < heap {
			free = heap - held
		}
		return fmt.Errorf("%w: vulkan: out of device memory: %s needs %s, but only %s of the %s heap of %s are left (this backend holds %s)",
			dropout.ErrOutOfMemory, what, fmtBytes(size), fmtBytes(free), fmtBytes(heap), d.info.Name, fmtBytes(held))
	}
	if budget, usage, ok := d.m.MemoryBudget(h); ok && d.mem.limit == 0 && budget > 0 {
		free := uint64(0)
		if usage < budget {
			free = budget - usage
		}
		if size > free {
			return fmt.Errorf("%w: vulkan: out of device memory: %s needs %s, but only %s of the heap's budget of %s on %s are left (VK_EXT_memory_budget; this process uses %s of it)",
				dropout.ErrOutOfMemory, what, fmtBytes(size), fmtBytes(free), fmtBytes(budget), d.info.Name, fmtBytes(usage))
		}
	}
	d.mem.held[h] = held + size
	return nil
}

// release returns size bytes of heap h.
func (d *vkDevice) release(h int, size uint64) {
	d.mem.mu.Lock()
	d.mem.held[h] -= min(size, d.mem.held[h])
	d.mem.mu.Unlock()
}

// newBuffer allocates a buffer of size bytes of kind for what (named in
// errors), accounted for on its heap: an error wrapping
// dropout.ErrOutOfMemory when it does not fit or the driver refuses.
func (d *vkDevice) newBuffer(what string, size uint64, kind vkx.Kind) (*vkx.Buffer, error) {
	h := d.m.HeapOf(kind)
	if err := d.reserve(what, h, size, kind); err != nil {
		return nil, err
	}
	buf, err := d.m.NewBuffer(size, kind)
	if err != nil {
		d.release(h, size)
		return nil, fmt.Errorf("%w (%s of %s, this backend holding %s)", err, what, fmtBytes(size), fmtBytes(d.heldBytes()))
	}
	// Account for what the driver allocated, on the heap it came from.
	d.mem.mu.Lock()
	d.mem.held[h] -= size
	d.mem.held[buf.Heap] += buf.Bytes
	d.mem.mu.Unlock()
	return buf, nil
}

// freeBuffer destroys a buffer from newBuffer and returns its memory.
func (d *vkDevice) freeBuffer(buf *vkx.Buffer) {
	if buf == nil || !buf.Alive() {
		return
	}
	h, n := buf.Heap, buf.Bytes
	buf.Destroy()
	d.release(h, n)
}

// fmtBytes formats a byte count with its unit and the exact number.
func fmtBytes(n uint64) string { return memlimit.Bytes(int64(min(n, 1<<63-1))) }
