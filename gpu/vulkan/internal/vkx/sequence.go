//go:build cgo && !novulkan

package vkx

import (
	"errors"
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// SetsPerSubmit is how many distinct descriptor sets one submission may
// use; a caller that needs more submits and begins again (ErrSetsFull).
// The sets are cached across submissions, keyed by their bindings, until
// the pool is full and nothing recorded uses them.
const SetsPerSubmit = 256

// ErrSetsFull reports that the sequence's descriptor pool is used up until
// the next Submit.
var ErrSetsFull = errors.New("vkx: descriptor sets of this submission used up")

// setKey identifies a descriptor set by its bindings: buffer ids (never
// reused, so a set of a destroyed buffer is never found again), offsets
// and sizes.
type setKey [Bindings]struct{ id, off, size uint64 }

// Sequence records commands into one command buffer, submits them to the
// compute queue and waits on a fence: the Kompute "sequence". The
// descriptor sets it hands out live until the next Submit. A Sequence is
// for one goroutine at a time (its command pool and descriptor pool are
// externally synchronized objects); sequences of one Manager may be used
// concurrently, their submissions serialized on the queue.
type Sequence struct {
	rec
	pool  vk.CommandPool
	fence vk.Fence
	dpool vk.DescriptorPool
	sets  int                         // sets allocated from dpool
	cache map[setKey]vk.DescriptorSet // the sets, by their bindings
	// inflight is set from Flush to Finish: the command buffer is
	// submitted and its fence not yet waited on.
	inflight bool
}

// rec records commands into a command buffer, each ordered after the
// commands it recorded before it by a barrier (none before the first
// unless lead). A Sequence's rec begins and ends its own command buffer;
// a Recorder's records into one its caller began.
type rec struct {
	m       *Manager
	l       *Layout
	cmd     vk.CommandBuffer
	started bool // the command buffer is recording
	dirty   bool // a command was recorded after the last barrier
	hostRd  bool // a command writes a staging buffer or imported host memory, which the host reads after Submit
	// unordered (tests only) records commands without the barriers that
	// order them, to check that synchronization validation sees hazards.
	unordered bool
}

// Range is a part of a buffer bound to one binding.
type Range struct {
	Buf          *Buffer
	Offset, Size uint64
}

// NewSequence creates a command pool with one command buffer, a fence and
// a descriptor pool for the layout l.
func (m *Manager) NewSequence(l *Layout) (*Sequence, error) {
	s := &Sequence{rec: rec{m: m, l: l}}
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

// Destroy destroys the sequence's objects, after waiting for a flushed
// submission.
func (s *Sequence) Destroy() {
	if s == nil || s.m == nil {
		return
	}
	s.Finish() // its error does not matter: the objects go either way
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

// begin starts recording if it has not started, and orders the command
// about to be recorded after every command before it (a barrier where a
// command was recorded since the last one): a barrier between commands,
// none after the last, so that a call of one dispatch records none of its
// own.
func (s *Sequence) begin() error {
	if s.started {
		s.order()
		return nil
	}
	if err := s.Finish(); err != nil { // the command buffer is free again
		return err
	}
	if err := check("vkBeginCommandBuffer", beginCommandBuffer(s.cmd, vk.CommandBufferUsageFlags(vk.CommandBufferUsageOneTimeSubmitBit))); err != nil {
		return err
	}
	s.started = true
	// Work of earlier submissions is complete (their fences were waited
	// on), but its writes still need a memory dependency on this one's.
	s.dirty = true
	s.Barrier()
	s.dirty = true
	return nil
}

// order orders the command about to be recorded after the commands
// recorded before it.
func (s *rec) order() {
	if !s.unordered {
		s.Barrier()
	}
	s.dirty = true
}

// Set is a descriptor set of a Sequence, valid until a later Bind
// returns ErrSetsFull or the sequence is destroyed, or of Sets, valid
// until the Sets are destroyed. Sets are written once, when allocated, and
// never updated.
type Set struct{ h vk.DescriptorSet }

// Handle returns the VkDescriptorSet.
func (s Set) Handle() vk.DescriptorSet { return s.h }

// Bind returns a descriptor set with binding i set to r[i]: the cached one
// of earlier calls with the same bindings, or a new one. Ranges with a nil
// buffer are left unwritten (the shader must not use them). It returns
// ErrSetsFull when the pool is used up and the recorded commands may use
// its sets; after Submit it starts the pool afresh.
func (s *Sequence) Bind(r [Bindings]Range) (Set, error) {
	key, err := keyOf(r)
	if err != nil {
		return Set{}, err
	}
	for _, rg := range r {
		if rg.Buf != nil && (rg.Buf.imported || rg.Buf.host != nil) { // a dispatch may write memory the host reads
			s.hostRd = true
		}
	}
	if set, ok := s.cache[key]; ok {
		return Set{set}, nil
	}
	if s.sets >= SetsPerSubmit {
		if s.started {
			return Set{}, ErrSetsFull
		}
		if err := s.Finish(); err != nil { // a flushed submission may use the sets
			return Set{}, err
		}
		if err := s.resetSets(); err != nil {
			return Set{}, err
		}
	}
	set, res := bindSet(s.m.dev, s.dpool, s.l.set, r)
	if err := check("vkAllocateDescriptorSets", res); err != nil {
		return Set{}, err
	}
	if s.cache == nil {
		s.cache = map[setKey]vk.DescriptorSet{}
	}
	s.cache[key] = set
	s.sets++
	return Set{set}, nil
}

// Dispatch records the algorithm over invocations invocations (rounded up
// to whole work groups, spread over x and y) with the push constants pc.
func (s *Sequence) Dispatch(a *Algorithm, set Set, pc *[PushWords]uint32, invocations uint64) error {
	if invocations == 0 {
		return nil
	}
	if err := s.begin(); err != nil {
		return err
	}
	return s.dispatch(a, set, pc, invocations)
}

// dispatch records a dispatch after begin (Sequence.Dispatch).
func (s *rec) dispatch(a *Algorithm, set Set, pc *[PushWords]uint32, invocations uint64) error {
	gx, gy, err := s.m.Grid(invocations)
	if err != nil {
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
	s.copy(dst, dstOff, src, srcOff, size)
	return nil
}

func (s *rec) copy(dst *Buffer, dstOff uint64, src *Buffer, srcOff, size uint64) {
	if dst.host != nil || dst.imported {
		s.hostRd = true
	}
	cmdCopy(s.cmd, src.h, dst.h, srcOff, dstOff, size)
}

// Fill records filling size bytes (a multiple of 4) of dst at off with the word v.
func (s *Sequence) Fill(dst *Buffer, off, size uint64, v uint32) error {
	if size == 0 {
		return nil
	}
	if !dst.Alive() {
		return fmt.Errorf("vkx: fill of a destroyed buffer")
	}
	if err := s.begin(); err != nil {
		return err
	}
	if dst.imported {
		s.hostRd = true
	}
	vk.CmdFillBuffer(s.cmd, dst.h, vk.DeviceSize(off), vk.DeviceSize(size), v)
	return nil
}

// Barrier records a global memory barrier that orders every transfer and
// compute write before it with every transfer, compute and host access
// after it, unless no command was recorded since the last barrier.
// Commands order themselves after earlier ones (begin), so callers need
// it only before host access, which Submit does.
func (s *rec) Barrier() {
	if !s.started || !s.dirty {
		return
	}
	s.dirty = false
	stages := vk.PipelineStageFlags(vk.PipelineStageComputeShaderBit | vk.PipelineStageTransferBit)
	access := vk.AccessFlags(vk.AccessShaderReadBit | vk.AccessShaderWriteBit | vk.AccessTransferReadBit | vk.AccessTransferWriteBit)
	cmdBarrier(s.cmd, stages, stages|vk.PipelineStageFlags(vk.PipelineStageHostBit),
		vk.AccessFlags(vk.AccessShaderWriteBit|vk.AccessTransferWriteBit), access|vk.AccessFlags(vk.AccessHostReadBit))
}

// Submit ends recording, submits the commands, waits for them on the
// fence and makes their writes to staging buffers and imported host
// memory visible to the host: Flush, then Finish. With nothing recorded it
// only finishes a flushed submission.
func (s *Sequence) Submit() error {
	if err := s.Flush(); err != nil {
		return err
	}
	return s.Finish()
}

// Flush ends recording and submits the commands without waiting for them:
// the device runs them while the host goes on (with another sequence, say).
// Finish, Submit or the next command recorded waits for them; their writes
// to staging buffers and imported host memory are visible to the host
// after that wait. With nothing recorded it does nothing.
func (s *Sequence) Flush() error {
	if !s.started {
		return nil
	}
	if s.hostRd {
		s.Barrier() // the host reads what the device wrote
	}
	s.started, s.dirty, s.hostRd = false, false, false
	if err := check("vkEndCommandBuffer", vk.EndCommandBuffer(s.cmd)); err != nil {
		s.resetSets()
		return err
	}
	if err := s.m.submit(s.cmd, s.fence); err != nil {
		s.resetSets()
		return err
	}
	s.inflight = true
	return nil
}

// Finish waits for the submission of Flush, if one is in flight, and
// makes the sequence's command buffer ready to record again.
func (s *Sequence) Finish() error {
	if !s.inflight {
		return nil
	}
	s.inflight = false
	if err := s.m.waitFence(s.fence); err != nil {
		return err
	}
	if err := check("vkResetFences", vk.ResetFences(s.m.dev, 1, []vk.Fence{s.fence})); err != nil {
		return err
	}
	return check("vkResetCommandBuffer", vk.ResetCommandBuffer(s.cmd, 0))
}

func (s *Sequence) resetSets() error {
	clear(s.cache)
	if s.sets == 0 {
		return nil
	}
	s.sets = 0
	return check("vkResetDescriptorPool", vk.ResetDescriptorPool(s.m.dev, s.dpool, 0))
}
