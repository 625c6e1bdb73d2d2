//go:build cgo && !novulkan

package vkx

import (
	"sync"

	vk "github.com/vulkan-go/vulkan"
)

// Manager owns a logical device with one compute queue on a physical device
// of an instance. It is the Kompute "manager": algorithms, buffers and
// sequences are made from it and must be destroyed before it.
//
// A Manager is safe for concurrent use: creating and destroying buffers,
// algorithms and sequences needs no lock (Vulkan synchronizes the device
// for those), and the one queue, which Vulkan requires callers to
// synchronize, is used under a mutex (Sequence.Submit, WaitIdle).
type Manager struct {
	Phys   PhysicalDevice
	dev    vk.Device
	queue  vk.Queue
	family uint32
	qmu    sync.Mutex // vkQueueSubmit and vkDeviceWaitIdle
	// foreign: a device of NewManagerOn, which the Manager does not own
	foreign bool
	// hostImport: VK_EXT_external_memory_host is enabled (ImportHost)
	hostImport bool
}

// NewManager creates a logical device on phys with one compute queue,
// shaderFloat64 enabled where phys has it, and VK_EXT_memory_budget and
// VK_EXT_external_memory_host where phys has them.
func NewManager(phys PhysicalDevice) (*Manager, error) {
	m := &Manager{Phys: phys, family: uint32(phys.family)}
	var exts []string
	if phys.Budget {
		exts = append(exts, ExtMemoryBudget)
	}
	if phys.HostImportAlign > 0 {
		exts = append(exts, ExtExternalMemoryHost)
	}
	dev, r := createDevice(phys.h, m.family, phys.Float64, exts)
	if err := check("vkCreateDevice", r); err != nil {
		return nil, err
	}
	var q vk.Queue
	vk.GetDeviceQueue(dev, m.family, 0, &q)
	m.dev, m.queue = dev, q
	m.hostImport = phys.HostImportAlign > 0
	return m, nil
}

// WaitIdle waits for the device to finish all work (used only before
// destroying it). On a device of NewManagerOn it does nothing:
// vkDeviceWaitIdle would need every queue of the device, the owner's
// included, externally synchronized.
func (m *Manager) WaitIdle() error {
	if m.foreign {
		return nil
	}
	m.qmu.Lock()
	defer m.qmu.Unlock()
	return check("vkDeviceWaitIdle", vk.DeviceWaitIdle(m.dev))
}

// HeapOf returns the heap that buffers of kind k are allocated from, or
// -1 if the device has no memory type for them.
func (m *Manager) HeapOf(k Kind) int {
	bits := ^uint32(0)
	if typ := m.chooseType(bits, k); typ >= 0 {
		return m.Phys.memTypes[typ].heap
	}
	return -1
}

// MemoryBudget returns the budget of heap i and this process's usage of
// it (VK_EXT_memory_budget), or ok false where the device cannot say.
func (m *Manager) MemoryBudget(i int) (budget, usage uint64, ok bool) {
	if !m.Phys.Budget {
		return 0, 0, false
	}
	return memoryBudget(m.Phys.h, i)
}

// Destroy destroys the logical device (not one of NewManagerOn).
func (m *Manager) Destroy() {
	if m == nil || m.dev == nil {
		return
	}
	if !m.foreign {
		vk.DestroyDevice(m.dev, nil)
	}
	m.dev = nil
}
