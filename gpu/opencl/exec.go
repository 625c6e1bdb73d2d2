//go:build cgo && !noopencl

package opencl

import (
	"cmp"
	"fmt"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/internal/exec"
)

// This file is the backend's exec.Device: memory and command queues on
// one OpenCL device, and the executor's kernels mapped onto those of
// kernels/opencl/dropout.cl:
//
//	GenNone, GenBytes       fwd_T (flags F_BYTES for a byte mask)
//	GenBits                 fwdbits_T
//	MaskBits, MaskBytes     fwdbits_T, fwd_T with F_MASKONLY (| F_BYTES); no data
//	ReadBits, ReadBytes     bwdbits_T, bwdbytes_T
//	ApplyBits, ApplyBytes   bcast_T (bits = 1, 0), the dims in a buffer as ulong pairs
//	Copy                    clEnqueueCopyBuffer
//	Zero                    zero_words
//
// T is f32 or f64, with _copy appended for Args.CopyKept (p = 0), and
// Args.DropAll is F_DROPALL. Views' byte offsets become the kernels'
// element offsets (data), byte offsets (byte masks) or word offsets (bit
// masks); the executor keeps them aligned.

// Flags of the kernels.
const (
	fDropAll  = 1 // p = 1
	fBytes    = 4 // write a byte mask
	fMaskOnly = 8 // write the mask only
)

// queues is how many calls of one backend run side by side, each on its
// own command queue with its own kernel objects.
const queues = 4

// defaultMaxItems is the most work-items of one enqueue: enough to fill
// any device many times over, few enough for any dispatch limit.
const defaultMaxItems = 1 << 24

// clDevice is an exec.Device: a context and the program built for it.
type clDevice struct {
	dev      device
	ctx      *cl.Context
	prog     *cl.Program
	info     exec.Info
	maxItems int           // work-items of one enqueue
	dummy    *cl.MemObject // bound to the kernel arguments a launch does not use

	// What the executor holds, for tests.
	held, mems, queues atomic.Int64
}

// mem is an allocation: an exec.Mem.
type mem struct {
	m    *cl.MemObject
	size int64
}

// newDevice creates a context on d and builds cfg.src for it.
func newDevice(d device, cfg config) (_ *clDevice, err error) {
	cd := &clDevice{dev: d, maxItems: cmp.Or(cfg.maxItems, defaultMaxItems)}
	defer func() {
		if err != nil {
			cd.Close()
		}
	}()
	if cd.ctx, err = cl.CreateContext([]*cl.Device{d.dev}); err != nil {
		return nil, check("clCreateContext", err)
	}
	if cd.prog, err = build(cd.ctx, d, cfg.src); err != nil {
		return nil, err
	}
	if cd.dummy, err = cd.ctx.CreateBuffer(cl.MemReadWrite|cl.MemCopyHostPtr, make([]byte, 4)); err != nil {
		return nil, check("clCreateBuffer", err)
	}
	cd.info = exec.Info{DeviceInfo: d.info, DTypes: slices.Clone(d.info.Caps.DTypes), Queues: queues,
		HostMemory: d.info.Emulated, DirectCopy: true}
	if cfg.tune != nil {
		cfg.tune(&cd.info)
	}
	return cd, nil
}

// Info implements exec.Device.
func (d *clDevice) Info() exec.Info { return d.info }

// Alloc implements exec.Device.
func (d *clDevice) Alloc(size int64) (exec.Mem, error) {
	m, err := d.ctx.CreateEmptyBuffer(cl.MemReadWrite, int(size))
	if err != nil {
		return nil, check("clCreateBuffer", err)
	}
	d.held.Add(size)
	d.mems.Add(1)
	return &mem{m, size}, nil
}

// Free implements exec.Device.
func (d *clDevice) Free(x exec.Mem) {
	m := x.(*mem)
	m.m.Release()
	d.held.Add(-m.size)
	d.mems.Add(-1)
}

// NewQueue implements exec.Device: an in-order command queue with its own
// kernel objects.
func (d *clDevice) NewQueue() (exec.Queue, error) {
	q, err := d.ctx.CreateCommandQueue(d.dev.dev, 0)
	if err != nil {
		return nil, check("clCreateCommandQueue", err)
	}
	ks, err := d.newKernels()
	if err != nil {
		q.Release()
		return nil, err
	}
	d.queues.Add(1)
	return &clQueue{d: d, q: q, k: ks}, nil
}

