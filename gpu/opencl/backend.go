//go:build cgo && !noopencl

package opencl

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/internal/memlimit"
)

// maxWorkers is how many calls of one backend run at once, each on its
// own command queue with its own kernel objects and staging buffers (see
// worker). More calls wait for a free worker.
const maxWorkers = 4

// Backend runs dropout on one OpenCL device. It implements dropout.Backend
// and is safe for concurrent use by multiple goroutines: see the package
// documentation for what runs side by side and what is serialised.
type Backend struct {
	// Set by open and read-only afterwards.
	dev      device
	ctx      *cl.Context
	prog     *cl.Program
	maxChunk int64 // Options.MaxChunkBytes, 0 for none
	maxItems int   // the most work-items of one launch (tests lower it before any call)
	// hostLimit reports the host memory this process may still allocate;
	// it bounds allocations on devices whose memory is host memory (PoCL,
	// Oclgrind). Tests replace it.
	hostLimit func() memlimit.Limit

	mu   sync.Mutex
	cond sync.Cond // on mu: broadcast when a worker is returned or a call ends
	// closed is set when Close starts; calls that start later get ErrClosed.
	closed     bool
	active     int       // calls between begin and end
	idle       []*worker // workers not running a call
	workers    int       // workers made, idle or busy
	maxWorkers int       // the most workers to make
	// bufs are the live buffers Alloc returned; Close releases them.
	bufs map[*buffer]struct{}
	// held is the device memory this backend holds, in bytes: buffers,
	// staging buffers and the workers' dummies.
	held int64

	closeOnce sync.Once
}

// worker is what one call runs with: a command queue, kernel objects (a
// cl_kernel's arguments are state, so two calls cannot share one) and
// staging buffers for host tensors. A worker serves one call at a time;
// the backend keeps up to maxWorkers of them and hands each call an idle
// one. Everything in a worker belongs to the goroutine whose call holds
// it, except that Backend.trim may release an idle worker's staging.
type worker struct {
	b       *Backend
	queue   *cl.CommandQueue
	kernels map[string]*kernel
	// dummy is bound to kernel arguments a call does not use.
	dummy *cl.MemObject
	// staging buffers for host tensors, by role, kept between calls.
	staging map[string]*stage
	events  []*cl.Event // events of commands enqueued since the last finish
	pinned  []*buffer   // buffers the current call uses; unpinned by end
}

// open opens the device opts selects and builds src on it.
func open(opts dropout.Options, src string) (*Backend, error) {
	if opts.MaxChunkBytes < 0 {
		return nil, fmt.Errorf("%w: negative MaxChunkBytes %d", dropout.ErrLength, opts.MaxChunkBytes)
	}
	devs, err := devices()
	if err != nil {
		return nil, err
	}
	d, err := choose(devs, opts.Device)
	if err != nil {
		return nil, err
	}
	b := &Backend{
		dev:       d,
		bufs:      make(map[*buffer]struct{}),
		maxChunk:  opts.MaxChunkBytes,
		hostLimit: memlimit.System,
		// Work-items per launch: enough to fill any device many times
		// over, few enough for any size_t and dispatch limit.
		maxItems:   1 << 24,
		maxWorkers: maxWorkers,
	}
	b.cond.L = &b.mu
	if err := b.init(src); err != nil {
		b.shutdown()
		return nil, err
	}
	return b, nil
}

// init creates the context, builds the program and makes the first worker,
// so that a build or kernel failure is Open's error.
func (b *Backend) init(src string) error {
	ctx, err := cl.CreateContext([]*cl.Device{b.dev.dev})
	if err != nil {
		return check("clCreateContext", err)
	}
	b.ctx = ctx
	if err := b.build(src); err != nil {
		return err
	}
	w, err := b.newWorker()
	if err != nil {
		return err
	}
	b.idle = append(b.idle, w)
	b.workers = 1
	return nil
}

