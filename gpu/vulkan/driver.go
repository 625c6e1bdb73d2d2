package vulkan

import "github.com/gpudropout/dropout"

// Driver opens the Vulkan backend. (Placeholder until the backend lands.)
type Driver struct{}

func (Driver) Name() string { return "vulkan" }

func (Driver) Devices() ([]dropout.DeviceInfo, error) {
	return nil, &dropout.UnavailableError{Backend: "vulkan", Reason: "not built yet"}
}

func (d Driver) Open(dropout.Options) (dropout.Backend, error) {
	_, err := d.Devices()
	return nil, err
}
