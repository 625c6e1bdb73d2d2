//go:build cgo && !novulkan

package vkx

import (
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Buffer is a VkBuffer with its own memory: a device-local storage buffer,
// or a host-visible, persistently mapped staging buffer.
type Buffer struct {
	m    *Manager
	h    vk.Buffer
	mem  vk.DeviceMemory
	Size uint64 // bytes
	host []byte // the mapping of a staging buffer
}

// Kind says where a buffer lives.
type Kind int

// The buffer kinds.
const (
	DeviceLocal Kind = iota // storage and transfer source/destination, device-local memory
	Staging                 // transfer source/destination, host-visible coherent memory, mapped
)

// NewBuffer allocates a buffer of size bytes (size > 0). Out of memory is a
// *ResultError whose OutOfMemory method reports true.
func (m *Manager) NewBuffer(size uint64, kind Kind) (*Buffer, error) {
	if size == 0 {
		return nil, fmt.Errorf("vkx: zero-sized buffer")
	}
	usage := vk.BufferUsageFlags(vk.BufferUsageTransferSrcBit | vk.BufferUsageTransferDstBit)
	if kind == DeviceLocal {
		usage |= vk.BufferUsageFlags(vk.BufferUsageStorageBufferBit)
	}
	info := vk.BufferCreateInfo{
		SType:       vk.StructureTypeBufferCreateInfo,
		Size:        vk.DeviceSize(size),
		Usage:       usage,
		SharingMode: vk.SharingModeExclusive,
	}
	b := &Buffer{m: m, Size: size}
	var h vk.Buffer
	if err := check("vkCreateBuffer", vk.CreateBuffer(m.dev, &info, nil, &h)); err != nil {
		return nil, err
	}
	b.h = h
	var req vk.MemoryRequirements
	vk.GetBufferMemoryRequirements(m.dev, b.h, &req)
	req.Deref()
	var want []vk.MemoryPropertyFlags
	if kind == DeviceLocal {
		want = []vk.MemoryPropertyFlags{vk.MemoryPropertyFlags(vk.MemoryPropertyDeviceLocalBit), 0}
	} else {
		hv := vk.MemoryPropertyFlags(vk.MemoryPropertyHostVisibleBit | vk.MemoryPropertyHostCoherentBit)
		want = []vk.MemoryPropertyFlags{hv | vk.MemoryPropertyFlags(vk.MemoryPropertyHostCachedBit), hv}
	}
	typ := -1
	for _, w := range want {
		if typ = m.memoryType(req.MemoryTypeBits, w); typ >= 0 {
			break
		}
	}
	if typ < 0 {
		vk.DestroyBuffer(m.dev, b.h, nil)
		return nil, fmt.Errorf("vkx: no memory type for a %d-byte buffer (type bits %#x)", size, req.MemoryTypeBits)
	}
	alloc := vk.MemoryAllocateInfo{
		SType:           vk.StructureTypeMemoryAllocateInfo,
		AllocationSize:  req.Size,
		MemoryTypeIndex: uint32(typ),
	}
	var mem vk.DeviceMemory
	if err := check("vkAllocateMemory", vk.AllocateMemory(m.dev, &alloc, nil, &mem)); err != nil {
		vk.DestroyBuffer(m.dev, b.h, nil)
		return nil, err
	}
	b.mem = mem
	if err := check("vkBindBufferMemory", vk.BindBufferMemory(m.dev, b.h, b.mem, 0)); err != nil {
		b.Destroy()
		return nil, err
	}
	if kind == Staging {
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
	mp := &m.Phys.memProps
	for i := uint32(0); i < mp.MemoryTypeCount; i++ {
		if bits&(1<<i) != 0 && mp.MemoryTypes[i].PropertyFlags&flags == flags {
			return int(i)
		}
	}
	return -1
}

// Host returns the mapped bytes of a staging buffer (nil for a device-local one).
func (b *Buffer) Host() []byte { return b.host }

// Destroy frees the buffer and its memory. Destroying twice is harmless.
func (b *Buffer) Destroy() {
	if b == nil || b.h == nil {
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