// Close implements exec.Device.
func (d *clDevice) Close() error {
	if d.dummy != nil {
		d.dummy.Release()
	}
	if d.prog != nil {
		d.prog.Release()
	}
	if d.ctx != nil {
		d.ctx.Release()
	}
	return nil
}

// clQueue is an exec.Queue: an in-order command queue, its kernels and
// the events of what it has queued since the last Wait.
type clQueue struct {
	d      *clDevice
	q      *cl.CommandQueue
	k      *kernelSet
	events []*cl.Event
	// dims holds the broadcast table of Apply launches, dimsVal its
	// contents, so that the chunks of a call upload it once.
	dims    *cl.MemObject
	dimsCap int
	dimsVal []uint64
}

func (q *clQueue) mem(v exec.View) *cl.MemObject {
	if v.Mem == nil {
		return q.d.dummy
	}
	return v.Mem.(*mem).m
}

// track keeps the event of an enqueue until Wait: events are released
// only once their commands completed, which some implementations
// (Oclgrind) need.
func (q *clQueue) track(ev *cl.Event) {
	if ev != nil {
		q.events = append(q.events, ev)
	}
}

// Upload implements exec.Queue with a blocking write: src is the caller's
// (Go memory that OpenCL may not keep), and may change once Upload returns.
func (q *clQueue) Upload(dst exec.View, src []byte) error {
	return q.write(q.mem(dst), int(dst.Off), src)
}

func (q *clQueue) write(m *cl.MemObject, off int, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	ev, err := q.q.EnqueueWriteBuffer(m, true, off, len(src), unsafe.Pointer(&src[0]), nil)
	q.track(ev)
	return check("clEnqueueWriteBuffer", err)
}

// Download implements exec.Queue with a blocking read.
func (q *clQueue) Download(dst []byte, src exec.View) error {
	return q.read(dst, q.mem(src), int(src.Off))
}

func (q *clQueue) read(dst []byte, m *cl.MemObject, off int) error {
	if len(dst) == 0 {
		return nil
	}
	ev, err := q.q.EnqueueReadBuffer(m, true, off, len(dst), unsafe.Pointer(&dst[0]), nil)
	q.track(ev)
	return check("clEnqueueReadBuffer", err)
}

// Wait implements exec.Queue: clFinish.
func (q *clQueue) Wait() error {
	err := check("clFinish", q.q.Finish())
	for _, ev := range q.events {
		ev.Release()
	}
	clear(q.events)
	q.events = q.events[:0]
	return err
}

// Release implements exec.Queue.
func (q *clQueue) Release() error {
	err := q.Wait()
	q.k.release()
	if q.dims != nil {
		q.dims.Release()
	}
	q.q.Release()
	q.d.queues.Add(-1)
	return err
}

