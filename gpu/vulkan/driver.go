//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// Fix is what to install when the backend is unavailable.
const Fix = "apt-get install libvulkan1 mesa-vulkan-drivers, or your GPU vendor's driver"

// Driver opens the Vulkan backend.
type Driver struct{}

// Name returns "vulkan".
func (Driver) Name() string { return "vulkan" }

// Devices lists the Vulkan devices with a compute queue, best first.
func (Driver) Devices() ([]dropout.DeviceInfo, error) {
	in, devs, err := instance(false)
	if err != nil {
		return nil, err
	}
	defer in.Destroy()
	infos := make([]dropout.DeviceInfo, len(devs))
	for i, d := range devs {
		infos[i] = deviceInfo(i, d)
	}
	return infos, nil
}

// Open opens the backend on the device opts.Device selects.
func (Driver) Open(opts dropout.Options) (dropout.Backend, error) {
	b, err := Open(opts)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// instance creates an instance and lists its usable devices, or returns an
// *dropout.UnavailableError saying why there are none.
func instance(validation bool) (*vkx.Instance, []vkx.PhysicalDevice, error) {
	in, err := vkx.NewInstance(validation)
	if err != nil {
		return nil, nil, unavailable(err)
	}
	devs, err := in.PhysicalDevices()
	if err == nil && len(devs) == 0 {
		err = errors.New("no Vulkan device with a compute queue")
	}
	if err != nil {
		in.Destroy()
		return nil, nil, unavailable(err)
	}
	return in, devs, nil
}

func unavailable(err error) error {
	e := &dropout.UnavailableError{Backend: "vulkan", Fix: Fix, Err: err}
	var re *vkx.ResultError
	switch {
	case errors.Is(err, vkx.ErrNoLoader):
		e.Reason = "the Vulkan loader " + vkx.LoaderName + " is not installed"
	case errors.Is(err, vkx.ErrNoValidation):
		e.Reason = "Options.Debug needs the Vulkan validation layer (" + err.Error() + ")"
		e.Fix = "apt-get install vulkan-validationlayers"
	case errors.As(err, &re):
		e.Reason = "no usable Vulkan driver (" + err.Error() + ")"
	default:
		e.Reason = err.Error()
	}
	return e
}

func deviceInfo(i int, d vkx.PhysicalDevice) dropout.DeviceInfo {
	kind := dropout.KindGPU
	switch d.Type {
	case vkx.CPU:
		kind = dropout.KindCPU
	case vkx.Other:
		kind = dropout.KindOther
	}
	maxAlloc := int64(d.MaxAlloc)
	if maxAlloc == 0 {
		maxAlloc = int64(d.Limits.MaxStorageBufferRange)
	}
	return dropout.DeviceInfo{
		Backend:  "vulkan",
		Index:    i,
		Name:     d.Name,
		Platform: d.Driver,
		Kind:     kind,
		Emulated: d.Type == vkx.CPU,
		Memory:   d.Memory,
		MaxAlloc: maxAlloc,
	}
}

// selectDevice returns the index of the device sel names: "" for the first,
// a decimal index, or a case-insensitive substring of the name.
func selectDevice(devs []vkx.PhysicalDevice, sel string) (int, error) {
	if sel == "" {
		return 0, nil
	}
	if i, err := strconv.Atoi(sel); err == nil {
		if i < 0 || i >= len(devs) {
			return 0, &dropout.UnavailableError{Backend: "vulkan", Reason: fmt.Sprintf("no Vulkan device %d (have %d)", i, len(devs))}
		}
		return i, nil
	}
	names := make([]string, len(devs))
	for i, d := range devs {
		names[i] = d.Name
		if strings.Contains(strings.ToLower(d.Name), strings.ToLower(sel)) {
			return i, nil
		}
	}
	return 0, &dropout.UnavailableError{Backend: "vulkan", Reason: fmt.Sprintf("no Vulkan device matches %q (have %q)", sel, names)}
}
