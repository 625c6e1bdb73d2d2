//go:build cgo && !noopencl

package opencl

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"weak"

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
//	MaskBits, MaskBytes     fwdbits_T, fwd_T with F_MASKONLY (| F_BYTES); no data;
//	                        with Args.Words mask_map, the map in a buffer as ulong pairs
//	ReadBits, ReadBytes     bwd_T (F_BYTES for bytes)
//	ApplyBits, ApplyBytes   bcast_T (F_BYTES for bytes), the dims in a buffer as ulong pairs
//	Copy                    clEnqueueCopyBuffer
//	Zero                    zero_words
//
// T is f32, f64, f16 or bf16, with _copy appended for Args.CopyKept
// (p = 0) and then _u when a data view (Y, X, R) starts at an element
// offset that is not a multiple of 4 (views may start at any element: the
// _u kernels access data with vload4/vstore4, the others with 16-byte
// vector pointer casts); Args.DropAll is F_DROPALL, Alpha F_ALPHA, HasBias
// F_BIAS and HasResid F_RESID. Views' byte offsets become the kernels'
// element offsets (data, the bias included), byte offsets (byte masks) or
// word offsets (bit masks, whose views start on words). Copy takes any
// byte offsets and length, as clEnqueueCopyBuffer does.
//
// Launches: on a GPU the program is built with GRID_STRIDE and a launch
// is one enqueue of a grid sized to the device (compute units × 2048
// work-items, the resident threads of a streaming multiprocessor or
// compute unit), each work-item looping over units a grid apart; elsewhere
// (PoCL, whose compiler vectorises loop-free kernels across work-items,
// and measures faster so) one work-item per unit, in enqueues of at most
// maxItems work-items from a global work offset. Kernel arguments are set
// only when they change (each queue has its own kernel objects; they are
// typed values, not interfaces, and scalars go to OpenCL by value, so a
// launch allocates nothing), and no command makes an event: a call ends
// with clFinish.

// Flags of the kernels.
const (
	fDropAll  = 1  // p = 1
	fBytes    = 4  // a byte mask
	fMaskOnly = 8  // write the mask only
	fAlpha    = 16 // alpha dropout
	fBias     = 32 // fused: add the bias
	fResid    = 64 // fused: add the residual
)

// queues is how many calls of one backend run side by side, each on its
// own command queue with its own kernel objects.
const queues = 4

// maxLaunchElems is the most elements of one launch (exec.Info's
// MaxLaunchElems): the kernels index a launch's elements with 32 bits.
const maxLaunchElems = 1 << 30

// defaultMaxItems is the most work-items of one flat enqueue: as many as
// the largest launch has units (maxLaunchElems/4), so that a call on
// device buffers is one enqueue per kernel.
const defaultMaxItems = maxLaunchElems / 4

// gridItemsPerUnit is the work-items of a grid-stride launch per compute
// unit: the resident threads of an NVIDIA streaming multiprocessor (2048;
// an AMD compute unit holds 2560).
const gridItemsPerUnit = 2048

// clDevice is an exec.Device: a context and the program built for it.
type clDevice struct {
	dev       device
	ctx       *cl.Context
	ctxHandle uintptr // ctx's cl_context, kept: Close clears it in ctx
	prog      *cl.Program
	info      exec.Info
	maxItems  int           // work-items of one flat enqueue
	grid      int           // work-items of a grid-stride launch; 0: flat launches
	dummy     *cl.MemObject // bound to the kernel arguments a launch does not use
	release   func()        // releases the caller's device (NewBackend); nil otherwise

	// byHandle finds the *mem of a cl_mem, so that the executor, which
	// compares Mems, sees one memory in every Buffer over one cl_mem
	// (Alloc's and Wrap's). Entries of wrapped memory go when nothing
	// refers to their *mem any more.
	memMu    sync.Mutex
	byHandle map[uintptr]weak.Pointer[mem]

	// What the executor holds, and the host tensors it mapped, for tests.
	held, mems, queues, maps atomic.Int64
}

// mem is an allocation, or a caller's cl_mem (Wrap): an exec.Mem.
type mem struct {
	m    *cl.MemObject
	size int64
}

// newDevice creates a context on d and builds cfg.src for it.
func newDevice(d device, cfg config) (*clDevice, error) {
	ctx, err := cl.CreateContext([]*cl.Device{d.dev})
	if err != nil {
		return nil, check("clCreateContext", err)
	}
	return setupDevice(d, ctx, cfg)
}

