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
	*exec.Backend // Name, Device, DTypes, Forward, Backward, Copy, Alloc, Close
	dev           *vkDevice
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
	e, err := exec.New("vulkan", d.execDevice(), opts) // closes d on error
	if err != nil {
		return nil, err
	}
	if err := d.validated(nil); err != nil {
		e.Close()
		return nil, err
	}
	return &Backend{Backend: e, dev: d}, nil
}

var _ dropout.Backend = (*Backend)(nil)

// ValidationMessages returns every error and warning the validation layer
// reported so far (Options.Debug), or nil. A backend on a caller's device
// (NewBackend) has none: the layer reports to the caller's instance.
func (b *Backend) ValidationMessages() []string {
	if b.dev.in == nil || b.dev.in.Messages == nil {
		return nil
	}
	return b.dev.in.Messages.All()
}
