//go:build cgo && !noopencl

package opencl_test

import (
	"fmt"
	"log"
	"math"
	"runtime"
	"unsafe"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/gpu/opencl"
)

// The pipeline's own kernel: out[oo+i] = a·in[io+i] + bias[i].
const pipelineSrc = `
kernel void axpb(global float *out, uint oo, global const float *in, uint io, float a, global const float *bias, uint n)
{
	const uint i = get_global_id(0);
	if (i < n)
		out[oo + i] = a * in[io + i] + bias[i];
}
`

// Example_pipeline embeds dropout between two of a program's own OpenCL
// kernels: the program has its context, device, queue, buffers and
// kernel (y = x + bias, then z = 2·y + bias); dropout runs in place on y
// on the same queue, ordered by events, with no host wait until the end.
// y starts at element 1 of its cl_mem (byte 4: not 16-byte aligned).
func Example_pipeline() {
	// Oclgrind, which runs this example in make test, wants one thread's
	// OpenCL calls on one OS thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	must := func(err error) {
		if err != nil {
			log.Fatal(err)
		}
	}

	// The program's own OpenCL objects, made with go-opencl.
	plats, err := cl.GetPlatforms()
	must(err)
	devs, err := plats[0].GetDevices(cl.DeviceTypeAll)
	must(err)
	dev := devs[0]
	ctx, err := cl.CreateContext([]*cl.Device{dev})
	must(err)
	defer ctx.Release()
	q, err := ctx.CreateCommandQueue(dev, 0)
	must(err)
	defer q.Release()
	prog, err := ctx.CreateProgramWithSource([]string{pipelineSrc})
	must(err)
	defer prog.Release()
	must(prog.BuildProgram(nil, ""))
	axpb, err := prog.CreateKernel("axpb")
	must(err)
	defer axpb.Release()

	const n = 1000
	x, bias := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(i%17)*0.375 - 3
		bias[i] = float32(i%5) * 0.125
	}
	buffer := func(data []float32) *cl.MemObject {
		m, err := ctx.CreateBuffer(cl.MemReadWrite|cl.MemCopyHostPtr, unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data)))
		must(err)
		return m
	}
	xm, bm := buffer(x), buffer(bias)
	ym, zm := buffer(make([]float32, n+1)), buffer(make([]float32, n)) // y from element 1
	defer xm.Release()
	defer bm.Release()
	defer ym.Release()
	defer zm.Release()

	// The dropout backend over the program's objects, and y as a Buffer.
	b, err := opencl.NewBackend(ctx, dev, q, dropout.Options{})
	must(err)
	defer b.Close()
	y, err := b.Wrap(ym, 4, dropout.Float32, n)
	must(err)
	p := dropout.Params{P: 0.25, Seed: 42}

	// y = x + bias (the program's kernel), dropout(y) in place, z = 2·y +
	// bias (the program's kernel again, reading y where Mem says it is):
	// each step waits for the last one's event; nothing waits on the host.
	must(axpb.SetArgs(ym, uint32(1), xm, uint32(0), float32(1), bm, uint32(n)))
	ev1, err := q.EnqueueNDRangeKernel(axpb, nil, []int{n}, nil, nil)
	must(err)
	ev2, err := b.ForwardAsync(y, y, nil, p, ev1)
	must(err)
	ymem, yoff, err := b.Mem(y)
	must(err)
	must(axpb.SetArgs(zm, uint32(0), ymem, uint32(yoff/4), float32(2), bm, uint32(n)))
	ev3, err := q.EnqueueNDRangeKernel(axpb, nil, []int{n}, nil, []*cl.Event{ev2})
	must(err)
	must(cl.WaitForEvents([]*cl.Event{ev3})) // the one wait
	for _, ev := range []*cl.Event{ev1, ev2, ev3} {
		ev.Release()
	}
	z := make([]float32, n)
	_, err = q.EnqueueReadBuffer(zm, true, 0, 4*n, unsafe.Pointer(&z[0]), nil)
	must(err)

	// The same on the host with the reference backend.
	want := make(dropout.Float32s, n)
	for i := range want {
		want[i] = x[i] + bias[i]
	}
	rp := p
	rp.Mask = dropout.MaskBytes // the same output, and the keep decisions
	mask := make(dropout.Bytes, n)
	must(cpu.NewReference().Forward(want, want, mask, rp))
	kept, diff := 0, 0
	for i := range want {
		kept += int(mask[i])
		if w := 2*want[i] + bias[i]; math.Float32bits(z[i]) != math.Float32bits(w) {
			diff++
		}
	}
	fmt.Printf("%d elements, %d kept, %d differ from the reference\n", n, kept, diff)
	// Output:
	// 1000 elements, 734 kept, 0 differ from the reference
}
