//go:build !cgo || novulkan

package vulkan

import "github.com/gpudropout/dropout"

// Driver opens the Vulkan backend. This build has none: it was built with
// CGO_ENABLED=0 or the novulkan tag.
type Driver struct{}

// Name returns "vulkan".
func (Driver) Name() string { return "vulkan" }

// Devices reports the backend unavailable.
func (Driver) Devices() ([]dropout.DeviceInfo, error) {
	return nil, &dropout.UnavailableError{
		Backend: "vulkan",
		Reason:  "this program was built without Vulkan support (CGO_ENABLED=0 or the novulkan build tag)",
		Fix:     "rebuild with cgo enabled and without -tags novulkan",
	}
}

// Open reports the backend unavailable.
func (d Driver) Open(dropout.Options) (dropout.Backend, error) {
	_, err := d.Devices()
	return nil, err
}