// setupDevice builds cfg.src for d in ctx, a context the device owns (it
// releases it at Close, or here on an error).
func setupDevice(d device, ctx *cl.Context, cfg config) (_ *clDevice, err error) {
	cd := &clDevice{dev: d, ctx: ctx, ctxHandle: handle[uintptr](ctx), maxItems: cmp.Or(cfg.maxItems, defaultMaxItems), byHandle: map[uintptr]weak.Pointer[mem]{}}
	if cfg.grid || d.info.Kind == dropout.KindGPU && !cfg.flat {
		cd.grid = max(1, d.units) * gridItemsPerUnit
	}
	defer func() {
		if err != nil {
			cd.Close()
		}
	}()
	opts := ""
	if cd.grid > 0 {
		opts = "-DGRID_STRIDE"
	}
	if cd.prog, err = build(cd.ctx, d, cfg.src, opts); err != nil {
		return nil, err
	}
	if cd.dummy, err = cd.ctx.CreateBuffer(cl.MemReadWrite|cl.MemCopyHostPtr, make([]byte, 4)); err != nil {
		return nil, check("clCreateBuffer", err)
	}
	cd.info = exec.Info{DeviceInfo: d.info, DTypes: slices.Clone(d.info.Caps.DTypes), Queues: queues,
		HostMemory: d.info.Emulated, DirectCopy: true, Overlap: !d.info.Emulated, MaxLaunchElems: maxLaunchElems}
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
	x := &mem{m, size}
	d.memMu.Lock()
	d.byHandle[handle[uintptr](m)] = weak.Make(x)
	d.memMu.Unlock()
	return x, nil
}

// memOf returns the *mem of m, a cl_mem of size bytes: the one Alloc or an
// earlier memOf made for it while it is live, else a new one.
func (d *clDevice) memOf(m *cl.MemObject, size int64) *mem {
	h := handle[uintptr](m)
	d.memMu.Lock()
	defer d.memMu.Unlock()
	if x := d.byHandle[h].Value(); x != nil && handle[uintptr](x.m) == h && x.size == size {
		return x
	} // (else none, or one of a cl_mem released since, whose handle a new one reuses)
	x := &mem{m, size}
	wp := weak.Make(x)
	d.byHandle[h] = wp
	runtime.AddCleanup(x, func(h uintptr) {
		d.memMu.Lock()
		if d.byHandle[h] == wp {
			delete(d.byHandle, h)
		}
		d.memMu.Unlock()
	}, h)
	return x
}

// Free implements exec.Device.
func (d *clDevice) Free(x exec.Mem) {
	m := x.(*mem)
	d.memMu.Lock()
	if d.byHandle[handle[uintptr](m.m)].Value() == m {
		delete(d.byHandle, handle[uintptr](m.m))
	}
	d.memMu.Unlock()
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
	cq, err := d.newQueueOn(q, false)
	if err != nil {
		q.Release()
		return nil, err
	}
	d.queues.Add(1)
	return cq, nil
}

// newQueueOn returns a queue over q, an in-order command queue of d's
// context, with kernel objects of its own; async marks the queue of the
// asynchronous calls (see clQueue.async).
func (d *clDevice) newQueueOn(q *cl.CommandQueue, async bool) (*clQueue, error) {
	ks, err := d.newKernels()
	if err != nil {
		return nil, err
	}
	cq := &clQueue{d: d, q: q, k: ks, async: async}
	if async {
		cq.last = &lastEvent{}
	}
	return cq, nil
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
	if d.release != nil {
		d.release()
	}
	return nil
}

// clQueue is an exec.Queue: an in-order command queue and its kernels.
type clQueue struct {
	d *clDevice
	q *cl.CommandQueue
	k *kernelSet
	// dims and words hold the tables of Apply and word-map launches, so
	// that the chunks of a call upload them once.
	dims, words devTable
	argv        [24]arg // Launch's arguments, kept to allocate none per launch
	// async marks the queue of the asynchronous calls, which the host never
	// waits for: its tables are new buffers made with a copy of their
	// values (CL_MEM_COPY_HOST_PTR) rather than blocking writes, and last
	// holds the event of its last command (nil on other queues).
	async bool
	last  *lastEvent
	// pin keeps the host memory of Download's non-blocking reads where it
	// is until Wait's clFinish.
	pin runtime.Pinner
}

// devTable is a small device buffer of ulongs and what it holds.
type devTable struct {
	m   *cl.MemObject
	cap int
	val []uint64
}

func (q *clQueue) mem(v exec.View) *cl.MemObject {
	if v.Mem == nil {
		return q.d.dummy
	}
	return v.Mem.(*mem).m
}

// Upload implements exec.Queue with a blocking write: src is the caller's
// (Go memory that OpenCL may not keep), and may change once Upload returns.
func (q *clQueue) Upload(dst exec.View, src []byte) error {
	return enqueueWrite(q.q, q.mem(dst), int(dst.Off), src)
}