// newWorker makes a worker: a queue, the kernels and a dummy buffer.
func (b *Backend) newWorker() (*worker, error) {
	w := &worker{b: b, staging: make(map[string]*stage)}
	q, err := b.ctx.CreateCommandQueue(b.dev.dev, 0)
	if err != nil {
		return nil, check("clCreateCommandQueue", err)
	}
	w.queue = q
	if err := w.createKernels(); err != nil {
		w.release()
		return nil, err
	}
	if w.dummy, _, err = w.newMem("a dummy buffer", 4, false); err != nil {
		w.release()
		return nil, err
	}
	return w, nil
}

// release waits for the worker's queue and frees everything it holds.
func (w *worker) release() error {
	var err error
	if w.queue != nil {
		err = w.finish()
	}
	w.releaseStaging()
	if w.dummy != nil {
		w.dummy.Release()
		w.b.unreserve(4)
		w.dummy = nil
	}
	for _, k := range w.kernels {
		k.k.Release()
	}
	w.kernels = nil
	if w.queue != nil {
		w.queue.Release()
		w.queue = nil
	}
	return err
}

// Name returns "opencl".
func (b *Backend) Name() string { return "opencl" }

// Device describes the device.
func (b *Backend) Device() dropout.DeviceInfo { return b.dev.info }

// begin starts a call: it returns ErrClosed after Close, and otherwise an
// idle worker, made on demand up to maxWorkers, waiting for one when all
// are busy. Every successful begin must be matched by end.
func (b *Backend) begin() (*worker, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, dropout.ErrClosed
	}
	b.active++
	for {
		if n := len(b.idle); n > 0 {
			w := b.idle[n-1]
			b.idle = b.idle[:n-1]
			return w, nil
		}
		if b.closed { // Close started while this call waited
			b.active--
			b.cond.Broadcast()
			return nil, dropout.ErrClosed
		}
		if b.workers < b.maxWorkers {
			b.workers++
			b.mu.Unlock()
			w, err := b.newWorker()
			b.mu.Lock()
			if err == nil {
				return w, nil
			}
			b.workers--
			if b.workers == 0 {
				b.active--
				b.cond.Broadcast()
				return nil, err
			}
			// The device has room for no more queues or kernels than
			// it already has: wait for one of those.
			b.maxWorkers = b.workers
			continue
		}
		b.cond.Wait()
	}
}

// end ends a call begun on w: it waits for what the call left on the
// queue (after an error), unpins the call's buffers and returns w to the
// idle workers.
func (b *Backend) end(w *worker) {
	if len(w.events) > 0 {
		w.finish() // the call returned its own error
	}
	for _, u := range w.pinned {
		u.unpin()
	}
	clear(w.pinned)
	w.pinned = w.pinned[:0]
	b.mu.Lock()
	b.idle = append(b.idle, w)
	b.active--
	b.cond.Broadcast()
	b.mu.Unlock()
}

// Close waits for the calls in flight, then releases every OpenCL object
// the backend holds: buffers, staging buffers, kernels, program, queues and
// context. Calls that start once Close has begun return ErrClosed. Closing
// twice is harmless; a second Close waits for the first to finish.
func (b *Backend) Close() error {
	var err error
	b.closeOnce.Do(func() { err = b.shutdown() })
	return err
}

// shutdown is Close.
func (b *Backend) shutdown() error {
	b.mu.Lock()
	b.closed = true
	b.cond.Broadcast()
	for b.active > 0 {
		b.cond.Wait()
	}
	ws := b.idle
	b.idle = nil
	bufs := make([]*buffer, 0, len(b.bufs))
	for u := range b.bufs {
		bufs = append(bufs, u)
	}
	b.mu.Unlock()

	var errs []error
	for _, w := range ws {
		errs = append(errs, w.finish())
	}
	for _, u := range bufs {
		u.mu.Lock()
		u.free()
		u.mu.Unlock()
	}
	for _, w := range ws {
		errs = append(errs, w.release())
	}
	if b.prog != nil {
		b.prog.Release()
	}
	if b.ctx != nil {
		b.ctx.Release()
	}
	return errors.Join(errs...)
}

