package opencl

import "github.com/gpudropout/dropout"

// Driver opens the OpenCL backend. (Placeholder until the backend lands.)
type Driver struct{}

func (Driver) Name() string { return "opencl" }

func (Driver) Devices() ([]dropout.DeviceInfo, error) {
	return nil, &dropout.UnavailableError{Backend: "opencl", Reason: "not built yet"}
}

func (d Driver) Open(dropout.Options) (dropout.Backend, error) {
	_, err := d.Devices()
	return nil, err
}
