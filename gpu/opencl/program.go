//go:build cgo && !noopencl

package opencl

import (
	"github.com/jgillich/go-opencl/cl"
)

// build compiles src for d. A failed build returns the compiler's log in
// the error.
func build(ctx *cl.Context, d device, src string) (*cl.Program, error) {
	prog, err := ctx.CreateProgramWithSource([]string{src})
	if err != nil {
		return nil, check("clCreateProgramWithSource", err)
	}
	if err := prog.BuildProgram([]*cl.Device{d.dev}, ""); err != nil {
		prog.Release()
		return nil, check("clBuildProgram", err)
	}
	return prog, nil
}

// The kernel families of kernels/opencl/dropout.cl that take data: each
// exists per element type (suffix _f32, _f64) and again with _copy
// appended for p = 0 (kept elements are bit copies).
const (
	famFwd      = iota // fwd: from the stream; no mask or a byte mask
	famFwdBits         // fwdbits: from the stream, writing a bit mask
	famBwdBytes        // bwdbytes: from a byte mask
	famBwdBits         // bwdbits: from a bit mask
	famBcast           // bcast: a broadcast mask of either format
	nFamilies
)

var familyNames = [nFamilies]string{"fwd", "fwdbits", "bwdbytes", "bwdbits", "bcast"}

// groupSize is the work-group size kernels are launched with, at most.
const groupSize = 128

// kernel is a kernel object with the work-group size it is launched with.
type kernel struct {
	name  string
	k     *cl.Kernel
	local int
}

// kernelSet is one queue's kernel objects: a cl_kernel's arguments are
// state, so queues running side by side cannot share them.
type kernelSet struct {
	data                [nFamilies][2][2]*kernel // family, float32/float64, scaled/copying; nil without cl_khr_fp64
	philox, words, zero *kernel                  // philox_kat, stream_words, zero_words
}

// newKernels creates a kernel set from d's program.
func (d *clDevice) newKernels() (*kernelSet, error) {
	ks := &kernelSet{}
	mk := func(name string) (*kernel, error) {
		k, err := d.prog.CreateKernel(name)
		if err != nil {
			return nil, check("clCreateKernel("+name+")", err)
		}
		wg, err := k.WorkGroupSize(d.dev.dev)
		if err != nil {
			k.Release()
			return nil, check("clGetKernelWorkGroupInfo("+name+")", err)
		}
		return &kernel{name: name, k: k, local: max(1, min(groupSize, wg, d.dev.maxGroup))}, nil
	}
	var err error
	for _, p := range []struct {
		k    **kernel
		name string
	}{{&ks.philox, "philox_kat"}, {&ks.words, "stream_words"}, {&ks.zero, "zero_words"}} {
		if *p.k, err = mk(p.name); err != nil {
			ks.release()
			return nil, err
		}
	}
	for f, fam := range familyNames {
		for t, suffix := range []string{"_f32", "_f64"} {
			if t == 1 && !d.dev.fp64 {
				continue
			}
			for c, cp := range []string{"", "_copy"} {
				if ks.data[f][t][c], err = mk(fam + suffix + cp); err != nil {
					ks.release()
					return nil, err
				}
			}
		}
	}
	return ks, nil
}

func (ks *kernelSet) release() {
	for _, k := range []*kernel{ks.philox, ks.words, ks.zero} {
		if k != nil {
			k.k.Release()
		}
	}
	for f := range ks.data {
		for t := range ks.data[f] {
			for _, k := range ks.data[f][t] {
				if k != nil {
					k.k.Release()
				}
			}
		}
	}
	*ks = kernelSet{}
}
