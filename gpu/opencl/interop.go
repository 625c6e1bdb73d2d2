//go:build cgo && !noopencl

package opencl

// The pipeline API: a backend over the caller's context, device and
// in-order queue (NewBackend), the caller's cl_mem as a Buffer (Wrap), the
// cl_mem of a Buffer (Mem), and calls enqueued after an event wait list
// that return an event (ForwardAsync and the others). See "Pipelines" in
// the package documentation.

/*
#include "clapi.h"

static cl_int dropout_queue_info(cl_command_queue q, cl_context *ctx, cl_device_id *dev, cl_command_queue_properties *props)
{
	cl_int rc = clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof *ctx, ctx, NULL);
	if (rc == CL_SUCCESS)
		rc = clGetCommandQueueInfo(q, CL_QUEUE_DEVICE, sizeof *dev, dev, NULL);
	if (rc == CL_SUCCESS)
		rc = clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES, sizeof *props, props, NULL);
	return rc;
}

// dropout_context_has reports in *has whether dev is one of ctx's devices.
static cl_int dropout_context_has(cl_context ctx, cl_device_id dev, int *has)
{
	cl_uint n = 0;
	*has = 0;
	cl_int rc = clGetContextInfo(ctx, CL_CONTEXT_NUM_DEVICES, sizeof n, &n, NULL);
	if (rc != CL_SUCCESS || n == 0)
		return rc;
	cl_device_id devs[64];
	if (n > 64)
		n = 64;
	rc = clGetContextInfo(ctx, CL_CONTEXT_DEVICES, n * sizeof devs[0], devs, NULL);
	if (rc != CL_SUCCESS)
		return rc;
	for (cl_uint i = 0; i < n; i++)
		if (devs[i] == dev)
			*has = 1;
	return CL_SUCCESS;
}

static cl_int dropout_device_platform(cl_device_id dev, cl_platform_id *p)
{
	return clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof *p, p, NULL);
}

static cl_int dropout_mem_info(cl_mem m, cl_mem_object_type *type, cl_context *ctx, size_t *size)
{
	cl_int rc = clGetMemObjectInfo(m, CL_MEM_TYPE, sizeof *type, type, NULL);
	if (rc == CL_SUCCESS)
		rc = clGetMemObjectInfo(m, CL_MEM_CONTEXT, sizeof *ctx, ctx, NULL);
	if (rc == CL_SUCCESS)
		rc = clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof *size, size, NULL);
	return rc;
}

static cl_int dropout_barrier(cl_command_queue q, cl_uint n, const cl_event *wait)
{
	return clEnqueueBarrierWithWaitList(q, n, wait, NULL);
}

static cl_int dropout_marker(cl_command_queue q, cl_event *ev)
{
	return clEnqueueMarkerWithWaitList(q, 0, NULL, ev);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/kernels"
)

// ErrMismatch reports OpenCL objects given together that do not belong
// together: a device that is not one of the context's, a queue of another
// context or device, or memory of another context.
var ErrMismatch = errors.New("opencl: objects of different contexts or devices")

// clObject returns a new go-opencl object (a *cl.Context, *cl.CommandQueue
// or *cl.Event) holding handle h in its first field, as go-opencl keeps
// it, with its other fields zero: for objects this package retains or
// creates itself. It sets no finalizer.
func clObject[T any, H any](h H) *T {
	p := new(T)
	*(*H)(unsafe.Pointer(p)) = h
	return p
}

// NewBackend returns a backend over the caller's OpenCL objects: ctx, dev
// (one of ctx's devices) and q, an in-order command queue of ctx on dev.
// It builds the kernels in ctx; the asynchronous calls (ForwardAsync and
// the others) enqueue on q, and the synchronous API runs on queues of its
// own in ctx. opts.Device must be empty (the device is dev); the other
// options apply as they do to Open.
//
// The backend retains ctx, dev and q (clRetainContext, clRetainDevice,
// clRetainCommandQueue), so the caller may release its own references at
// any time; Close releases the backend's references and what it created
// (program, kernels, queues, buffers from Alloc), never the caller's
// objects. An out-of-order queue (CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
// is refused with dropout.ErrUnsupported: the asynchronous calls rely on
// the queue's order between their commands. A device not in ctx, or a
// queue of another context or device, is refused with ErrMismatch.
func NewBackend(ctx *cl.Context, dev *cl.Device, q *cl.CommandQueue, opts dropout.Options) (*Backend, error) {
	return newBackend(ctx, dev, q, opts, config{src: kernels.OpenCL})
}

func newBackend(ctx *cl.Context, dev *cl.Device, q *cl.CommandQueue, opts dropout.Options, cfg config) (*Backend, error) {
	if ctx == nil || dev == nil || q == nil {
		return nil, fmt.Errorf("%w: opencl: NewBackend needs a context, a device and a queue (got %v, %v, %v)",
			dropout.ErrUnsupported, ctx != nil, dev != nil, q != nil)
	}
	if opts.Device != "" {
		return nil, fmt.Errorf("%w: opencl: NewBackend runs on the device given, not Options.Device %q", dropout.ErrUnsupported, opts.Device)
	}
	hctx, hdev, hq := handle[C.cl_context](ctx), handle[C.cl_device_id](dev), handle[C.cl_command_queue](q)
	if hctx == nil || hdev == nil || hq == nil {
		return nil, fmt.Errorf("%w: opencl: NewBackend: a released context, device or queue", dropout.ErrUnsupported)
	}
	var has C.int
	if err := status("clGetContextInfo(CL_CONTEXT_DEVICES)", C.dropout_context_has(hctx, hdev, &has)); err != nil {
		return nil, err
	}
	if has == 0 {
		return nil, fmt.Errorf("%w: the device is not one of the context's", ErrMismatch)
	}
	var qctx C.cl_context
	var qdev C.cl_device_id
	var props C.cl_command_queue_properties
	if err := status("clGetCommandQueueInfo", C.dropout_queue_info(hq, &qctx, &qdev, &props)); err != nil {
		return nil, err
	}
	switch {
	case qctx != hctx:
		return nil, fmt.Errorf("%w: the queue is of another context", ErrMismatch)
	case qdev != hdev:
		return nil, fmt.Errorf("%w: the queue is of another device", ErrMismatch)
	case props&C.CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE != 0:
		return nil, fmt.Errorf("%w: an out-of-order command queue (CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE): the asynchronous calls need an in-order queue", dropout.ErrUnsupported)
	}
	d, err := describeCaller(dev)
	if err != nil {
		return nil, err
	}
	// The backend's own references.
	if err := status("clRetainContext", C.clRetainContext(hctx)); err != nil {
		return nil, err
	}
	if err := status("clRetainDevice", C.clRetainDevice(hdev)); err != nil {
		C.clReleaseContext(hctx)
		return nil, err
	}
	releaseDev := func() { C.clReleaseDevice(hdev) }
	cd, err := setupDevice(d, clObject[cl.Context](hctx), cfg)
	if err != nil { // setupDevice released the context
		releaseDev()
		return nil, err
	}
	cd.release = releaseDev
	if err := status("clRetainCommandQueue", C.clRetainCommandQueue(hq)); err != nil {
		cd.Close()
		return nil, err
	}
	own := clObject[cl.CommandQueue](hq)
	aq, err := cd.newQueueOn(own, true)
	if err != nil {
		own.Release()
		cd.Close()
		return nil, err
	}
	e, err := exec.New("opencl", cd, opts) // closes cd on error
	if err != nil {
		aq.releaseAsync()
		return nil, err
	}
	b := &Backend{Backend: e, dev: cd}
	b.as.q = aq
	return b, nil
}

// describeCaller describes the caller's device as devices does, with its
// index in Devices' list (-1 if it is not there).
func describeCaller(dev *cl.Device) (device, error) {
	var p C.cl_platform_id
	if err := status("clGetDeviceInfo(CL_DEVICE_PLATFORM)", C.dropout_device_platform(handle[C.cl_device_id](dev), &p)); err != nil {
		return device{}, err
	}
	plat := clObject[cl.Platform](p)
	pname, err1 := safe("clGetPlatformInfo(CL_PLATFORM_NAME)", plat.Name)
	pvendor, err2 := safe("clGetPlatformInfo(CL_PLATFORM_VENDOR)", plat.Vendor)
	if err := errors.Join(err1, err2); err != nil {
		return device{}, err
	}
	d, err := describe(dev, pname, pvendor)
	if err != nil {
		return device{}, err
	}
	d.info.Index = -1
	if all, err := devices(); err == nil {
		for _, a := range all {
			if handle[C.cl_device_id](a.dev) == handle[C.cl_device_id](dev) {
				d.info.Index = a.info.Index
			}
		}
	}
	return d, nil
}

// Context returns the backend's OpenCL context: the caller's for a
// backend from NewBackend. It belongs to the backend: do not release it.
func (b *Backend) Context() *cl.Context { return b.dev.ctx }

// CLDevice returns the backend's OpenCL device.
func (b *Backend) CLDevice() *cl.Device { return b.dev.dev.dev }

// Queue returns the in-order command queue the asynchronous calls enqueue
// on: the caller's for a backend from NewBackend, otherwise a queue the
// backend makes on first use and keeps until Close. It belongs to the
// backend: do not release it. After Close it is an error wrapping
// dropout.ErrClosed.
func (b *Backend) Queue() (*cl.CommandQueue, error) {
	b.as.mu.Lock()
	defer b.as.mu.Unlock()
	q, err := b.asyncQueue()
	if err != nil {
		return nil, err
	}
	return q.q, nil
}

// Wrap returns n elements of dt from byte offset off of m, a buffer of the
// backend's context, as a dropout.Buffer of this backend, without a copy:
// usable wherever a Buffer is, in the synchronous and the asynchronous
// calls. off must be a multiple of dt's size and off + n·size at most m's
// size (CL_MEM_SIZE), otherwise dropout.ErrLength; it need not be aligned
// otherwise (kernels take any element offset). Memory of another context
// is ErrMismatch, an image dropout.ErrUnsupported.
//
// The backend neither retains nor releases m: keep m alive while the
// Buffer is used (OpenCL itself keeps it for commands already enqueued).
// Releasing the Buffer, or closing the backend, leaves m as it is. Two
// Buffers over the same cl_mem (two Wraps, or a Wrap of Mem's handle) are
// one memory to the backend: operands that overlap there are
// dropout.ErrOverlap, as views of one buffer are.
func (b *Backend) Wrap(m *cl.MemObject, off int, dt dropout.DType, n int) (dropout.Buffer, error) {
	if m == nil || handle[C.cl_mem](m) == nil {
		return nil, fmt.Errorf("%w: opencl: Wrap of no memory object", dropout.ErrLength)
	}

	var typ C.cl_mem_object_type
	var ctx C.cl_context
	var size C.size_t
	if err := status("clGetMemObjectInfo", C.dropout_mem_info(handle[C.cl_mem](m), &typ, &ctx, &size)); err != nil {
		return nil, err
	}
	switch {
	case typ != C.CL_MEM_OBJECT_BUFFER:
		return nil, fmt.Errorf("%w: opencl: Wrap of an image (type %#x), not a buffer", dropout.ErrUnsupported, uint(typ))
	case uintptr(unsafe.Pointer(ctx)) != b.dev.ctxHandle:
		return nil, fmt.Errorf("%w: Wrap of memory of another context", ErrMismatch)
	}
	u, err := exec.Wrap(b.Backend, b.dev.memOf(m, int64(size)), int64(size), int64(off), dt, n)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Mem returns the OpenCL buffer of t, a Buffer of this backend (from
// Alloc, Wrap or Slice), and the byte offset of its element 0 there, for
// the caller's own kernels and copies. For a wrapped buffer it is the
// caller's cl_mem; otherwise the cl_mem belongs to the backend: do not
// release it; it stays valid until the buffer it was allocated as is
// released or the backend closes. Another backend's tensor is
// dropout.ErrForeignBuffer, a released one dropout.ErrReleased.
func (b *Backend) Mem(t dropout.Tensor) (*cl.MemObject, int, error) {
	m, off, err := exec.Native(b.Backend, t)
	if err != nil {
		return nil, 0, err
	}
	return m.(*mem).m, int(off), nil
}

// ForwardAsync enqueues Forward(dst, x, mask, p) on the backend's Queue
// after the events of wait, and returns an event that completes when its
// commands have. It waits for nothing on the host. Every tensor must be a
// Buffer of this backend; see "Pipelines" in the package documentation.
func (b *Backend) ForwardAsync(dst, x, mask dropout.Tensor, p dropout.Params, wait ...*cl.Event) (*cl.Event, error) {
	return b.enqueue(wait, func(q exec.Queue) error { return exec.ForwardOn(b.Backend, q, dst, x, mask, p) })
}

// BackwardAsync enqueues Backward(dx, dy, mask, p) as ForwardAsync does.
func (b *Backend) BackwardAsync(dx, dy, mask dropout.Tensor, p dropout.Params, wait ...*cl.Event) (*cl.Event, error) {
	return b.enqueue(wait, func(q exec.Queue) error { return exec.BackwardOn(b.Backend, q, dx, dy, mask, p) })
}

// ForwardFusedAsync enqueues ForwardFused(dst, x, bias, residual, mask, p)
// as ForwardAsync does.
func (b *Backend) ForwardFusedAsync(dst, x, bias, residual, mask dropout.Tensor, p dropout.Params, wait ...*cl.Event) (*cl.Event, error) {
	return b.enqueue(wait, func(q exec.Queue) error {
		return exec.ForwardFusedOn(b.Backend, q, dst, x, bias, residual, mask, p)
	})
}

// CopyAsync enqueues Copy(dst, src) between two Buffers of this backend
// as ForwardAsync does: one clEnqueueCopyBuffer.
func (b *Backend) CopyAsync(dst, src dropout.Tensor, wait ...*cl.Event) (*cl.Event, error) {
	return b.enqueue(wait, func(q exec.Queue) error { return exec.CopyOn(b.Backend, q, dst, src) })
}

// async is a backend's asynchronous queue: the caller's queue or one of
// its own, with its own kernel objects (a kernel's arguments are state),
// used by one call at a time.
type async struct {
	mu     sync.Mutex
	q      *clQueue // nil until the first use on a backend from Open
	closed bool
}

// asyncQueue returns the asynchronous queue, making it on first use. b.as.mu
// is held.
func (b *Backend) asyncQueue() (*clQueue, error) {
	if b.as.closed {
		return nil, fmt.Errorf("%w: %s", dropout.ErrClosed, b.Name())
	}
	if b.as.q == nil {
		q, err := b.dev.ctx.CreateCommandQueue(b.dev.dev.dev, 0)
		if err != nil {
			return nil, check("clCreateCommandQueue", err)
		}
		cq, err := b.dev.newQueueOn(q, true)
		if err != nil {
			q.Release()
			return nil, err
		}
		b.as.q = cq
	}
	return b.as.q, nil
}

// enqueue runs f on the asynchronous queue after the events of wait (a
// barrier with them as its wait list) and returns the event of the last
// command f enqueued (in order, it completes after the others), or, if f
// enqueued none, that of a marker. On an error it returns no event; what was enqueued before
// the error stays enqueued.
func (b *Backend) enqueue(wait []*cl.Event, f func(exec.Queue) error) (*cl.Event, error) {
	hs := make([]C.cl_event, len(wait))
	for i, ev := range wait {
		if ev == nil || handle[C.cl_event](ev) == nil {
			return nil, fmt.Errorf("%w: opencl: event %d of the wait list is nil or released", dropout.ErrUnsupported, i)
		}
		hs[i] = handle[C.cl_event](ev)
	}
	b.as.mu.Lock()
	defer b.as.mu.Unlock()
	q, err := b.asyncQueue()
	if err != nil {
		return nil, err
	}
	if len(hs) > 0 {
		err := status("clEnqueueBarrierWithWaitList", C.dropout_barrier(handle[C.cl_command_queue](q.q), C.cl_uint(len(hs)), &hs[0]))
		runtime.KeepAlive(wait) // (their finalizers release the handles)
		if err != nil {
			return nil, err
		}
	}
	q.last.release()
	if err := f(q); err != nil {
		q.last.release()
		return nil, err
	}
	if ev := q.last.take(); ev != nil { // the event of the call's last command
		return ev, nil
	}
	var h C.cl_event // no command (nothing to do): a marker's
	if err := status("clEnqueueMarkerWithWaitList", C.dropout_marker(handle[C.cl_command_queue](q.q), &h)); err != nil {
		return nil, err
	}
	ev := clObject[cl.Event](h)
	runtime.SetFinalizer(ev, (*cl.Event).Release) // as go-opencl's own events
	return ev, nil
}

// Close closes the backend (see dropout.Backend): it waits for the calls
// in flight, synchronous and asynchronous (those being enqueued, not the
// device work they enqueued), and releases what the backend created and
// its references to the caller's objects. Commands already enqueued
// complete: OpenCL keeps what they use. Closing twice is harmless.
func (b *Backend) Close() error {
	b.as.mu.Lock()
	if !b.as.closed {
		b.as.closed = true
		if b.as.q != nil {
			b.as.q.releaseAsync()
			b.as.q = nil
		}
	}
	b.as.mu.Unlock()
	return b.Backend.Close()
}
