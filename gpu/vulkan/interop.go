//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"fmt"
	"math"
	"sync"

	vk "github.com/vulkan-go/vulkan"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// This file is the interop API (package documentation, "Pipelines"): a
// backend on a program's own device, its VkBuffers as Buffers and ours as
// VkBuffers, calls recorded into its command buffers, and asynchronous
// calls that return a Pending to wait on.

// External is a Vulkan device a program made itself, for NewBackend.
type External struct {
	Instance       vk.Instance
	PhysicalDevice vk.PhysicalDevice
	Device         vk.Device
	// QueueFamily is the family of Queue; it must have VK_QUEUE_COMPUTE_BIT.
	QueueFamily uint32
	// Queue is where the backend submits its own work (its synchronous
	// calls and the asynchronous ones), under its own mutex: the program
	// must not submit to it (nor call vkQueueWaitIdle on it) while a call
	// of the backend runs.
	Queue vk.Queue
	// Float64 says that Device was created with shaderFloat64 enabled:
	// float64 data is then available where the physical device has it.
	Float64 bool
}

// NewBackend returns a backend on a program's own Vulkan device. The
// backend does not own the instance, device or queue: Close destroys only
// what the backend created (pipelines, layouts, descriptor pools, command
// pools, fences, its buffers and their memory) and waits for nothing but
// its own submissions (vkDeviceWaitIdle would need every queue of the
// device). The device needs no feature or extension beyond Vulkan 1.1
// core (and shaderFloat64 for float64, see External.Float64).
//
// opts.Device and opts.Debug must be zero: the device is ext's, and the
// validation layer is enabled (or not) on the program's instance, to which
// it reports. The other options apply as for Open.
func NewBackend(ext External, opts dropout.Options) (*Backend, error) {
	if opts.Device != "" || opts.Debug {
		return nil, fmt.Errorf("%w: vulkan: NewBackend uses the program's device and instance: Options.Device and Options.Debug must be zero", dropout.ErrUnsupported)
	}
	m, err := vkx.NewManagerOn(ext.Instance, ext.PhysicalDevice, ext.Device, ext.QueueFamily, ext.Queue, ext.Float64)
	if err != nil {
		return nil, fmt.Errorf("vulkan: NewBackend: %w", err)
	}
	d, err := initDevice(nil, m, 0, config{})
	if err != nil {
		return nil, err
	}
	e, err := exec.New("vulkan", d, opts) // closes d on error
	if err != nil {
		return nil, err
	}
	return &Backend{Backend: e, dev: d}, nil
}