// Download implements exec.Queue with a blocking read.
// Download implements exec.Queue: a non-blocking read, done by Wait, so
// that the host stages the next chunk on another queue meanwhile
// (exec.Info.Overlap).
func (q *clQueue) Download(dst []byte, src exec.View) error {
	if len(dst) > 0 {
		q.pin.Pin(&dst[0])
	}
	return enqueueRead(q.q, dst, q.mem(src), int(src.Off), false)
}

// Wait implements exec.Queue: clFinish.
func (q *clQueue) Wait() error {
	err := check("clFinish", q.q.Finish())
	q.pin.Unpin()
	return err
}

// Flush implements exec.Flusher: clFlush, so that a driver that batches
// commands (NVIDIA's does) starts a chunk's while the host stages the next.
func (q *clQueue) Flush() error { return check("clFlush", q.q.Flush()) }

// Release implements exec.Queue.
func (q *clQueue) Release() error {
	err := q.Wait()
	q.k.release()
	for _, t := range []*devTable{&q.dims, &q.words} {
		if t.m != nil {
			t.m.Release()
		}
	}
	q.q.Release()
	q.d.queues.Add(-1)
	return err
}

// releaseAsync releases the asynchronous queue (the backend's reference to
// it) and its kernels without waiting: commands already enqueued keep
// what they use.
func (q *clQueue) releaseAsync() {
	q.last.release()
	q.k.release()
	for _, t := range []*devTable{&q.dims, &q.words} {
		if t.m != nil {
			t.m.Release()
		}
	}
	q.q.Release()
}

// The element types of the kernels, in kernelSet.data's order.
var typeIndex = map[dropout.DType]int{dropout.Float32: 0, dropout.Float64: 1, dropout.Float16: 2, dropout.BFloat16: 3}

// Launch implements exec.Queue.
func (q *clQueue) Launch(k exec.Kernel, a *exec.Args) error {
	n := uint64(a.N)
	switch k {
	case exec.Copy:
		return enqueueCopy(q.q, q.mem(a.Y), int(a.Y.Off), q.mem(a.X), int(a.X.Off), int(a.N), q.last)
	case exec.Zero:
		return q.launch(q.k.zero, n/4, bufArg(q.mem(a.Y)), u64Arg(uint64(a.Y.Off/4)), u32Arg(uint32(n/4)))
	}
	k0, k1 := uint32(a.Seed), uint32(a.Seed>>32)
	flags := uint32(0)
	if a.DropAll {
		flags |= fDropAll
	}
	if k.Format() == dropout.MaskBytes {
		flags |= fBytes
	}
	if a.Words != nil { // a region's mask through its word map
		words, err := table(q, &q.words, a.Words, func(w exec.WordDim) (uint64, uint64) { return uint64(w.Size), w.Stride })
		if err != nil {
			return err
		}
		return q.launch(q.k.maskMap, (n+31)/32, bufArg(q.mem(a.M)), u64Arg(uint64(a.M.Off/4)), u32Arg(uint32(n)),
			u64Arg(uint64(a.I0)), u64Arg(a.G0), u32Arg(k0), u32Arg(k1), u32Arg(a.Thresh), u32Arg(flags),
			bufArg(words), u32Arg(uint32(len(a.Words))))
	}
	if a.Alpha {
		flags |= fAlpha
	}
	if a.HasBias {
		flags |= fBias
		if a.BiasLen > math.MaxUint32 {
			return fmt.Errorf("%w: a bias of %d elements on %s (at most 2^32-1)", dropout.ErrUnsupported, a.BiasLen, q.d.dev.info.Name)
		}
	}
	if a.HasResid {
		flags |= fResid
	}
	fam, moff := famFwd, uint64(a.M.Off)
	switch k {
	case exec.GenBits, exec.MaskBits:
		fam, moff = famFwdBits, moff/4
	case exec.ReadBits:
		fam, moff = famBwd, moff/4
	case exec.ReadBytes:
		fam = famBwd
	case exec.ApplyBits, exec.ApplyBytes:
		fam = famBcast
	}
	if k == exec.MaskBits || k == exec.MaskBytes {
		flags |= fMaskOnly
	}
	t, ok := typeIndex[a.DType]
	c := 0
	if a.CopyKept {
		c = 1
	}
	es := int64(a.DType.Size())
	u := 0
	if (a.Y.Off|a.X.Off|a.R.Off)/es%4 != 0 {
		u = 1
	}
	var kn *kernel
	if ok {
		kn = q.k.data[fam][t][c][u]
	}
	if kn == nil {
		return fmt.Errorf("%w: %v data on %s", dropout.ErrDType, a.DType, q.d.dev.info.Name)
	}
	s, A, B, D := f32Arg(a.Scale32), f32Arg(a.A32), f32Arg(a.B32), f32Arg(a.D32)
	if a.DType == dropout.Float64 {
		s, A, B, D = f64Arg(a.Scale64), f64Arg(a.A64), f64Arg(a.B64), f64Arg(a.D64)
	}
	args := append(q.argv[:0], bufArg(q.mem(a.Y)), u64Arg(uint64(a.Y.Off/es)), bufArg(q.mem(a.X)), u64Arg(uint64(a.X.Off/es)),
		bufArg(q.mem(a.M)), u64Arg(moff), bufArg(q.mem(a.B)), u64Arg(uint64(a.B.Off/es)), bufArg(q.mem(a.R)), u64Arg(uint64(a.R.Off/es)), u32Arg(uint32(n)),
		u64Arg(a.G0), u32Arg(k0), u32Arg(k1), u32Arg(a.Thresh), u32Arg(flags),
		s, A, B, D, u64Arg(uint64(a.I0)), u64Arg(uint64(max(a.BiasLen, 1))))
	if fam == famBcast {
		dims, err := table(q, &q.dims, a.Dims, func(d exec.Dim) (uint64, uint64) { return uint64(d.Size), uint64(d.Stride) })
		if err != nil {
			return err
		}
		args = append(args, bufArg(dims), u32Arg(uint32(len(a.Dims))))
	}
	return q.launch(kn, (n+3)/4, args...)
}

