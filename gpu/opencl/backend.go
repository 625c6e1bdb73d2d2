//go:build cgo && !noopencl

package opencl

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
)

// Backend runs dropout on one OpenCL device. It implements dropout.Backend;
// its methods are safe for concurrent use (calls are serialized).
type Backend struct {
	mu      sync.Mutex
	dev     device
	ctx     *cl.Context
	queue   *cl.CommandQueue
	prog    *cl.Program
	kernels map[string]*kernel
	// dummy is bound to kernel arguments a call does not use.
	dummy *cl.MemObject
	// staging buffers for host tensors, by role, kept between calls.
	staging map[string]*stage
	// bufs are the live buffers Alloc returned; Close releases them.
	bufs     map[*buffer]struct{}
	events   []*cl.Event // events of commands enqueued since the last finish
	maxChunk int64       // Options.MaxChunkBytes, 0 for none
	maxItems int         // the most work-items of one launch
	closed   bool
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
		dev:      d,
		staging:  make(map[string]*stage),
		bufs:     make(map[*buffer]struct{}),
		maxChunk: opts.MaxChunkBytes,
		// Work-items per launch: enough to fill any device many times
		// over, few enough for any size_t and dispatch limit.
		maxItems: 1 << 24,
	}
	if err := b.init(src); err != nil {
		b.release()
		return nil, err
	}
	return b, nil
}

func (b *Backend) init(src string) error {
	ctx, err := cl.CreateContext([]*cl.Device{b.dev.dev})
	if err != nil {
		return check("clCreateContext", err)
	}
	b.ctx = ctx
	q, err := ctx.CreateCommandQueue(b.dev.dev, 0)
	if err != nil {
		return check("clCreateCommandQueue", err)
	}
	b.queue = q
	if err := b.build(src); err != nil {
		return err
	}
	b.dummy, err = b.newMem(4)
	return err
}

// Name returns "opencl".
func (b *Backend) Name() string { return "opencl" }

// Device describes the device.
func (b *Backend) Device() dropout.DeviceInfo { return b.dev.info }

// Close waits for the device and releases every OpenCL object the backend
// holds: buffers, staging buffers, kernels, program, queue and context.
// Closing twice is harmless.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	var err error
	if b.queue != nil {
		err = check("clFinish", b.queue.Finish())
	}
	b.release()
	return err
}

// release frees everything; b must not be used afterwards.
func (b *Backend) release() {
	b.closed = true
	for _, ev := range b.events {
		ev.Release()
	}
	b.events = nil
	for buf := range b.bufs {
		buf.mem.Release()
		buf.mem = nil
	}
	b.bufs = nil
	for _, s := range b.staging {
		s.mem.Release()
	}
	b.staging = nil
	if b.dummy != nil {
		b.dummy.Release()
	}
	for _, k := range b.kernels {
		k.k.Release()
	}
	b.kernels = nil
	if b.prog != nil {
		b.prog.Release()
	}
	if b.queue != nil {
		b.queue.Release()
	}
	if b.ctx != nil {
		b.ctx.Release()
	}
}

// lock locks b and reports ErrClosed after Close.
func (b *Backend) lock() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return dropout.ErrClosed
	}
	return nil
}

// finish waits for every command enqueued so far and releases their events.
func (b *Backend) finish() error {
	err := check("clFinish", b.queue.Finish())
	for _, ev := range b.events {
		ev.Release()
	}
	b.events = b.events[:0]
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
	if err := b.lock(); err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
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
	inm, err := b.staged("philox_in", 4*len(in))
	if err != nil {
		return nil, err
	}
	outm, err := b.staged("philox_out", 16*n)
	if err != nil {
		return nil, err
	}
	if err := b.write(inm, 0, unsafe.Pointer(&in[0]), 4*len(in)); err != nil {
		return nil, err
	}
	if err := b.launch(b.kernels["philox_kat"], uint64(n), inm, outm, uint32(n)); err != nil {
		return nil, err
	}
	out := make([][4]uint32, n)
	if err := b.read(outm, 0, unsafe.Pointer(&out[0]), 16*n); err != nil {
		return nil, err
	}
	return out, b.finish()
}

func unsafePointer[T any](p *T) unsafe.Pointer { return unsafe.Pointer(p) }

var errReleased = fmt.Errorf("%w: buffer released", dropout.ErrClosed)

var _ dropout.Backend = (*Backend)(nil)
