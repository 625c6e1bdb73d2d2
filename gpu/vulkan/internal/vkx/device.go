//go:build cgo && !novulkan

package vkx

import (
	vk "github.com/vulkan-go/vulkan"
)

// Manager owns a logical device with one compute queue on a physical device
// of an instance. It is the Kompute "manager": algorithms, buffers and
// sequences are made from it and must be destroyed before it.
type Manager struct {
	Phys   PhysicalDevice
	dev    vk.Device
	queue  vk.Queue
	family uint32
}

// NewManager creates a logical device on phys with one compute queue, and
// shaderFloat64 enabled where phys has it.
func NewManager(phys PhysicalDevice) (*Manager, error) {
	m := &Manager{Phys: phys, family: uint32(phys.family)}
	dev, r := createDevice(phys.h, m.family, phys.Float64)
	if err := check("vkCreateDevice", r); err != nil {
		return nil, err
	}
	var q vk.Queue
	vk.GetDeviceQueue(dev, m.family, 0, &q)
	m.dev, m.queue = dev, q
	return m, nil
}

// WaitIdle waits for the device to finish all work (used only before
// destroying it).
func (m *Manager) WaitIdle() error {
	return check("vkDeviceWaitIdle", vk.DeviceWaitIdle(m.dev))
}

// Destroy destroys the logical device.
func (m *Manager) Destroy() {
	if m == nil || m.dev == nil {
		return
	}
	vk.DestroyDevice(m.dev, nil)
	m.dev = nil
}
