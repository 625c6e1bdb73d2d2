//go:build cgo && !novulkan

package vkx

import (
	"fmt"

	vk "github.com/vulkan-go/vulkan"
)

// NewManagerOn returns a Manager over a logical device someone else
// created: dev on the physical device phys of the instance inst, with the
// queue queue of the queue family family. The Manager does not own them:
// Destroy and WaitIdle leave the device alone. f64 says whether the device
// was created with shaderFloat64 enabled (Vulkan cannot tell). The queue
// family must have compute.
func NewManagerOn(inst vk.Instance, phys vk.PhysicalDevice, dev vk.Device, family uint32, queue vk.Queue, f64 bool) (*Manager, error) {
	if inst == nil || phys == nil || dev == nil || queue == nil {
		return nil, fmt.Errorf("vkx: a nil instance, physical device, device or queue")
	}
	if err := Load(); err != nil {
		return nil, err
	}
	if err := initInstance(inst); err != nil {
		return nil, err
	}
	d := describe(inst, phys)
	qs := queueFamilies(phys)
	if int(family) >= len(qs) {
		return nil, fmt.Errorf("vkx: queue family %d of a device with %d", family, len(qs))
	}
	if qs[family].flags&vk.QueueFlags(vk.QueueComputeBit) == 0 {
		return nil, fmt.Errorf("vkx: queue family %d has no compute (VK_QUEUE_COMPUTE_BIT)", family)
	}
	d.family = int(family)
	d.Float64 = d.Float64 && f64
	d.Budget = false      // the extension may not be enabled on dev
	d.HostImportAlign = 0 // nor this one
	return &Manager{Phys: d, dev: dev, queue: queue, family: family, foreign: true}, nil
}

// Handle returns the VkInstance.
func (in *Instance) Handle() vk.Instance { return in.h }

// Handle returns the VkPhysicalDevice.
func (d PhysicalDevice) Handle() vk.PhysicalDevice { return d.h }

// QueueFamily returns the queue family with compute that NewManager uses.
func (d PhysicalDevice) QueueFamily() uint32 { return uint32(d.family) }

// Device returns the VkDevice.
func (m *Manager) Device() vk.Device { return m.dev }

// Queue returns the compute queue and its family.
func (m *Manager) Queue() (vk.Queue, uint32) { return m.queue, m.family }

// Commands is a command pool with one primary command buffer and a fence,
// for a program's own recording (Submission is the library's).
type Commands struct {
	m     *Manager
	Pool  vk.CommandPool
	Cmd   vk.CommandBuffer
	Fence vk.Fence
}

// NewCommands creates a command pool of m's queue family whose buffers
// can be reset, a primary command buffer and an unsignalled fence.
func (m *Manager) NewCommands() (*Commands, error) {
	pool, cmd, fence, op, r := createCommands(m.dev, m.family)
	c := &Commands{m: m, Pool: pool, Cmd: cmd, Fence: fence}
	if err := check(op, r); err != nil {
		c.Destroy()
		return nil, err
	}
	return c, nil
}

// Destroy destroys the fence and the pool (and with it the command
// buffer); nothing submitted may be pending.
func (c *Commands) Destroy() {
	if c == nil || c.m == nil {
		return
	}
	if c.Fence != nil {
		vk.DestroyFence(c.m.dev, c.Fence, nil)
	}
	if c.Pool != nil {
		vk.DestroyCommandPool(c.m.dev, c.Pool, nil)
	}
	c.m = nil
}

// Begin begins recording the command buffer for one submission.
func (c *Commands) Begin() error {
	return check("vkBeginCommandBuffer", beginCommandBuffer(c.Cmd, vk.CommandBufferUsageFlags(vk.CommandBufferUsageOneTimeSubmitBit)))
}

// Submit ends recording and submits the command buffer to the queue with
// the fence, under the Manager's queue mutex.
func (c *Commands) Submit() error {
	if err := check("vkEndCommandBuffer", vk.EndCommandBuffer(c.Cmd)); err != nil {
		return err
	}
	return c.m.submit(c.Cmd, c.Fence)
}

// Wait waits for the fence, then resets it and the command buffer.
func (c *Commands) Wait() error {
	if err := c.m.waitFence(c.Fence); err != nil {
		return err
	}
	if err := check("vkResetFences", vk.ResetFences(c.m.dev, 1, []vk.Fence{c.Fence})); err != nil {
		return err
	}
	return check("vkResetCommandBuffer", vk.ResetCommandBuffer(c.Cmd, 0))
}

// submit submits cmd to the queue with fence, under the queue mutex.
func (m *Manager) submit(cmd vk.CommandBuffer, fence vk.Fence) error {
	m.qmu.Lock()
	r := queueSubmit(m.queue, cmd, fence)
	m.qmu.Unlock()
	return check("vkQueueSubmit", r)
}

// waitFence waits until fence is signalled.
func (m *Manager) waitFence(fence vk.Fence) error {
	fences := []vk.Fence{fence}
	for {
		r := vk.WaitForFences(m.dev, 1, fences, vk.True, 10_000_000_000)
		if r != vk.Timeout {
			return check("vkWaitForFences", r)
		}
	}
}

// Memory access scopes for CmdBarrier.
const (
	StagesCompute  = vk.PipelineStageFlags(vk.PipelineStageComputeShaderBit)
	StagesTransfer = vk.PipelineStageFlags(vk.PipelineStageTransferBit)
	StagesHost     = vk.PipelineStageFlags(vk.PipelineStageHostBit)
)

// CmdBarrier records a global memory barrier (vkCmdPipelineBarrier with
// one VkMemoryBarrier) from the stages src and accesses srcAccess to the
// stages dst and accesses dstAccess.
func CmdBarrier(cmd vk.CommandBuffer, src, dst vk.PipelineStageFlags, srcAccess, dstAccess vk.AccessFlags) {
	cmdBarrier(cmd, src, dst, srcAccess, dstAccess)
}

// Pipeline returns the VkPipeline of the algorithm.
func (a *Algorithm) Pipeline() vk.Pipeline { return a.pipe }

// Handle returns the VkPipelineLayout of the layout.
func (l *Layout) Handle() vk.PipelineLayout { return l.pipe }