// finish waits for every command enqueued so far and releases their events.
func (w *worker) finish() error {
	err := check("clFinish", w.queue.Finish())
	for _, ev := range w.events {
		ev.Release()
	}
	clear(w.events)
	w.events = w.events[:0]
	return err
}

// supports reports an error for element types the kernels lack.
func (b *Backend) supports(dt dropout.DType) error {
	switch dt {
	case dropout.Float32:
		return nil
	case dropout.Float64:
		if b.dev.fp64 {
			return nil
		}
		return fmt.Errorf("%w: float64 data: device %s has no cl_khr_fp64", dropout.ErrDType, b.dev.info.Name)
	}
	return fmt.Errorf("%w: %v data on the OpenCL backend", dropout.ErrDType, dt)
}

// DTypes returns the data types Forward and Backward accept on this device:
// float32, and float64 where the device has cl_khr_fp64.
func (b *Backend) DTypes() []dropout.DType {
	if b.dev.fp64 {
		return []dropout.DType{dropout.Float32, dropout.Float64}
	}
	return []dropout.DType{dropout.Float32}
}

// PhiloxBlocks runs the kernels' own Philox4x32-10 on the device: out[i] =
// philox4x32_10(ctr[i], key[i]). It exists so tests can check the OpenCL C
// Philox against the published known-answer vectors.
func (b *Backend) PhiloxBlocks(ctr [][4]uint32, key [][2]uint32) ([][4]uint32, error) {
	if len(ctr) != len(key) {
		return nil, fmt.Errorf("%w: %d counters, %d keys", dropout.ErrLength, len(ctr), len(key))
	}
	w, err := b.begin()
	if err != nil {
		return nil, err
	}
	defer b.end(w)
	n := len(ctr)
	if n == 0 {
		return nil, nil
	}
	in := make([]uint32, 0, 6*n)
	for i := range ctr {
		in = append(in, ctr[i][0], ctr[i][1], ctr[i][2], ctr[i][3], key[i][0], key[i][1])
	}
	// Staging buffers, kept like the others: allocating and releasing
	// buffers on each call would also trip Oclgrind's uninitialized-value
	// checker, which mistracks memory reused from a released buffer.
	inm, err := w.staged("philox_in", 4*len(in))
	if err != nil {
		return nil, err
	}
	outm, err := w.staged("philox_out", 16*n)
	if err != nil {
		return nil, err
	}
	if err := w.write(inm, 0, unsafe.Pointer(&in[0]), 4*len(in)); err != nil {
		return nil, err
	}
	if err := w.launch(w.kernels["philox_kat"], uint64(n), inm, outm, uint32(n)); err != nil {
		return nil, err
	}
	out := make([][4]uint32, n)
	if err := w.read(outm, 0, unsafe.Pointer(&out[0]), 16*n); err != nil {
		return nil, err
	}
	return out, w.finish()
}

// streamWords returns n consecutive words of the kernels' keystream of
// seed, from word offset on (modulo 2^64), computed on the device by the
// stream_words kernel with the same stream_block the dropout kernels use.
// Tests check it against the Go Philox where the block counter wraps.
func (b *Backend) streamWords(seed, offset uint64, n int) ([]uint32, error) {
	w, err := b.begin()
	if err != nil {
		return nil, err
	}
	defer b.end(w)
	if n == 0 {
		return nil, nil
	}
	m, err := w.staged("words", 4*n)
	if err != nil {
		return nil, err
	}
	if err := w.launch(w.kernels["stream_words"], uint64(n), m, uint64(n), offset, uint32(seed), uint32(seed>>32)); err != nil {
		return nil, err
	}
	out := make([]uint32, n)
	if err := w.read(m, 0, unsafe.Pointer(&out[0]), 4*n); err != nil {
		return nil, err
	}
	return out, w.finish()
}

func unsafePointer[T any](p *T) unsafe.Pointer { return unsafe.Pointer(p) }

var _ dropout.Backend = (*Backend)(nil)
