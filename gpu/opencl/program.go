//go:build cgo && !noopencl

package opencl

import (
	"fmt"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
)

// The kernel families of kernels/opencl/dropout.cl; each exists per element
// type with the suffix _f32 or _f64, and again with _copy appended for p = 0
// (kept elements are bit copies).
var kernelFamilies = []string{"fwd", "fwdbits", "bwdbytes", "bwdbits", "bcast"}

// kernel is a built kernel with the work-group size it is launched with.
type kernel struct {
	name  string
	k     *cl.Kernel
	local int
}

// build compiles src for the backend's device. A failed build returns the
// compiler's log in the error.
func (b *Backend) build(src string) error {
	prog, err := b.ctx.CreateProgramWithSource([]string{src})
	if err != nil {
		return check("clCreateProgramWithSource", err)
	}
	b.prog = prog
	if err := prog.BuildProgram([]*cl.Device{b.dev.dev}, ""); err != nil {
		return check("clBuildProgram", err)
	}
	return nil
}

// kernelNames lists the kernels a worker creates on a device with or
// without cl_khr_fp64.
func kernelNames(fp64 bool) []string {
	names := []string{"philox_kat", "stream_words", "zero_words"}
	for _, f := range kernelFamilies {
		names = append(names, f+"_f32", f+"_f32_copy")
		if fp64 {
			names = append(names, f+"_f64", f+"_f64_copy")
		}
	}
	return names
}

// createKernels creates the worker's own kernel objects from the
// backend's program: a kernel's arguments are state that concurrent calls
// must not share.
func (w *worker) createKernels() error {
	b := w.b
	names := kernelNames(b.dev.fp64)
	w.kernels = make(map[string]*kernel, len(names))
	for _, name := range names {
		k, err := b.prog.CreateKernel(name)
		if err != nil {
			return check("clCreateKernel("+name+")", err)
		}
		kn := &kernel{name: name, k: k}
		w.kernels[name] = kn
		wg, err := k.WorkGroupSize(b.dev.dev)
		if err != nil {
			return check("clGetKernelWorkGroupInfo("+name+")", err)
		}
		kn.local = max(1, min(groupSize, wg, b.dev.maxGroup))
	}
	return nil
}

// groupSize is the work-group size kernels are launched with, at most.
const groupSize = 128

// kernelFor returns kernel family f for element type dt, the copying
// variant (p = 0) when copy is set.
func (w *worker) kernelFor(f string, dt dropout.DType, copy bool) (*kernel, error) {
	suffix := "_f32"
	if dt == dropout.Float64 {
		suffix = "_f64"
	}
	if copy {
		suffix += "_copy"
	}
	k, ok := w.kernels[f+suffix]
	if !ok {
		return nil, fmt.Errorf("%w: %v data on %s (no cl_khr_fp64)", dropout.ErrDType, dt, w.b.dev.info.Name)
	}
	return k, nil
}

// launch sets the kernel's arguments and enqueues it over items work-items,
// one per unit of work, in launches of at most b.maxItems work-items, so
// any item count fits the device's limits.
func (w *worker) launch(k *kernel, items uint64, args ...any) error {
	if items == 0 {
		return nil
	}
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
			err = k.k.SetArgUnsafe(i, 8, unsafePointer(&v))
		default:
			return fmt.Errorf("opencl: internal error: kernel %s argument %d has type %T", k.name, i, a)
		}
		if err != nil {
			return check(fmt.Sprintf("clSetKernelArg(%s, %d)", k.name, i), err)
		}
	}
	// A chunked launch: work-item k serves unit k; each enqueue covers at
	// most maxItems units, from a global work offset.
	local := uint64(k.local)
	step := max(local, uint64(w.b.maxItems)/local*local) // whole work-groups
	for start := uint64(0); start < items; start += step {
		global := min(items-start, step)
		global = (global + local - 1) / local * local
		ev, err := w.queue.EnqueueNDRangeKernel(k.k, []int{int(start)}, []int{int(global)}, []int{int(local)}, nil)
		w.track(ev)
		if err != nil {
			return check("clEnqueueNDRangeKernel("+k.name+")", err)
		}
	}
	return nil
}

// track keeps the event an enqueue returned until the queue has finished:
// the worker waits on its whole queue (finish), not on single events.
// Events are released only once their commands completed, which some
// implementations (Oclgrind) need.
func (w *worker) track(ev *cl.Event) {
	if ev != nil {
		w.events = append(w.events, ev)
	}
}
