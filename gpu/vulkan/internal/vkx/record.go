//go:build cgo && !novulkan

package vkx

import (
	"fmt"
	"sync"

	vk "github.com/vulkan-go/vulkan"
)

// Sets hands out descriptor sets of a layout that stay valid until
// Destroy, for command buffers whose execution the owner of the sets does
// not see end (a caller's command buffers, asynchronous submissions). A
// set is allocated and written once, for one combination of bindings, and
// then only bound again: never updated, never freed before Destroy, so a
// recorded command buffer can use it as long as the Sets live. Pools of
// SetsPerSubmit sets are added as needed. Sets is safe for concurrent use.
type Sets struct {
	l     *Layout
	mu    sync.Mutex
	pools []vk.DescriptorPool
	n     int // sets allocated from the last pool
	cache map[setKey]vk.DescriptorSet
}

// NewSets returns an empty set cache of l.
func (l *Layout) NewSets() *Sets { return &Sets{l: l, cache: map[setKey]vk.DescriptorSet{}} }

// Len returns the sets allocated so far.
func (s *Sets) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.cache)
}

// Bind returns the set with binding i set to r[i] (ranges with a nil
// buffer left unwritten), allocating it on first use.
func (s *Sets) Bind(r [Bindings]Range) (Set, error) {
	key, err := keyOf(r)
	if err != nil {
		return Set{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if set, ok := s.cache[key]; ok {
		return Set{set}, nil
	}
	dev := s.l.m.dev
	if len(s.pools) == 0 || s.n >= SetsPerSubmit {
		pool, res := createDescriptorPool(dev, SetsPerSubmit, SetsPerSubmit*Bindings)
		if err := check("vkCreateDescriptorPool", res); err != nil {
			return Set{}, err
		}
		s.pools, s.n = append(s.pools, pool), 0
	}
	set, res := bindSet(dev, s.pools[len(s.pools)-1], s.l.set, r)
	if err := check("vkAllocateDescriptorSets", res); err != nil {
		return Set{}, err
	}
	s.n++
	s.cache[key] = set
	return Set{set}, nil
}

// Destroy frees every set; no command buffer that uses them may be pending.
func (s *Sets) Destroy() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pools {
		vk.DestroyDescriptorPool(s.l.m.dev, p, nil)
	}
	s.pools, s.cache = nil, map[setKey]vk.DescriptorSet{}
}

// keyOf returns the cache key of the bindings r.
func keyOf(r [Bindings]Range) (setKey, error) {
	var key setKey
	for i, rg := range r {
		if rg.Buf == nil {
			continue
		}
		if !rg.Buf.Alive() {
			return key, fmt.Errorf("vkx: binding %d: buffer destroyed", i)
		}
		key[i].id, key[i].off, key[i].size = rg.Buf.id, rg.Offset, rg.Size
	}
	return key, nil
}

// Recorder records commands into a command buffer that is already
// recording and that it does not own, with descriptor sets from Sets: the
// commands a caller embeds in its own command buffer. Each command but the
// first is ordered after the ones before it by a global memory barrier
// (compute-shader and transfer writes before, compute-shader and transfer
// reads and writes after); with lead the first is too, after everything
// submitted earlier to the queue. A Recorder is for one goroutine.
type Recorder struct {
	rec
	sets *Sets
}

// NewRecorder returns a Recorder into cmd with the sets of s.
func (s *Sets) NewRecorder(m *Manager, cmd vk.CommandBuffer, lead bool) *Recorder {
	return &Recorder{rec: rec{m: m, l: s.l, cmd: cmd, started: true, dirty: lead}, sets: s}
}

// Bind returns the set of the bindings r.
func (r *Recorder) Bind(rg [Bindings]Range) (Set, error) { return r.sets.Bind(rg) }

// Dispatch records the algorithm over invocations invocations.
func (r *Recorder) Dispatch(a *Algorithm, set Set, pc *[PushWords]uint32, invocations uint64) error {
	if invocations == 0 {
		return nil
	}
	r.order()
	return r.dispatch(a, set, pc, invocations)
}

// Copy records a copy of size bytes (any offsets and size).
func (r *Recorder) Copy(dst *Buffer, dstOff uint64, src *Buffer, srcOff, size uint64) error {
	if size == 0 {
		return nil
	}
	if !dst.Alive() || !src.Alive() {
		return fmt.Errorf("vkx: copy with a destroyed buffer")
	}
	r.order()
	r.copy(dst, dstOff, src, srcOff, size)
	return nil
}

// Fill records filling size bytes of dst at off with the word v (off and
// size multiples of 4).
func (r *Recorder) Fill(dst *Buffer, off, size uint64, v uint32) error {
	if size == 0 {
		return nil
	}
	if !dst.Alive() {
		return fmt.Errorf("vkx: fill of a destroyed buffer")
	}
	r.order()
	vk.CmdFillBuffer(r.cmd, dst.h, vk.DeviceSize(off), vk.DeviceSize(size), v)
	return nil
}

// Recorded reports whether a command was recorded.
func (r *Recorder) Recorded() bool { return r.dirty }

// Submission is a command buffer of its own with a fence, recorded
// through a Recorder and submitted without waiting: the library's
// asynchronous calls. Its cycle is Begin, recording, Submit, then Signalled
// or Wait, then Begin again.
type Submission struct {
	c *Commands
}

// NewSubmission creates a command pool, command buffer and fence.
func (m *Manager) NewSubmission() (*Submission, error) {
	c, err := m.NewCommands()
	if err != nil {
		return nil, err
	}
	return &Submission{c: c}, nil
}

// Begin resets the fence and begins recording; it returns the Recorder,
// whose first command is ordered after everything submitted before.
func (s *Submission) Begin(sets *Sets) (*Recorder, error) {
	if err := check("vkResetFences", vk.ResetFences(s.c.m.dev, 1, []vk.Fence{s.c.Fence})); err != nil {
		return nil, err
	}
	if err := check("vkResetCommandBuffer", vk.ResetCommandBuffer(s.c.Cmd, 0)); err != nil {
		return nil, err
	}
	if err := s.c.Begin(); err != nil {
		return nil, err
	}
	return sets.NewRecorder(s.c.m, s.c.Cmd, true), nil
}

// Submit ends recording and submits without waiting. A Submission begun
// and not submitted (after an error) may be begun again.
func (s *Submission) Submit() error { return s.c.Submit() }

// Abandon ends a recording that will not be submitted.
func (s *Submission) Abandon() { vk.EndCommandBuffer(s.c.Cmd) } // the result does not matter: Begin resets it

// Signalled reports whether the submitted work has completed.
func (s *Submission) Signalled() (bool, error) {
	r := vk.GetFenceStatus(s.c.m.dev, s.c.Fence)
	if r == vk.NotReady {
		return false, nil
	}
	return r == vk.Success, check("vkGetFenceStatus", r)
}

// Wait waits for the submitted work.
func (s *Submission) Wait() error { return s.c.m.waitFence(s.c.Fence) }

// Destroy destroys the command buffer, pool and fence; nothing submitted
// may be pending.
func (s *Submission) Destroy() { s.c.Destroy() }