// Launch implements exec.Queue.
func (q *clQueue) Launch(k exec.Kernel, a *exec.Args) error {
	n := uint64(a.N)
	switch k {
	case exec.Copy:
		ev, err := q.q.EnqueueCopyBuffer(q.mem(a.X), q.mem(a.Y), int(a.X.Off), int(a.Y.Off), int(a.N), nil)
		q.track(ev)
		return check("clEnqueueCopyBuffer", err)
	case exec.Zero:
		return q.launch(q.k.zero, n/4, q.mem(a.Y), uint64(a.Y.Off/4), n/4)
	}
	t, es := 0, int64(4)
	var scale any = a.Scale32
	if a.DType == dropout.Float64 {
		t, es, scale = 1, 8, a.Scale64
	}
	c := 0
	if a.CopyKept {
		c = 1
	}
	kern := func(f int) (*kernel, error) {
		if kn := q.k.data[f][t][c]; kn != nil {
			return kn, nil
		}
		return nil, fmt.Errorf("%w: %v data on %s (no cl_khr_fp64)", dropout.ErrDType, a.DType, q.d.dev.info.Name)
	}
	flags := uint32(0)
	if a.DropAll {
		flags |= fDropAll
	}
	y, yoff, x, xoff := q.mem(a.Y), uint64(a.Y.Off/es), q.mem(a.X), uint64(a.X.Off/es)
	m, moff := q.mem(a.M), uint64(a.M.Off)
	k0, k1 := uint32(a.Seed), uint32(a.Seed>>32)
	fam, items := famFwd, (n+a.G0&3+3)/4
	switch k {
	case exec.GenBytes:
		flags |= fBytes
	case exec.MaskBytes:
		flags |= fBytes | fMaskOnly
	case exec.GenBits, exec.MaskBits:
		fam, items, moff = famFwdBits, (n+31)/32, moff/4
		if k == exec.MaskBits {
			flags |= fMaskOnly
		}
	case exec.ReadBytes, exec.ReadBits:
		fam, items = famBwdBytes, (n+3)/4
		if k == exec.ReadBits {
			fam, items, moff = famBwdBits, (n+31)/32, moff/4
		}
		kn, err := kern(fam)
		if err != nil {
			return err
		}
		return q.launch(kn, items, y, yoff, x, xoff, m, moff, n, flags, scale)
	case exec.ApplyBits, exec.ApplyBytes:
		kn, err := kern(famBcast)
		if err != nil {
			return err
		}
		dims, err := q.table(a.Dims)
		if err != nil {
			return err
		}
		bits := uint32(0)
		if k == exec.ApplyBits {
			bits = 1
		}
		return q.launch(kn, n, y, yoff, x, xoff, m, moff, uint64(a.I0), n, dims, uint32(len(a.Dims)), bits, flags, scale)
	}
	kn, err := kern(fam)
	if err != nil {
		return err
	}
	return q.launch(kn, items, y, yoff, x, xoff, m, moff, n, a.G0, k0, k1, a.Thresh, flags, scale)
}

// table returns a buffer holding dims as (size, stride) pairs of ulongs.
func (q *clQueue) table(dims []exec.Dim) (*cl.MemObject, error) {
	v := make([]uint64, 0, 2*len(dims))
	for _, d := range dims {
		v = append(v, uint64(d.Size), uint64(d.Stride))
	}
	if len(v) == 0 {
		return q.d.dummy, nil
	}
	if q.dims != nil && slices.Equal(v, q.dimsVal) {
		return q.dims, nil
	}
	if size := 8 * len(v); q.dimsCap < size {
		if q.dims != nil {
			q.dims.Release() // freed once the launches using it are done
			q.dims, q.dimsCap = nil, 0
		}
		size = max(size, 256)
		m, err := q.d.ctx.CreateEmptyBuffer(cl.MemReadOnly, size)
		if err != nil {
			return nil, check("clCreateBuffer", err)
		}
		q.dims, q.dimsCap = m, size
	}
	q.dimsVal = nil
	if err := q.write(q.dims, 0, bytesOf(v)); err != nil {
		return nil, err
	}
	q.dimsVal = v
	return q.dims, nil
}

// launch sets the kernel's arguments and enqueues it over items
// work-items, one per unit of work, in enqueues of at most maxItems
// work-items from a global work offset, so that any count fits the
// device's dispatch limits.
func (q *clQueue) launch(k *kernel, items uint64, args ...any) error {
	for i, a := range args {
		var err error
		switch v := a.(type) {
		case *cl.MemObject:
			err = k.k.SetArgBuffer(i, v)
		case uint64:
			err = k.k.SetArgUint64(i, v)
		case uint32:
			err = k.k.SetArgUint32(i, v)
		case float32:
			err = k.k.SetArgFloat32(i, v)
		case float64:
			err = k.k.SetArgUnsafe(i, 8, unsafe.Pointer(&v))
		default:
			return fmt.Errorf("opencl: internal error: kernel %s argument %d has type %T", k.name, i, a)
		}
		if err != nil {
			return check(fmt.Sprintf("clSetKernelArg(%s, %d)", k.name, i), err)
		}
	}
	local := uint64(k.local)
	step := max(local, uint64(q.d.maxItems)/local*local) // whole work-groups
	for start := uint64(0); start < items; start += step {
		global := (min(items-start, step) + local - 1) / local * local
		ev, err := q.q.EnqueueNDRangeKernel(k.k, []int{int(start)}, []int{int(global)}, []int{int(local)}, nil)
		q.track(ev)
		if err != nil {
			return check("clEnqueueNDRangeKernel("+k.name+")", err)
		}
	}
	return nil
}
