package driver

import (
	"errors"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
)

func TestSelectDevice(t *testing.T) {
	devs := []dropout.DeviceInfo{
		{Name: "NVIDIA H200", Platform: "NVIDIA CUDA"},
		{Name: "pthread-haswell-AMD EPYC", Platform: "Portable Computing Language"},
		{Name: "llvmpipe (LLVM 15.0.6, 256 bits)", Platform: "Mesa"},
	}
	aliases := func(i int) []string {
		if i == 1 {
			return []string{"The pocl project", "cpu"}
		}
		return nil
	}
	for _, tc := range []struct {
		sel  string
		want int // -1: an error
	}{
		{"", 0}, {"0", 0}, {"2", 2}, {"3", -1}, {"-1", -1},
		{"h200", 0}, {"NVIDIA", 0}, {"pocl", 1}, {"POCL", 1}, {"portable", 1},
		{"cpu", 1}, {"LLVMPIPE", 2}, {"mesa", 2}, {"radeon", -1},
	} {
		got, err := SelectDevice("test", devs, tc.sel, aliases)
		switch {
		case tc.want < 0 && err == nil:
			t.Errorf("SelectDevice(%q) = %d, want an error", tc.sel, got)
		case tc.want < 0:
			var u *dropout.UnavailableError
			if !errors.As(err, &u) || !errors.Is(err, dropout.ErrUnavailable) || !strings.Contains(err.Error(), "llvmpipe") {
				t.Errorf("SelectDevice(%q): %v, want an UnavailableError listing the devices", tc.sel, err)
			}
		case err != nil || got != tc.want:
			t.Errorf("SelectDevice(%q) = %d, %v; want %d", tc.sel, got, err, tc.want)
		}
	}
	if _, err := SelectDevice("test", nil, "", nil); !errors.Is(err, dropout.ErrUnavailable) {
		t.Errorf("no devices: %v", err)
	}
}
