package exec

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/gpudropout/dropout"
)

// DefaultChunkBytes caps the bytes of one tensor a call stages or launches
// at once when Options.MaxChunkBytes is 0.
const DefaultChunkBytes = 64 << 20

// Backend runs dropout on a Device. It implements dropout.Backend and is
// safe for concurrent use: each call runs on a queue of its own, made on
// demand up to Info.Queues; further calls wait for a free one.
type Backend struct {
	name       string
	dev        Device
	info       Info
	chunkBytes int64

	mu     sync.Mutex
	cond   sync.Cond // on mu: a queue came back or a call ended
	closed bool
	active int      // calls between begin and end
	idle   []*queue // queues not running a call
	queues int      // queues made
	maxQ   int      // the most queues: Info.Queues, lowered when the device makes no more
	bufs   map[*Buffer]struct{}
	held   int64 // device memory held: buffers and staging

	closeOnce sync.Once
	closeErr  error
}

// queue is a device queue with the staging buffers of its calls.
type queue struct {
	q       Queue
	e       *Backend
	stage   [nRoles]stage
	pending bool      // operations queued since the last wait
	moved   bool      // host data moved since the last wait
	pinned  []*Buffer // buffers the current call uses
	c       call      // the current call (newCall)
	// async marks a queue over a caller's queue or command buffer (ForwardOn
	// and the other On functions): no staging, no host data, no Wait.
	async bool
	// mapped are the host tensors the current call uses in place (a
	// HostMapper device), with the pins that keep them where they are.
	mapped []hostMap
	pinner runtime.Pinner
}

// hostMap is host memory mapped as device memory for a call.
type hostMap struct {
	b   []byte
	mem Mem
}

// The staging buffers of a queue, by role.
type role int

const (
	roleX role = iota
	roleY
	roleMaskIn  // masks the host writes (backward)
	roleMaskOut // masks a kernel writes
	roleResid   // the residual of a fused call
	roleBias    // the bias of a fused call, whole
	nRoles
)

type stage struct {
	mem  Mem
	size int64
}

// New returns a backend called name (its registry name, such as "opencl")
// that runs on d, chunked by opts.MaxChunkBytes. It makes the first queue,
// so that a broken device fails here; on error it closes d.
func New(name string, d Device, opts dropout.Options) (*Backend, error) {
	if opts.MaxChunkBytes < 0 {
		d.Close()
		return nil, fmt.Errorf("%w: negative MaxChunkBytes %d", dropout.ErrLength, opts.MaxChunkBytes)
	}
	e := &Backend{name: name, dev: d, info: d.Info(), chunkBytes: DefaultChunkBytes, bufs: map[*Buffer]struct{}{}}
	e.cond.L = &e.mu
	e.maxQ = max(e.info.Queues, 1)
	if e.info.Backend == "" {
		e.info.Backend = name
	}
	if opts.MaxChunkBytes > 0 {
		e.chunkBytes = opts.MaxChunkBytes
	}
	q, err := d.NewQueue()
	if err != nil {
		d.Close()
		return nil, err
	}
	e.idle, e.queues = []*queue{{q: q, e: e}}, 1
	return e, nil
}

// Name returns the backend's registry name.
func (e *Backend) Name() string { return e.name }

// Device describes the device.
func (e *Backend) Device() dropout.DeviceInfo { return e.info.DeviceInfo }

// DTypes returns the data types Forward and Backward take.
func (e *Backend) DTypes() []dropout.DType { return slices.Clone(e.info.DTypes) }

func (e *Backend) supports(dt dropout.DType) error {
	if slices.Contains(e.info.DTypes, dt) {
		return nil
	}
	return fmt.Errorf("%w: %v data on %s (%s)", dropout.ErrDType, dt, e.name, e.info.Name)
}

// chunk returns the elements of es bytes a call stages or launches at once:
// a multiple of 32, so that chunks start on whole bit-mask words. A call
// with host tensors (host) stages at most Options.MaxChunkBytes and
// Info.MaxAlloc bytes of each at once; a call on device buffers only is
// split where the device's launch limits say so, and otherwise runs as one
// launch per kernel.
func (e *Backend) chunk(es int64, host bool) int64 {
	lim := int64(1) << 62
	if host {
		lim = e.chunkBytes
		if l := e.info.MaxAlloc; l > 0 {
			lim = min(lim, l)
		}
	}
	if l := e.info.MaxLaunchBytes; l > 0 {
		lim = min(lim, l)
	}
	c := lim / es
	if l := e.info.MaxLaunchElems; l > 0 {
		c = min(c, l)
	}
	return max(32, c&^31)
}

// Do runs f on a queue of e's own, as a call does, and waits for what f
// queued: for a backend's own operations (tests of its kernels). It is a
// function, not a method, so that a backend embedding *Backend exports
// exactly the dropout.Backend methods.
func Do(e *Backend, f func(q Queue) error) error {
	q, err := e.begin()
	if err != nil {
		return err
	}
	defer e.end(q)
	q.pending = true
	if err := f(q.q); err != nil {
		return err
	}
	return q.wait()
}

// DeviceOf returns the device e runs on (for tests of a backend's own
// operations).
func DeviceOf(e *Backend) Device { return e.dev }

