//go:build cgo && !noopencl

package opencl

import (
	"unsafe"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout/gpu/internal/exec"
)

// MapHost implements exec.HostMapper: the host bytes b as a cl_mem
// (CL_MEM_USE_HOST_PTR). The executor uses it only where device memory is
// the host's (Info.HostMemory: PoCL, Oclgrind), whose kernels then read
// and write b in place: a call on large host tensors copies nothing.
func (d *clDevice) MapHost(b []byte) (exec.Mem, error) {
	m, err := d.ctx.CreateBufferUnsafe(cl.MemReadWrite|cl.MemUseHostPtr, len(b), unsafe.Pointer(&b[0]))
	if err != nil {
		return nil, check("clCreateBuffer(CL_MEM_USE_HOST_PTR)", err)
	}
	d.maps.Add(1)
	return &mem{m, int64(len(b))}, nil
}

// UnmapHost implements exec.HostMapper: a blocking map and an unmap of the
// whole cl_mem on q, which make what the kernels wrote visible in the host
// bytes (OpenCL's rule for CL_MEM_USE_HOST_PTR; on PoCL they are the same
// memory and the map copies nothing), then its release.
func (d *clDevice) UnmapHost(q exec.Queue, x exec.Mem) error {
	m, cq := x.(*mem), q.(*clQueue)
	defer m.m.Release()
	mp, ev, err := cq.q.EnqueueMapBuffer(m.m, true, cl.MapFlagRead, 0, int(m.size), nil)
	if err != nil {
		return check("clEnqueueMapBuffer", err)
	}
	ev.Release()
	ev, err = cq.q.EnqueueUnmapMemObject(m.m, mp, nil)
	if err != nil {
		return check("clEnqueueUnmapMemObject", err)
	}
	err = cq.q.Finish()
	ev.Release()
	return check("clFinish", err)
}
