//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
)

func TestDevices(t *testing.T) {
	devs, err := Driver{}.Devices()
	dropouttest.Require(t, "Vulkan device", err)
	if len(devs) == 0 {
		t.Fatal("Devices returned no devices and no error")
	}
	lp := -1
	for i, d := range devs {
		t.Logf("%d: %+v", i, d)
		if d.Index != i || d.Backend != "vulkan" || d.Name == "" || d.Memory <= 0 || d.MaxAlloc <= 0 {
			t.Errorf("device %d: incomplete %+v", i, d)
		}
		if i > 0 && devs[i-1].Emulated && !d.Emulated {
			t.Errorf("device %d (%s) comes after the CPU implementation %s", i, d.Name, devs[i-1].Name)
		}
		if strings.Contains(d.Name, lavapipe) {
			lp = i
		}
	}
	if lp < 0 {
		dropouttest.Require(t, "lavapipe", errors.New("no llvmpipe device"))
		return
	}
	if d := devs[lp]; !d.Emulated || d.Kind != dropout.KindCPU || d.Platform != "llvmpipe" {
		t.Errorf("lavapipe: got %+v, want Emulated, KindCPU, Platform llvmpipe", d)
	}
}

// TestOpenSelects opens devices by index and by name and rejects what
// names no device.
func TestOpenSelects(t *testing.T) {
	devs, err := Driver{}.Devices()
	dropouttest.Require(t, "Vulkan device", err)
	for _, tc := range []struct {
		sel  string
		want int // index, or -1 for an error
	}{
		{"", 0},
		{"0", 0},
		{strconv.Itoa(len(devs) - 1), len(devs) - 1},
		{strings.ToUpper(devs[len(devs)-1].Name[:4]), -2}, // a name prefix, any case
		{strconv.Itoa(len(devs)), -1},
		{"-1", -1},
		{"no such device", -1},
	} {
		b, err := Driver{}.Open(dropout.Options{Device: tc.sel})
		if tc.want == -1 {
			if !errors.Is(err, dropout.ErrUnavailable) {
				t.Errorf("Open(%q): got %v, want ErrUnavailable", tc.sel, err)
			}
			if b != nil {
				b.Close()
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", tc.sel, err)
			continue
		}
		got := b.Device()
		if tc.want >= 0 && got.Index != tc.want {
			t.Errorf("Open(%q) opened device %d, want %d", tc.sel, got.Index, tc.want)
		}
		if tc.want == -2 && !strings.Contains(strings.ToLower(got.Name), strings.ToLower(tc.sel)) {
			t.Errorf("Open(%q) opened %q", tc.sel, got.Name)
		}
		if b.Name() != "vulkan" {
			t.Errorf("Name() = %q", b.Name())
		}
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func TestUnavailableSaysWhatToInstall(t *testing.T) {
	err := unavailable(errors.New("no Vulkan device with a compute queue"))
	var ue *dropout.UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, dropout.ErrUnavailable) {
		t.Fatalf("unavailable returned %T %v", err, err)
	}
	if !strings.Contains(ue.Fix, "libvulkan1") || !strings.Contains(ue.Fix, "mesa-vulkan-drivers") {
		t.Errorf("Fix %q does not say what to install", ue.Fix)
	}
}