// table returns t's buffer holding rows as (size, stride) pairs of ulongs,
// uploading them only when they changed.
func table[R any](q *clQueue, t *devTable, rows []R, pair func(R) (uint64, uint64)) (*cl.MemObject, error) {
	v := make([]uint64, 0, 2*len(rows))
	for _, r := range rows {
		a, b := pair(r)
		v = append(v, a, b)
	}
	if len(v) == 0 {
		return q.d.dummy, nil
	}
	if t.m != nil && slices.Equal(v, t.val) {
		return t.m, nil
	}
	if q.async { // no blocking write: a new buffer (the old one is freed once the commands using it are done)
		m, err := q.d.ctx.CreateBuffer(cl.MemReadOnly|cl.MemCopyHostPtr, bytesOf(v))
		if err != nil {
			return nil, check("clCreateBuffer", err)
		}
		if t.m != nil {
			t.m.Release()
		}
		t.m, t.cap, t.val = m, len(v)*8, v
		return m, nil
	}
	if size := 8 * len(v); t.cap < size {
		if t.m != nil {
			t.m.Release() // freed once the launches using it are done
			t.m, t.cap = nil, 0
		}
		size = max(size, 256)
		m, err := q.d.ctx.CreateEmptyBuffer(cl.MemReadOnly, size)
		if err != nil {
			return nil, check("clCreateBuffer", err)
		}
		t.m, t.cap = m, size
	}
	t.val = nil
	if err := enqueueWrite(q.q, t.m, 0, bytesOf(v)); err != nil {
		return nil, err
	}
	t.val = v
	return t.m, nil
}

// launch sets the kernel's arguments that changed since its last launch
// and enqueues it over units units of work: on a grid-stride device one
// enqueue of at most the device's grid, otherwise one work-item per unit
// in enqueues of at most maxItems work-items from a global work offset.
func (q *clQueue) launch(k *kernel, units uint64, args ...arg) error {
	if err := k.set(args); err != nil {
		return err
	}
	local := uint64(k.local)
	if g := uint64(q.d.grid); g > 0 && k.strided {
		global := min((units+local-1)/local*local, max(g/local, 1)*local)
		return enqueueKernel(q.q, k, 0, int(global), q.last)
	}
	step := max(local, uint64(q.d.maxItems)/local*local) // whole work-groups
	for start := uint64(0); start < units; start += step {
		global := (min(units-start, step) + local - 1) / local * local
		if err := enqueueKernel(q.q, k, int(start), int(global), q.last); err != nil {
			return err
		}
	}
	return nil
}

// set sets the kernel's arguments that differ from those of its last
// launch (a cl_kernel keeps them; a scalar compares by its bits, so +0
// and -0 differ). A failed set forgets them all.
func (k *kernel) set(args []arg) error {
	for i, a := range args {
		if i < len(k.args) && k.args[i] == a {
			continue
		}
		if err := setArg(k, i, a); err != nil {
			k.args = k.args[:0]
			return err
		}
	}
	k.args = append(k.args[:0], args...)
	return nil
}
