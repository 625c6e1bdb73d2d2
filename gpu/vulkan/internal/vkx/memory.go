//go:build cgo && !novulkan

package vkx

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Buffer is a VkBuffer with its own memory: a device-local storage buffer,
// or a host-visible, persistently mapped staging buffer; or, from
// WrapBuffer, a VkBuffer someone else owns.
type Buffer struct {
	id    uint64 // unique in the process, never reused: the key of cached descriptor sets
	m     *Manager
	h     vk.Buffer
	mem   vk.DeviceMemory
	Size  uint64 // bytes
	Bytes uint64 // bytes of memory allocated for it (at least Size)
	Heap  int    // the heap its memory comes from
	host  []byte // the mapping of a staging buffer
	// imported: host memory imported in place (ImportHost), which the host
	// reads once the commands that write it are done
	imported bool
	// foreign: a buffer of WrapBuffer, which Destroy only forgets
	foreign bool
}

// bufferIDs numbers buffers (Buffer.id).
var bufferIDs atomic.Uint64

// Kind says where a buffer lives.
type Kind int

// The buffer kinds.
const (
	DeviceLocal Kind = iota // storage and transfer source/destination, device-local memory
	Staging                 // transfer source/destination, host-visible coherent memory, mapped
	HostStorage             // storage and transfer source/destination, host-visible coherent memory, mapped
)

// wanted returns the memory properties a buffer of kind k asks for, best first.
func wanted(k Kind) []vk.MemoryPropertyFlags {
	if k == DeviceLocal {
		return []vk.MemoryPropertyFlags{vk.MemoryPropertyFlags(vk.MemoryPropertyDeviceLocalBit), 0}
	}
	hv := vk.MemoryPropertyFlags(vk.MemoryPropertyHostVisibleBit | vk.MemoryPropertyHostCoherentBit) // Staging, HostStorage
	return []vk.MemoryPropertyFlags{hv | vk.MemoryPropertyFlags(vk.MemoryPropertyHostCachedBit), hv}
}

// chooseType returns the memory type for a buffer of kind k among the
// types in bits, or -1.
func (m *Manager) chooseType(bits uint32, k Kind) int {
	for _, w := range wanted(k) {
		if typ := m.memoryType(bits, w); typ >= 0 {
			return typ
		}
	}
	return -1
}

// NewBuffer allocates a buffer of size bytes (size > 0). Out of memory is a
// *ResultError that wraps dropout.ErrOutOfMemory.
func (m *Manager) NewBuffer(size uint64, kind Kind) (*Buffer, error) {
	if size == 0 {
		return nil, fmt.Errorf("vkx: zero-sized buffer")
	}
	usage := vk.BufferUsageFlags(vk.BufferUsageTransferSrcBit | vk.BufferUsageTransferDstBit)
	if kind != Staging {
		usage |= vk.BufferUsageFlags(vk.BufferUsageStorageBufferBit)
	}
	// calls.go creates the buffer and allocates its memory: vulkan-go's
	// versions of these calls leak the C copies of their structs.
	h, req, r := createBuffer(m.dev, size, usage, 0)
	if err := check("vkCreateBuffer", r); err != nil {
		return nil, err
	}
	b := &Buffer{id: bufferIDs.Add(1), m: m, h: h, Size: size, Bytes: req.size}
	typ := m.chooseType(req.bits, kind)
	if typ < 0 {
		vk.DestroyBuffer(m.dev, b.h, nil)
		return nil, fmt.Errorf("vkx: no memory type for a %d-byte buffer (type bits %#x)", size, req.bits)
	}
	b.Heap = m.Phys.memTypes[typ].heap
	mem, r := allocateMemory(m.dev, req.size, uint32(typ))
	if err := check("vkAllocateMemory", r); err != nil {
		vk.DestroyBuffer(m.dev, b.h, nil)
		return nil, err
	}
	b.mem = mem
	if err := check("vkBindBufferMemory", vk.BindBufferMemory(m.dev, b.h, b.mem, 0)); err != nil {
		b.Destroy()
		return nil, err
	}
	if kind != DeviceLocal {
		var p unsafe.Pointer
		if err := check("vkMapMemory", vk.MapMemory(m.dev, b.mem, 0, vk.DeviceSize(vk.WholeSize), 0, &p)); err != nil {
			b.Destroy()
			return nil, err
		}
		b.host = unsafe.Slice((*byte)(p), size)
	}
	return b, nil
}

// memoryType returns the first memory type in bits with all of flags, or -1.
func (m *Manager) memoryType(bits uint32, flags vk.MemoryPropertyFlags) int {
	for i, t := range m.Phys.memTypes {
		if i < 32 && bits&(1<<i) != 0 && t.flags&flags == flags {
			return i
		}
	}
	return -1
}

// Host returns the mapped bytes of a staging buffer (nil for a device-local one).
func (b *Buffer) Host() []byte { return b.host }

// WrapBuffer returns a Buffer over h, a VkBuffer of size bytes made on
// m's device by someone else: Destroy forgets it without destroying it.
// The buffer must have been created with the storage-buffer and
// transfer-source and destination usages.
func (m *Manager) WrapBuffer(h vk.Buffer, size uint64) *Buffer {
	return &Buffer{id: bufferIDs.Add(1), m: m, h: h, Size: size, Heap: -1, foreign: true}
}

// Handle returns the VkBuffer (nil once destroyed).
func (b *Buffer) Handle() vk.Buffer { return b.h }

// Destroy frees the buffer and its memory (a wrapped buffer is only
// forgotten). Destroying twice is harmless.
func (b *Buffer) Destroy() {
	if b == nil || b.h == nil {
		return
	}
	if b.foreign {
		b.h = nil
		return
	}
	if b.host != nil {
		vk.UnmapMemory(b.m.dev, b.mem)
		b.host = nil
	}
	vk.DestroyBuffer(b.m.dev, b.h, nil)
	vk.FreeMemory(b.m.dev, b.mem, nil)
	b.h = nil
}

// Alive reports whether the buffer has not been destroyed.
func (b *Buffer) Alive() bool { return b != nil && b.h != nil }