// begin starts a call: ErrClosed after Close, otherwise an idle queue,
// waiting for one when all are busy. end must follow.
func (e *Backend) begin() (*queue, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.active++
	for {
		if e.closed { // perhaps while this call waited
			e.active--
			e.cond.Broadcast()
			return nil, fmt.Errorf("%w: %s", dropout.ErrClosed, e.name)
		}
		if n := len(e.idle); n > 0 {
			q := e.idle[n-1]
			e.idle = e.idle[:n-1]
			return q, nil
		}
		if e.queues < e.maxQ {
			e.queues++
			e.mu.Unlock()
			q, err := e.dev.NewQueue()
			e.mu.Lock()
			if err == nil {
				return &queue{q: q, e: e}, nil
			}
			e.queues--
			e.maxQ = e.queues // the device has room for no more
			continue
		}
		e.cond.Wait()
	}
}

// spare returns a second queue for q's call on an Info.Overlap device, if
// one is idle or can be made now and the device has room for need more
// bytes of staging buffers; nil otherwise (the call then runs on q alone).
// end must follow a queue it returns.
func (e *Backend) spare(q *queue, need int64) *queue {
	if !e.info.Overlap || q.async {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.info.Memory > 0 && need > e.info.Memory-e.held {
		return nil
	}
	if n := len(e.idle); n > 0 {
		q2 := e.idle[n-1]
		e.idle = e.idle[:n-1]
		e.active++
		return q2
	}
	if e.queues >= e.maxQ {
		return nil
	}
	e.queues++
	e.mu.Unlock()
	dq, err := e.dev.NewQueue()
	e.mu.Lock()
	if err != nil {
		e.queues--
		e.maxQ = e.queues // the device has room for no more
		return nil
	}
	e.active++
	return &queue{q: dq, e: e}
}

// end ends a call: it drains what an error left queued, unpins the call's
// buffers and returns the queue.
func (e *Backend) end(q *queue) {
	if q.pending {
		q.q.Wait()
		q.pending = false
	}
	q.unmap()
	for _, u := range q.pinned {
		u.unpin()
	}
	clear(q.pinned)
	q.pinned = q.pinned[:0]
	q.c = call{} // keeps none of the caller's memory
	e.mu.Lock()
	e.idle = append(e.idle, q)
	e.active--
	e.cond.Broadcast()
	e.mu.Unlock()
}

// Close waits for the calls in flight, then frees every buffer and staging
// buffer, releases the queues and closes the device. Calls after Close
// return ErrClosed; closing twice is harmless.
func (e *Backend) Close() error {
	e.closeOnce.Do(func() { e.closeErr = e.shutdown() })
	return e.closeErr
}

func (e *Backend) shutdown() error {
	e.mu.Lock()
	e.closed = true
	e.cond.Broadcast()
	for e.active > 0 {
		e.cond.Wait()
	}
	qs, bufs := e.idle, make([]*Buffer, 0, len(e.bufs))
	e.idle = nil
	for u := range e.bufs {
		bufs = append(bufs, u)
	}
	e.mu.Unlock()
	for _, u := range bufs {
		u.mu.Lock()
		u.free()
		u.mu.Unlock()
	}
	var errs []error
	for _, q := range qs {
		q.freeStaging()
		errs = append(errs, q.q.Release())
	}
	return errors.Join(append(errs, e.dev.Close())...)
}

// The queue's operations, keeping track of what waits for wait.

// upload queues the upload of b to v; into a staging buffer (pad), whole
// words: kernels load masks a word at a time.
func (q *queue) upload(v View, b []byte, pad bool) error {
	if q.async {
		return q.hostErr()
	}
	if pad && len(b)%4 != 0 {
		b = append(b[:len(b):len(b)], make([]byte, 4-len(b)%4)...)
	}
	q.pending, q.moved = true, true
	return q.q.Upload(v, b)
}

func (q *queue) download(b []byte, v View) error {
	if q.async {
		return q.hostErr()
	}
	q.pending, q.moved = true, true
	return q.q.Download(b, v)
}

// copy queues a Copy launch of n bytes from src to dst, between a staged
// buffer and its staging buffer; like host data, it makes the call wait
// before the staging buffer is used again.
func (q *queue) copy(dst, src View, n int64) error {
	q.moved = true
	return q.launch(Copy, &Args{Y: dst, X: src, N: n})
}

func (q *queue) hostErr() error {
	return fmt.Errorf("%w: an asynchronous %s call moves no host data", dropout.ErrUnsupported, q.e.name)
}

func (q *queue) launch(k Kernel, a *Args) error {
	q.pending = true
	return q.q.Launch(k, a)
}

// flush starts what q queued without waiting for it, where the device's
// queue holds commands until told (Flusher).
func (q *queue) flush() error {
	if f, ok := q.q.(Flusher); ok && q.pending && !q.async {
		return f.Flush()
	}
	return nil
}

// wait waits for what q queued; an asynchronous call never waits (it moves
// no host data and uses no staging buffer, so nothing on the host depends
// on its commands having run).
func (q *queue) wait() error {
	if q.async {
		q.pending, q.moved = false, false
		return nil
	}
	err := q.q.Wait()
	q.pending, q.moved = err != nil, false
	return err
}
