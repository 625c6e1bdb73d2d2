//go:build noopencl || !cgo

package opencl

import "github.com/gpudropout/dropout"

// Driver stands in for the OpenCL backend in a build without it (the
// noopencl build tag, or CGO_ENABLED=0): it has no devices and says why.
type Driver struct{}

// Name returns "opencl".
func (Driver) Name() string { return "opencl" }

// Devices reports that the backend is unavailable.
func (Driver) Devices() ([]dropout.DeviceInfo, error) { return nil, unavailable() }

// Open reports that the backend is unavailable.
func (Driver) Open(dropout.Options) (dropout.Backend, error) { return nil, unavailable() }

func unavailable() error {
	return &dropout.UnavailableError{
		Backend: "opencl",
		Reason:  "built without OpenCL (the noopencl build tag or CGO_ENABLED=0)",
		Fix:     "rebuild with CGO_ENABLED=1 and without -tags noopencl, with ocl-icd-opencl-dev installed",
	}
}
