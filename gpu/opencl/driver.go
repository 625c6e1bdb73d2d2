//go:build cgo && !noopencl

package opencl

import (
	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/kernels"
)

// Driver opens the OpenCL backend. Its zero value is ready to use; the
// registry of package backends lists it.
type Driver struct{}

// Name returns "opencl".
func (Driver) Name() string { return "opencl" }

// Devices lists every OpenCL device of every platform, GPUs first. With no
// platform it returns an *dropout.UnavailableError that says what to install.
func (Driver) Devices() ([]dropout.DeviceInfo, error) {
	devs, err := devices()
	if err != nil {
		return nil, err
	}
	return infos(devs), nil
}

// Open opens the device opts.Device selects (see Options.Device; a name
// matches the device's name, its platform's name or its vendor, case
// insensitively) and builds the kernels for it.
func (Driver) Open(opts dropout.Options) (dropout.Backend, error) {
	return Open(opts)
}

// Open is Driver.Open returning the concrete type.
func Open(opts dropout.Options) (*Backend, error) {
	return open(opts, config{src: kernels.OpenCL})
}
