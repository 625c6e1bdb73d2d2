//go:build cgo && !noopencl

package opencl

// The hot enqueues call OpenCL directly rather than through go-opencl,
// whose wrappers create an event for every command: a call waits with
// clFinish, so the events would only be made and released for nothing
// (a cost per launch, and Oclgrind wants them released only once their
// commands completed). Only the asynchronous queue's commands make events
// (lastEvent). go-opencl keeps its handles in the first field of
// its CommandQueue, Kernel and MemObject structs (go.mod pins the
// version); handle reads them there.

/*
#include "clapi.h"

static cl_int dropout_enqueue_kernel(cl_command_queue q, cl_kernel k, size_t off, size_t global, size_t local, cl_event *ev)
{
	return clEnqueueNDRangeKernel(q, k, 1, &off, &global, &local, 0, NULL, ev);
}

static cl_int dropout_set_mem(cl_kernel k, cl_uint i, cl_mem m)
{
	return clSetKernelArg(k, i, sizeof m, &m);
}

static cl_int dropout_set_scalar(cl_kernel k, cl_uint i, size_t size, cl_ulong v)
{
	if (size == 4) {
		cl_uint w = (cl_uint)v;
		return clSetKernelArg(k, i, 4, &w);
	}
	return clSetKernelArg(k, i, 8, &v);
}

static cl_int dropout_enqueue_write(cl_command_queue q, cl_mem m, size_t off, size_t n, const void *src)
{
	return clEnqueueWriteBuffer(q, m, CL_TRUE, off, n, src, 0, NULL, NULL);
}

static cl_int dropout_enqueue_read(cl_command_queue q, cl_mem m, size_t off, size_t n, void *dst, cl_bool blocking)
{
	return clEnqueueReadBuffer(q, m, blocking, off, n, dst, 0, NULL, NULL);
}

static cl_int dropout_enqueue_copy(cl_command_queue q, cl_mem src, cl_mem dst, size_t soff, size_t doff, size_t n, cl_event *ev)
{
	return clEnqueueCopyBuffer(q, src, dst, soff, doff, n, 0, NULL, ev);
}
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"unsafe"

	"github.com/jgillich/go-opencl/cl"
)

// handle returns the OpenCL handle in the first field of a go-opencl
// object (a *cl.CommandQueue, *cl.Kernel or *cl.MemObject).
func handle[H any, T any](p *T) H { return *(*H)(unsafe.Pointer(p)) }

func status(op string, rc C.cl_int) error {
	if rc == C.CL_SUCCESS {
		return nil
	}
	return &clError{Op: op, Code: int(rc)}
}

// lastEvent holds the event of the last command the asynchronous queue
// enqueued (the other queues make no events): the event an asynchronous
// call returns, with no marker command of its own.
type lastEvent struct{ h C.cl_event }

// next releases the event held and returns where the next command's event
// goes: nil, for no event, on a nil lastEvent.
func (l *lastEvent) next() *C.cl_event {
	if l == nil {
		return nil
	}
	l.release()
	return &l.h
}

// release releases the event held, if any.
func (l *lastEvent) release() {
	if l != nil && l.h != nil {
		C.clReleaseEvent(l.h)
		l.h = nil
	}
}

// take returns the event held as a go-opencl event, which the caller
// releases (or its finalizer does), and holds none; nil if none was held.
func (l *lastEvent) take() *cl.Event {
	if l == nil || l.h == nil {
		return nil
	}
	ev := clObject[cl.Event](l.h)
	l.h = nil
	runtime.SetFinalizer(ev, (*cl.Event).Release) // as go-opencl's own events
	return ev
}

// enqueueKernel enqueues k over global work-items from global offset off
// in work-groups of local; its event goes to ev (none for a nil ev).
func enqueueKernel(q *cl.CommandQueue, k *kernel, off, global int, ev *lastEvent) error {
	rc := C.dropout_enqueue_kernel(handle[C.cl_command_queue](q), handle[C.cl_kernel](k.k),
		C.size_t(off), C.size_t(global), C.size_t(k.local), ev.next())
	if rc != C.CL_SUCCESS { // (the name built only on failure: no allocation per launch)
		return status("clEnqueueNDRangeKernel("+k.name+")", rc)
	}
	return nil
}

// arg is a kernel argument, comparable so that a launch sets only those
// that changed: a buffer (size 0), or the bits of a 4- or 8-byte scalar.
// Scalars are passed to OpenCL by value through C, so setting one
// allocates nothing.
type arg struct {
	mem  *cl.MemObject
	bits uint64
	size uint8
}

func bufArg(m *cl.MemObject) arg { return arg{mem: m} }
func u32Arg(v uint32) arg        { return arg{bits: uint64(v), size: 4} }
func u64Arg(v uint64) arg        { return arg{bits: v, size: 8} }
func f32Arg(v float32) arg       { return u32Arg(math.Float32bits(v)) }
func f64Arg(v float64) arg       { return u64Arg(math.Float64bits(v)) }

// setArg sets argument i of k to a.
func setArg(k *kernel, i int, a arg) error {
	var rc C.cl_int
	if a.size == 0 {
		rc = C.dropout_set_mem(handle[C.cl_kernel](k.k), C.cl_uint(i), handle[C.cl_mem](a.mem))
	} else {
		rc = C.dropout_set_scalar(handle[C.cl_kernel](k.k), C.cl_uint(i), C.size_t(a.size), C.cl_ulong(a.bits))
	}
	if rc != C.CL_SUCCESS {
		return status(fmt.Sprintf("clSetKernelArg(%s, %d)", k.name, i), rc)
	}
	return nil
}

// enqueueWrite copies src into m from byte off on, blocking: src is Go
// memory, which OpenCL must not keep.
func enqueueWrite(q *cl.CommandQueue, m *cl.MemObject, off int, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	rc := C.dropout_enqueue_write(handle[C.cl_command_queue](q), handle[C.cl_mem](m), C.size_t(off), C.size_t(len(src)), unsafe.Pointer(&src[0]))
	return status("clEnqueueWriteBuffer", rc)
}

// enqueueRead copies len(dst) bytes of m from byte off on into dst:
// before it returns when blocking, otherwise by the queue's next finish
// (the caller keeps dst alive and pinned until then).
func enqueueRead(q *cl.CommandQueue, dst []byte, m *cl.MemObject, off int, blocking bool) error {
	if len(dst) == 0 {
		return nil
	}
	b := C.cl_bool(C.CL_FALSE)
	if blocking {
		b = C.CL_TRUE
	}
	rc := C.dropout_enqueue_read(handle[C.cl_command_queue](q), handle[C.cl_mem](m), C.size_t(off), C.size_t(len(dst)), unsafe.Pointer(&dst[0]), b)
	return status("clEnqueueReadBuffer", rc)
}

// enqueueCopy copies n bytes from src at soff to dst at doff (any
// offsets and length); its event goes to ev (none for a nil ev).
func enqueueCopy(q *cl.CommandQueue, dst *cl.MemObject, doff int, src *cl.MemObject, soff int, n int, ev *lastEvent) error {
	rc := C.dropout_enqueue_copy(handle[C.cl_command_queue](q), handle[C.cl_mem](src), handle[C.cl_mem](dst), C.size_t(soff), C.size_t(doff), C.size_t(n), ev.next())
	return status("clEnqueueCopyBuffer", rc)
}
