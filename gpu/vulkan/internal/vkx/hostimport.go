//go:build cgo && !novulkan

package vkx

import (
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// ExtExternalMemoryHost is the device extension that imports host memory
// as device memory.
const ExtExternalMemoryHost = "VK_EXT_external_memory_host"

// HostImport reports whether ImportHost works: VK_EXT_external_memory_host
// is enabled on the device.
func (m *Manager) HostImport() bool { return m.hostImport }

// ImportHost returns a storage buffer (also a transfer source and
// destination) whose bytes are b, in place: its memory is the host memory
// of b imported with VK_EXT_external_memory_host, no copy. b must start on
// a multiple of minAlign bytes, a power of two no smaller than the
// buffer's memory alignment (else an error), and stay where it is and
// alive (runtime.Pinner) until the buffer is destroyed.
//
// An import covers whole pages of the device's import alignment
// (PhysicalDevice.HostImportAlign): [floor(b), ceil(b+size)), so it spans
// bytes of the neighbouring Go objects; the buffer is bound to it at b's
// offset in it, so that the buffer's byte 0 is b[0] and its size len(b),
// and commands only touch what their descriptor ranges and copies name.
// What commands write to it is visible to the host after the Submit that
// ran them (Submit ends with a barrier to host reads).
func (m *Manager) ImportHost(b []byte, minAlign uint64) (*Buffer, error) {
	if !m.hostImport {
		return nil, fmt.Errorf("vkx: %s is not enabled on the device", ExtExternalMemoryHost)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("vkx: importing zero bytes of host memory")
	}
	addr := uintptr(unsafe.Pointer(&b[0]))
	usage := vk.BufferUsageFlags(vk.BufferUsageStorageBufferBit | vk.BufferUsageTransferSrcBit | vk.BufferUsageTransferDstBit)
	h, req, r := createBuffer(m.dev, uint64(len(b)), usage, handleHostAllocation)
	if err := check("vkCreateBuffer", r); err != nil {
		return nil, err
	}
	buf := &Buffer{id: bufferIDs.Add(1), m: m, h: h, Size: uint64(len(b)), Heap: -1, imported: true}
	fail := func(err error) (*Buffer, error) {
		buf.Destroy()
		return nil, err
	}
	page := m.Phys.HostImportAlign
	start := addr &^ uintptr(page-1)
	off := uint64(addr - start)
	if req.align == 0 || req.align&(req.align-1) != 0 || req.align > minAlign || uint64(addr)%minAlign != 0 {
		return fail(fmt.Errorf("vkx: host memory at %#x imported at an offset the buffer's memory alignment (%d) may not allow (alignment %d)", addr, req.align, minAlign))
	}
	size := (off + max(req.size, uint64(len(b))) + page - 1) / page * page
	bits, r := hostPointerTypes(m.dev, start)
	if err := check("vkGetMemoryHostPointerPropertiesEXT", r); err != nil {
		return fail(err)
	}
	typ := -1
	for _, w := range wanted(HostStorage) {
		if typ = m.memoryType(bits&req.bits, w); typ >= 0 {
			break
		}
	}
	if typ < 0 {
		typ = m.memoryType(bits&req.bits, 0)
	}
	if typ < 0 {
		return fail(fmt.Errorf("vkx: no memory type to import host memory as a buffer (buffer types %#x, host pointer types %#x)", req.bits, bits))
	}
	mem, r := importHost(m.dev, start, size, uint32(typ))
	if err := check("vkAllocateMemory (VkImportMemoryHostPointerInfoEXT)", r); err != nil {
		return fail(err)
	}
	buf.mem, buf.Bytes, buf.Heap = mem, size, m.Phys.memTypes[typ].heap
	if err := check("vkBindBufferMemory", vk.BindBufferMemory(m.dev, buf.h, buf.mem, vk.DeviceSize(off))); err != nil {
		return fail(err)
	}
	return buf, nil
}
