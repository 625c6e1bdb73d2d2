//go:build !cgo || novulkan

package vulkan

import (
	"errors"
	"testing"

	"github.com/gpudropout/dropout"
)

// TestStubUnavailable checks the driver of builds without Vulkan.
func TestStubUnavailable(t *testing.T) {
	if _, err := (Driver{}).Devices(); !errors.Is(err, dropout.ErrUnavailable) {
		t.Errorf("Devices: got %v, want ErrUnavailable", err)
	}
	if b, err := (Driver{}).Open(dropout.Options{}); b != nil || !errors.Is(err, dropout.ErrUnavailable) {
		t.Errorf("Open: got %v, %v, want ErrUnavailable", b, err)
	}
}