// Wrap returns a Buffer over n elements of dt of the program's VkBuffer
// buf from byte offset off, without a copy. size is buf's size in bytes
// (VkBufferCreateInfo.size); off must be a multiple of dt's size, and
// off+n·dt.Size() at most size (dropout.ErrLength otherwise). buf must be
// a buffer of the backend's device, created with the usages
// VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, VK_BUFFER_USAGE_TRANSFER_SRC_BIT and
// VK_BUFFER_USAGE_TRANSFER_DST_BIT, with memory bound, and in exclusive
// sharing mode on the backend's queue family (or concurrent).
//
// The Buffer is used in place wherever a Buffer is: calls read and write
// buf's memory. The program keeps buf alive while the Buffer is in use;
// Release (and Close) never destroy it.
func (b *Backend) Wrap(buf vk.Buffer, size, off uint64, dt dropout.DType, n int) (dropout.Buffer, error) {
	if buf == nil {
		return nil, fmt.Errorf("%w: vulkan: Wrap of a nil VkBuffer", dropout.ErrLength)
	}
	if size > math.MaxInt64 || off > math.MaxInt64 {
		return nil, fmt.Errorf("%w: vulkan: Wrap at byte %d of %d bytes", dropout.ErrLength, off, size)
	}
	u, err := exec.Wrap(b.Backend, b.dev.m.WrapBuffer(buf, size), int64(size), int64(off), dt, n)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// NativeBuffer returns the VkBuffer of a Buffer of this backend (made by
// Alloc, Wrap or Slice) and the byte offset of the Buffer's element 0 in
// it; its elements are the next t.Len()·t.DType().Size() bytes. Other
// tensors are dropout.ErrForeignBuffer, released buffers
// dropout.ErrReleased, and after Close dropout.ErrClosed. The handle stays
// valid until the buffer (its root, for a view) is released or the
// backend closes: the program may use it in its own descriptor sets and
// commands, with the barriers of the package documentation.
func (b *Backend) NativeBuffer(t dropout.Tensor) (vk.Buffer, uint64, error) {
	m, off, err := exec.Native(b.Backend, t)
	if err != nil {
		return nil, 0, err
	}
	buf := memOf(exec.View{Mem: m})
	h := buf.Handle()
	if h == nil {
		return nil, 0, fmt.Errorf("%w: vulkan: the buffer's memory is freed", dropout.ErrReleased)
	}
	return h, uint64(off), nil
}

// RecordForward records Forward into cmd, a primary or secondary command
// buffer of the backend's device in the recording state, allocated from a
// pool of a queue family with compute, and returns without submitting
// anything. Every tensor must be a Buffer of the backend; calls that need
// scratch memory are dropout.ErrUnsupported (package documentation,
// "Pipelines"). The program places the barriers the documentation lists
// before and after the recorded commands, and keeps the backend open
// until cmd has completed. One goroutine at a time may record into cmd.
func (b *Backend) RecordForward(cmd vk.CommandBuffer, dst, x, mask dropout.Tensor, p dropout.Params) error {
	return b.record(cmd, func(q exec.Queue) error { return exec.ForwardOn(b.Backend, q, dst, x, mask, p) })
}

// RecordBackward records Backward into cmd, as RecordForward does.
func (b *Backend) RecordBackward(cmd vk.CommandBuffer, dx, dy, mask dropout.Tensor, p dropout.Params) error {
	return b.record(cmd, func(q exec.Queue) error { return exec.BackwardOn(b.Backend, q, dx, dy, mask, p) })
}

// RecordForwardFused records ForwardFused into cmd, as RecordForward does.
func (b *Backend) RecordForwardFused(cmd vk.CommandBuffer, dst, x, bias, residual, mask dropout.Tensor, p dropout.Params) error {
	return b.record(cmd, func(q exec.Queue) error {
		return exec.ForwardFusedOn(b.Backend, q, dst, x, bias, residual, mask, p)
	})
}

// RecordCopy records Copy between two Buffers of the backend into cmd, as
// RecordForward does (transfer commands: vkCmdCopyBuffer).
func (b *Backend) RecordCopy(cmd vk.CommandBuffer, dst, src dropout.Tensor) error {
	return b.record(cmd, func(q exec.Queue) error { return exec.CopyOn(b.Backend, q, dst, src) })
}

func (b *Backend) record(cmd vk.CommandBuffer, f func(exec.Queue) error) error {
	if cmd == nil {
		return fmt.Errorf("%w: vulkan: recording into a nil command buffer", dropout.ErrUnsupported)
	}
	return f(&recQueue{d: b.dev, r: b.dev.sets.NewRecorder(b.dev.m, cmd, false)})
}

// recQueue is the exec.Queue of the recorded and asynchronous calls: it
// records launches into a command buffer and moves no host data.
type recQueue struct {
	d *vkDevice
	r *vkx.Recorder
}

var errHostData = errors.New("vulkan: internal error: an asynchronous call moved host data")

func (q *recQueue) Upload(exec.View, []byte) error   { return errHostData }
func (q *recQueue) Download([]byte, exec.View) error { return errHostData }
func (q *recQueue) Wait() error                      { return nil }
func (q *recQueue) Release() error                   { return nil }

func (q *recQueue) Launch(k exec.Kernel, a *exec.Args) error {
	return q.d.launch(q.r, k, a, nil)
}

// Pending is an asynchronous call submitted to the queue: Wait waits for
// it, Done says whether it has completed. It is safe for concurrent use.
type Pending struct {
	s   *slot
	gen uint64
}

// Wait waits until the call's commands have completed on the device; its
// output buffers then hold the result. Waiting again returns at once.
func (p *Pending) Wait() error { return p.s.pool.wait(p.s, p.gen) }

// Done reports whether the call's commands have completed, without
// waiting (a device error counts as done; Wait returns it).
func (p *Pending) Done() bool { return p.s.pool.done(p.s, p.gen) }

// ForwardAsync records Forward into a command buffer of the backend,
// submits it to the queue and returns without waiting. The call is
// ordered after everything the backend submitted before it (synchronous
// calls included) and before everything it submits later; the program
// waits on the Pending before reading the outputs on the host or from
// work it submits itself (or orders its own submissions after it with
// vkQueueWaitIdle or a later fence on the same queue). Tensors are
// Buffers of the backend, as for RecordForward, and must not be released
// until the call has completed.
func (b *Backend) ForwardAsync(dst, x, mask dropout.Tensor, p dropout.Params) (*Pending, error) {
	return b.async(func(q exec.Queue) error { return exec.ForwardOn(b.Backend, q, dst, x, mask, p) })
}

// BackwardAsync submits Backward, as ForwardAsync does.
func (b *Backend) BackwardAsync(dx, dy, mask dropout.Tensor, p dropout.Params) (*Pending, error) {
	return b.async(func(q exec.Queue) error { return exec.BackwardOn(b.Backend, q, dx, dy, mask, p) })
}

// ForwardFusedAsync submits ForwardFused, as ForwardAsync does.
func (b *Backend) ForwardFusedAsync(dst, x, bias, residual, mask dropout.Tensor, p dropout.Params) (*Pending, error) {
	return b.async(func(q exec.Queue) error {
		return exec.ForwardFusedOn(b.Backend, q, dst, x, bias, residual, mask, p)
	})
}

// CopyAsync submits Copy between two Buffers of the backend, as
// ForwardAsync does.
func (b *Backend) CopyAsync(dst, src dropout.Tensor) (*Pending, error) {
	return b.async(func(q exec.Queue) error { return exec.CopyOn(b.Backend, q, dst, src) })
}

func (b *Backend) async(f func(exec.Queue) error) (*Pending, error) {
	d := b.dev
	s, err := d.async.get(d.m)
	if err != nil {
		return nil, err
	}
	r, err := s.sub.Begin(d.sets)
	if err == nil {
		if err = f(&recQueue{d: d, r: r}); err != nil {
			s.sub.Abandon()
		} else {
			err = s.sub.Submit()
		}
	}
	if err != nil {
		d.async.put(s, false)
		return nil, err
	}
	return &Pending{s: s, gen: d.async.put(s, true)}, nil
}

// Close closes the backend (see the package documentation): asynchronous
// calls being made finish submitting first, and later ones are
// dropout.ErrClosed; then the executor closes, and with it the device,
// which waits for the asynchronous submissions before destroying what the
// backend made. Closing twice returns the first result.
func (b *Backend) Close() error {
	b.dev.async.stop()
	return b.Backend.Close()
}

// maxSlots bounds the asynchronous calls in flight: a further call waits
// for the oldest one.
const maxSlots = 64

// slots are the command buffers and fences of asynchronous calls,
// recycled once their fences are signalled.
type slots struct {
	mu     sync.Mutex
	cond   *sync.Cond // signalled when a slot is put back or a wait ends
	free   []*slot
	busy   []*slot // submitted, oldest first
	held   int     // slots taken by calls recording
	n      int     // slots made
	closed bool
}

type slot struct {
	pool    *slots
	sub     *vkx.Submission
	gen     uint64 // the submission's number: a Pending of an older one is done
	waiters int    // goroutines in vkWaitForFences on it
	err     error  // the submission's error, from the fence
}

// get returns a slot to record into: a free one, one whose submission has
// completed, a new one, or, with maxSlots in flight, the oldest once it
// completes.
func (ss *slots) get(m *vkx.Manager) (*slot, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for {
		if ss.closed {
			return nil, fmt.Errorf("%w: vulkan", dropout.ErrClosed)
		}
		ss.reap()
		if n := len(ss.free); n > 0 {
			s := ss.free[n-1]
			ss.free = ss.free[:n-1]
			ss.held++
			return s, nil
		}
		if ss.n < maxSlots {
			sub, err := m.NewSubmission()
			if err != nil {
				return nil, err
			}
			ss.n++
			ss.held++
			return &slot{pool: ss, sub: sub}, nil
		}
		if len(ss.busy) > 0 && ss.busy[0].waiters == 0 {
			ss.waitLocked(ss.busy[0])
		} else {
			ss.cond.Wait() // for a call recording, or another waiter
		}
	}
}

// put returns a slot taken by get: submitted (its Pending's generation
// is returned) or not.
func (ss *slots) put(s *slot, submitted bool) uint64 {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.held--
	s.gen++
	if submitted {
		s.err = nil
		ss.busy = append(ss.busy, s)
	} else {
		ss.free = append(ss.free, s)
	}
	ss.cond.Broadcast()
	return s.gen
}

// reap moves the busy slots whose fences are signalled to free.
func (ss *slots) reap() {
	k := 0
	for _, s := range ss.busy {
		if s.waiters == 0 {
			if ok, err := s.sub.Signalled(); ok || err != nil {
				s.err = err
				ss.retire(s)
				continue
			}
		}
		ss.busy[k] = s
		k++
	}
	clear(ss.busy[k:])
	ss.busy = ss.busy[:k]
}

// retire makes a completed slot free; Pendings of it are done.
func (ss *slots) retire(s *slot) {
	s.gen++
	ss.free = append(ss.free, s)
}

// waitLocked waits for busy slot s with ss.mu unlocked, then retires it.
func (ss *slots) waitLocked(s *slot) {
	s.waiters++
	ss.mu.Unlock()
	err := s.sub.Wait()
	ss.mu.Lock()
	s.waiters--
	if s.waiters == 0 {
		if i := ss.index(s); i >= 0 {
			ss.busy = append(ss.busy[:i], ss.busy[i+1:]...)
			s.err = err
			ss.retire(s)
		}
	}
	ss.cond.Broadcast()
}

func (ss *slots) index(s *slot) int {
	for i, b := range ss.busy {
		if b == s {
			return i
		}
	}
	return -1
}

// wait waits for submission gen of s.
func (ss *slots) wait(s *slot, gen uint64) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for s.gen == gen && ss.index(s) >= 0 {
		ss.waitLocked(s)
	}
	if s.gen == gen+1 {
		return s.err // the error of the last wait, if it was this submission's
	}
	return nil
}

// done reports whether submission gen of s has completed.
func (ss *slots) done(s *slot, gen uint64) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s.gen != gen || ss.index(s) < 0 {
		return true
	}
	if s.waiters > 0 {
		return false
	}
	ok, err := s.sub.Signalled()
	if ok || err != nil {
		ss.busy = append(ss.busy[:ss.index(s)], ss.busy[ss.index(s)+1:]...)
		s.err = err
		ss.retire(s)
		return true
	}
	return false
}

// stop makes later gets dropout.ErrClosed and waits for the calls
// recording to submit or give up.
func (ss *slots) stop() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	for ss.held > 0 {
		ss.cond.Wait()
	}
}

// close stops the slots, waits for every submission, then destroys the
// slots.
func (ss *slots) close() error {
	ss.stop()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var err error
	for ss.held > 0 || len(ss.busy) > 0 {
		if len(ss.busy) == 0 || ss.busy[0].waiters > 0 {
			ss.cond.Wait()
			continue
		}
		s := ss.busy[0]
		ss.waitLocked(s)
		err = errors.Join(err, s.err)
	}
	for _, s := range ss.free {
		s.sub.Destroy()
	}
	ss.free = nil
	return err
}
