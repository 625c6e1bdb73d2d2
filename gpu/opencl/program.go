//go:build cgo && !noopencl

package opencl

import (
	"fmt"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
)

// build compiles src for d with the compiler options opts. A failed build
// returns the compiler's log in the error.
func build(ctx *cl.Context, d device, src, opts string) (*cl.Program, error) {
	prog, err := ctx.CreateProgramWithSource([]string{src})
	if err != nil {
		return nil, check("clCreateProgramWithSource", err)
	}
	if err := prog.BuildProgram([]*cl.Device{d.dev}, opts); err != nil {
		prog.Release()
		return nil, check("clBuildProgram", err)
	}
	return prog, nil
}

// The kernel families of kernels/opencl/dropout.cl that take data: each
// exists per element type (suffix _f32, _f64, _f16, _bf16), again with
// _copy appended for p = 0 (kept elements are bit copies), and each of
// those again with _u appended for data views at element offsets that are
// not multiples of 4 (vload4/vstore4 instead of vector pointer casts).
const (
	famFwd     = iota // fwd: from the stream; no mask or a byte mask
	famFwdBits        // fwdbits: from the stream, writing a bit mask
	famBwd            // bwd: from a mask of either format
	famBcast          // bcast: a broadcast mask of either format
	nFamilies
)

var familyNames = [nFamilies]string{"fwd", "fwdbits", "bwd", "bcast"}

// typeSuffixes are the kernels' element types, in typeIndex's order.
var typeSuffixes = [...]string{"_f32", "_f64", "_f16", "_bf16"}

// groupSize is the work-group size kernels are launched with, at most, on
// a GPU; cpuGroupSize elsewhere (PoCL runs a work-group as one loop on one
// thread: larger groups are fewer tasks to hand out per launch). Powers of
// two no larger than the bit-mask kernels' LOCAL (1024).
const (
	groupSize    = 256
	cpuGroupSize = 256
)

// kernel is a kernel object with the work-group size it is launched with
// and the arguments it was last launched with.
type kernel struct {
	name    string
	k       *cl.Kernel
	local   int
	strided bool  // loops over its units (FOR_UNITS, FOR_GROUPS): launched as a grid on GPUs
	args    []arg // the arguments set, to set only those that change
}

// kernelSet is one queue's kernel objects: a cl_kernel's arguments are
// state, so queues running side by side cannot share them.
type kernelSet struct {
	data                [nFamilies][len(typeSuffixes)][2][2]*kernel // family, type, scaled/copying, aligned/any offset; nil for float64 without cl_khr_fp64
	philox, words, zero *kernel                                     // philox_kat, stream_words, zero_words
	maskMap, empty      *kernel                                     // mask_map, empty
}

// newKernels creates a kernel set from d's program. Work-groups are a
// power of two of work-items, at least 8 (the bit-mask kernels make one
// mask word from 8 work-items).
func (d *clDevice) newKernels() (*kernelSet, error) {
	ks := &kernelSet{}
	mk := func(name string, strided bool) (*kernel, error) {
		k, err := d.prog.CreateKernel(name)
		if err != nil {
			return nil, check("clCreateKernel("+name+")", err)
		}
		wg, err := k.WorkGroupSize(d.dev.dev)
		if err != nil {
			k.Release()
			return nil, check("clGetKernelWorkGroupInfo("+name+")", err)
		}
		local, most := 1, groupSize
		if d.dev.info.Kind != dropout.KindGPU {
			most = cpuGroupSize
		}
		for local*2 <= min(most, wg, d.dev.maxGroup) {
			local *= 2
		}
		if local < 8 {
			k.Release()
			return nil, fmt.Errorf("%w: kernel %s runs at most %d work-items per work-group on %s (8 needed)", dropout.ErrUnsupported, name, local, d.dev.info.Name)
		}
		return &kernel{name: name, k: k, local: local, strided: strided}, nil
	}
	var err error
	for _, p := range []struct {
		k       **kernel
		name    string
		strided bool
	}{{&ks.philox, "philox_kat", false}, {&ks.words, "stream_words", false}, {&ks.zero, "zero_words", true},
		{&ks.maskMap, "mask_map", true}, {&ks.empty, "empty", false}} {
		if *p.k, err = mk(p.name, p.strided); err != nil {
			ks.release()
			return nil, err
		}
	}
	for f, fam := range familyNames {
		for t, suffix := range typeSuffixes {
			if suffix == "_f64" && !d.dev.fp64 {
				continue
			}
			for c, cp := range []string{"", "_copy"} {
				for u, un := range []string{"", "_u"} {
					if ks.data[f][t][c][u], err = mk(fam+suffix+cp+un, true); err != nil {
						ks.release()
						return nil, err
					}
				}
			}
		}
	}
	return ks, nil
}

func (ks *kernelSet) release() {
	for _, k := range []*kernel{ks.philox, ks.words, ks.zero, ks.maskMap, ks.empty} {
		if k != nil {
			k.k.Release()
		}
	}
	for f := range ks.data {
		for t := range ks.data[f] {
			for _, ku := range ks.data[f][t] {
				for _, k := range ku {
					if k != nil {
						k.k.Release()
					}
				}
			}
		}
	}
	*ks = kernelSet{}
}
