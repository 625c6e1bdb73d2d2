//go:build noopencl || !cgo

package opencl

import (
	"errors"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
)

func TestStubUnavailable(t *testing.T) {
	var d Driver
	if d.Name() != "opencl" {
		t.Errorf("Name() = %q", d.Name())
	}
	_, err := d.Devices()
	var ue *dropout.UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, dropout.ErrUnavailable) || !strings.Contains(ue.Reason, "built without OpenCL") {
		t.Errorf("Devices() = %v, want an *UnavailableError saying it was built without OpenCL", err)
	}
	if b, err := d.Open(dropout.Options{}); b != nil || !errors.Is(err, dropout.ErrUnavailable) {
		t.Errorf("Open() = %v, %v, want ErrUnavailable", b, err)
	}
}
