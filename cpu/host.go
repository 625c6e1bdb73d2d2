package cpu

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gpudropout/dropout"
)

// caps are what both CPU backends can do: every data type, mask format
// and operation of the module.
// A new value each time: a DeviceInfo handed to a caller shares no slice
// with another.
func caps() dropout.Capabilities {
	return dropout.Capabilities{
		DTypes:      []dropout.DType{dropout.Float32, dropout.Float64, dropout.Float16, dropout.BFloat16},
		MaskFormats: dropout.AllMaskFormats(),
		NoiseShape:  true,
		Alpha:       true,
		Fused:       true,
		Regions:     true,
	}
}

// checkDevice accepts the one device a CPU backend has.
func checkDevice(backend, sel string) error {
	if sel == "" || sel == "0" {
		return nil
	}
	if strings.Contains(strings.ToLower(cpuName()), strings.ToLower(sel)) || strings.EqualFold(sel, "cpu") {
		return nil
	}
	if _, err := strconv.Atoi(sel); err == nil {
		return fmt.Errorf("%w: %s has one device, index 0; got %s", dropout.ErrUnavailable, backend, sel)
	}
	return fmt.Errorf("%w: %s has no device named %q (its device is %q)", dropout.ErrUnavailable, backend, sel, cpuName())
}

// cpuName returns the processor's model name from /proc/cpuinfo, or "CPU".
func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "CPU"
}
