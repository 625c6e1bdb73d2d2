//go:build cgo && !novulkan

package vkx

import (
	"errors"
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// SetsPerSubmit is how many descriptor sets one submission may use; a
// caller that needs more submits and begins again (ErrSetsFull).
const SetsPerSubmit = 64

// ErrSetsFull reports that the sequence's descriptor pool is used up until
// the next Submit.
var ErrSetsFull = errors.New("vkx: descriptor sets of this submission used up")

// Sequence records commands into one command buffer, submits them to the
// compute queue and waits on a fence: the Kompute "sequence". The
// descriptor sets it hands out live until the next Submit. A Sequence is
// for one goroutine at a time (its command pool and descriptor pool are
// externally synchronized objects); sequences of one Manager may be used
// concurrently, their submissions serialized on the queue.
type Sequence struct {
	m       *Manager
	l       *Layout
	pool    vk.CommandPool
	cmd     vk.CommandBuffer
	fence   vk.Fence
	dpool   vk.DescriptorPool
	sets    int
	started bool
}

// Range is a part of a buffer bound to one binding.
type Range struct {
	Buf          *Buffer
	Offset, Size uint64
}

// NewSequence creates a command pool with one command buffer, a fence and
// a descriptor pool for the layout l.
func (m *Manager) NewSequence(l *Layout) (*Sequence, error) {
	s := &Sequence{m: m, l: l}
	// calls.go makes the pool, command buffer and fence: vulkan-go's
	// versions of these calls leak the C copies of their create infos.
	pool, cmd, fence, op, r := createCommands(m.dev, m.family)
	s.pool, s.cmd, s.fence = pool, cmd, fence
	if err := check(op, r); err != nil {
		s.Destroy()
		return nil, err
	}
	dpool, r := createDescriptorPool(m.dev, SetsPerSubmit, SetsPerSubmit*Bindings)
	if err := check("vkCreateDescriptorPool", r); err != nil {
		s.Destroy()
		return nil, err
	}
	s.dpool = dpool
	return s, nil
}

// Destroy destroys the sequence's objects; no submission may be pending.
func (s *Sequence) Destroy() {
	if s == nil || s.m == nil {
		return
	}
	dev := s.m.dev
	if s.dpool != nil {
		vk.DestroyDescriptorPool(dev, s.dpool, nil)
	}
	if s.fence != nil {
		vk.DestroyFence(dev, s.fence, nil)
	}
	if s.pool != nil {
		vk.DestroyCommandPool(dev, s.pool, nil) // frees the command buffer
	}
	s.m = nil
}

// begin starts recording if it has not started.
func (s *Sequence) begin() error {
	if s.started {
		return nil
	}
	if err := check("vkBeginCommandBuffer", beginCommandBuffer(s.cmd, vk.CommandBufferUsageFlags(vk.CommandBufferUsageOneTimeSubmitBit))); err != nil {
		return err
	}
	s.started = true
	// Work of earlier submissions is complete (their fences were waited
	// on), but its writes still need a memory dependency on this one's.
	s.Barrier()
	return nil
}

// Set is a descriptor set of the sequence's current submission.
type Set struct{ h vk.DescriptorSet }

// Bind returns a descriptor set with binding i set to r[i]. Ranges with a
// nil buffer are left unwritten (the shader must not use them). It returns
// ErrSetsFull when the submission has used SetsPerSubmit sets.
func (s *Sequence) Bind(r [Bindings]Range) (Set, error) {
	if s.sets >= SetsPerSubmit {
		return Set{}, ErrSetsFull
	}
	for i, rg := range r {
		if rg.Buf != nil && !rg.Buf.Alive() {
			return Set{}, fmt.Errorf("vkx: binding %d: buffer destroyed", i)
		}
	}
	set, res := bindSet(s.m.dev, s.dpool, s.l.set, r)
	if err := check("vkAllocateDescriptorSets", res); err != nil {
		return Set{}, err
	}
	s.sets++
	return Set{set}, nil
}

// Dispatch records the algorithm over invocations invocations (rounded up
// to whole work groups, spread over x and y) with the push constants pc.
func (s *Sequence) Dispatch(a *Algorithm, set Set, pc *[PushWords]uint32, invocations uint64) error {
	if invocations == 0 {
		return nil
	}
	gx, gy, err := s.m.Grid(invocations)
	if err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	vk.CmdBindPipeline(s.cmd, vk.PipelineBindPointCompute, a.pipe)
	vk.CmdBindDescriptorSets(s.cmd, vk.PipelineBindPointCompute, s.l.pipe, 0, 1, []vk.DescriptorSet{set.h}, 0, nil)
	vk.CmdPushConstants(s.cmd, s.l.pipe, vk.ShaderStageFlags(vk.ShaderStageComputeBit), 0, PushSize, unsafe.Pointer(&pc[0]))
	vk.CmdDispatch(s.cmd, gx, gy, 1)
	return nil
}

// Grid returns the work-group grid (x, y) for invocations invocations.
func (m *Manager) Grid(invocations uint64) (gx, gy uint32, err error) {
	groups := (invocations + WorkGroup - 1) / WorkGroup
	maxX, maxY := uint64(m.Phys.Limits.MaxWorkGroupCount[0]), uint64(m.Phys.Limits.MaxWorkGroupCount[1])
	x := min(groups, maxX)
	y := (groups + x - 1) / x
	if y > maxY {
		return 0, 0, fmt.Errorf("vkx: %d invocations exceed the device's work-group grid", invocations)
	}
	return uint32(x), uint32(y), nil
}

// MaxInvocations returns the most invocations one Dispatch can run.
func (m *Manager) MaxInvocations() uint64 {
	return uint64(m.Phys.Limits.MaxWorkGroupCount[0]) * uint64(m.Phys.Limits.MaxWorkGroupCount[1]) * WorkGroup
}

// Copy records a copy of size bytes from src at srcOff to dst at dstOff.
func (s *Sequence) Copy(dst *Buffer, dstOff uint64, src *Buffer, srcOff, size uint64) error {
	if size == 0 {
		return nil
	}
	if !dst.Alive() || !src.Alive() {
		return fmt.Errorf("vkx: copy with a destroyed buffer")
	}
	if err := s.begin(); err != nil {
		return err
	}
	cmdCopy(s.cmd, src.h, dst.h, srcOff, dstOff, size)
	return nil
}

// Fill records filling size bytes (a multiple of 4) of dst at off with the word v.
func (s *Sequence) Fill(dst *Buffer, off, size uint64, v uint32) error {
	if size == 0 {
		return nil
	}
	if err := s.begin(); err != nil {
		return err
	}
	vk.CmdFillBuffer(s.cmd, dst.h, vk.DeviceSize(off), vk.DeviceSize(size), v)
	return nil
}

// Barrier records a global memory barrier that orders every transfer and
// compute write before it with every transfer, compute and host access
// after it.
func (s *Sequence) Barrier() {
	if !s.started {
		return
	}
	stages := vk.PipelineStageFlags(vk.PipelineStageComputeShaderBit | vk.PipelineStageTransferBit)
	access := vk.AccessFlags(vk.AccessShaderReadBit | vk.AccessShaderWriteBit | vk.AccessTransferReadBit | vk.AccessTransferWriteBit)
	cmdBarrier(s.cmd, stages, stages|vk.PipelineStageFlags(vk.PipelineStageHostBit),
		vk.AccessFlags(vk.AccessShaderWriteBit|vk.AccessTransferWriteBit), access|vk.AccessFlags(vk.AccessHostReadBit))
}

// Submit ends recording, submits the commands, waits for them on the
// fence and makes their writes visible to the host. With nothing recorded
// it does nothing.
func (s *Sequence) Submit() error {
	if !s.started {
		return nil
	}
	s.Barrier()
	s.started = false
	if err := check("vkEndCommandBuffer", vk.EndCommandBuffer(s.cmd)); err != nil {
		s.resetSets()
		return err
	}
	s.m.qmu.Lock()
	r := queueSubmit(s.m.queue, s.cmd, s.fence)
	s.m.qmu.Unlock()
	if err := check("vkQueueSubmit", r); err != nil {
		s.resetSets()
		return err
	}
	fences := []vk.Fence{s.fence}
	for {
		r := vk.WaitForFences(s.m.dev, 1, fences, vk.True, 10_000_000_000)
		if r == vk.Timeout {
			continue
		}
		if err := check("vkWaitForFences", r); err != nil {
			return err
		}
		break
	}
	if err := check("vkResetFences", vk.ResetFences(s.m.dev, 1, fences)); err != nil {
		return err
	}
	if err := s.resetSets(); err != nil {
		return err
	}
	return check("vkResetCommandBuffer", vk.ResetCommandBuffer(s.cmd, 0))
}

func (s *Sequence) resetSets() error {
	if s.sets == 0 {
		return nil
	}
	s.sets = 0
	return check("vkResetDescriptorPool", vk.ResetDescriptorPool(s.m.dev, s.dpool, 0))
}
