//go:build cgo && !novulkan

package vulkan

import (
	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/internal/exec"
)

// Backend runs dropout on one Vulkan device. It implements dropout.Backend
// and is safe for concurrent use by multiple goroutines: see the package
// documentation for what runs side by side and what is serialised.
type Backend struct {
	e   *exec.Backend
	dev *vkDevice
}

// Open opens the Vulkan backend on the device opts.Device selects; with
// opts.Debug, under the validation layer.
func Open(opts dropout.Options) (*Backend, error) { return open(opts, config{}) }

func open(opts dropout.Options, cfg config) (*Backend, error) {
	in, devs, err := instance(opts.Debug)
	if err != nil {
		return nil, err
	}
	i, err := selectDevice(devs, opts.Device)
	if err != nil {
		in.Destroy()
		return nil, err
	}
	d, err := newDevice(in, i, devs[i], cfg) // destroys in on error
	if err != nil {
		return nil, err
	}
	e, err := exec.New("vulkan", d, opts) // closes d on error
	if err != nil {
		return nil, err
	}
	if err := d.validated(nil); err != nil {
		e.Close()
		return nil, err
	}
	return &Backend{e: e, dev: d}, nil
}

// Name returns "vulkan".
func (b *Backend) Name() string { return b.e.Name() }

// Device describes the backend's device.
func (b *Backend) Device() dropout.DeviceInfo { return b.e.Device() }

// DTypes returns the data types Forward and Backward accept on this device:
// float32, and float64 where the device has shaderFloat64.
func (b *Backend) DTypes() []dropout.DType { return b.e.DTypes() }

// Forward implements dropout.Backend. Tensors may be host tensors (staged
// chunk by chunk) or buffers from b.Alloc (used in place); any mix works.
func (b *Backend) Forward(dst, x, mask dropout.Tensor, p dropout.Params) error {
	return b.e.Forward(dst, x, mask, p)
}

// Backward implements dropout.Backend: dx = keep ? dy*s : 0, keep read
// from mask or, with MaskNone, regenerated from (p.Seed, p.Offset).
func (b *Backend) Backward(dx, dy, mask dropout.Tensor, p dropout.Params) error {
	return b.e.Backward(dx, dy, mask, p)
}

// Copy copies src into dst (same type and length): on the device with
// vkCmdCopyBuffer between two buffers, straight into or out of the buffer
// between it and the host, and between host tensors by a round trip
// through the device.
func (b *Backend) Copy(dst, src dropout.Tensor) error { return b.e.Copy(dst, src) }

// Alloc returns a zeroed device buffer of n elements of dt. Beyond the
// device's largest allocation, its memory heap less what the backend holds,
// the heap's budget, or (lavapipe) the host memory left, it returns an
// error wrapping dropout.ErrOutOfMemory that names the bytes wanted and
// available.
func (b *Backend) Alloc(dt dropout.DType, n int) (dropout.Buffer, error) { return b.e.Alloc(dt, n) }

// ValidationMessages returns every error and warning the validation layer
// reported so far (Options.Debug), or nil.
func (b *Backend) ValidationMessages() []string {
	if b.dev.in.Messages == nil {
		return nil
	}
	return b.dev.in.Messages.All()
}

// Close waits for the calls in flight, then frees every buffer, staging
// buffer and staging area, the command sequences, pipelines, layout,
// device and instance. Later calls, and calls on the backend's buffers,
// return dropout.ErrClosed. Closing twice is harmless.
func (b *Backend) Close() error { return b.e.Close() }

var _ dropout.Backend = (*Backend)(nil)
