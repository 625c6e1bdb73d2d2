//go:build cgo && !novulkan

package vulkan

import (
	"fmt"

	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// hostDevice is the device of a backend whose memory is the host's
// (lavapipe) and which imports host memory (VK_EXT_external_memory_host):
// an exec.HostMapper, so that calls on large host tensors run on them in
// place, with no staging.
type hostDevice struct{ *vkDevice }

var _ exec.HostMapper = hostDevice{}

// execDevice returns what the executor runs on: d, or d as an
// exec.HostMapper where its memory is the host's and it imports host
// memory.
func (d *vkDevice) execDevice() exec.Device {
	if d.info.HostMemory && d.m.HostImport() {
		return hostDevice{d}
	}
	return d
}

// MapHost implements exec.HostMapper: a storage buffer over the host
// bytes b, imported in place (vkx.Manager.ImportHost). The import spans
// the whole pages around b, but the buffer is bound at b's offset in it,
// so that views of it are b's bytes, and the shaders write only within
// the views the executor gives.
//
// b is a whole number of 32-bit words where the data are 16-bit: the
// executor maps no 16-bit data ending mid-word on a WordData device.
func (d hostDevice) MapHost(b []byte) (exec.Mem, error) {
	buf, err := d.m.ImportHost(b, exec.MapAlign)
	if err != nil {
		return nil, d.validated(fmt.Errorf("vulkan: using %d bytes of host memory in place: %w", len(b), err))
	}
	d.imports.Add(1)
	return buf, nil
}

// UnmapHost implements exec.HostMapper: it runs what q still has recorded
// (nothing after the executor's Wait), whose submission ends with a
// barrier that makes the shaders' writes to imported memory visible to
// the host before its fence, then destroys the buffer and frees the
// import (the host memory itself stays the caller's).
func (d hostDevice) UnmapHost(q exec.Queue, m exec.Mem) error {
	vq, buf := q.(*vkQueue), m.(*vkx.Buffer)
	vq.mu.Lock()
	err := vq.flush()
	vq.mu.Unlock()
	buf.Destroy()
	return d.validated(err)
}
