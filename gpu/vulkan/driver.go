//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"slices"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// fix is what to install when the backend is unavailable.
const fix = "apt-get install libvulkan1 mesa-vulkan-drivers, or your GPU vendor's driver"

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
	return infos(devs), nil
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
	e := &dropout.UnavailableError{Backend: "vulkan", Fix: fix, Err: err}
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

// selectDevice returns the index of the device sel names, by the rule of
// driver.SelectDevice: "" for the first, a decimal index, or a
// case-insensitive substring of the name, the driver (Platform), the
// vendor or the device type ("cpu", "discrete gpu").
func selectDevice(devs []vkx.PhysicalDevice, sel string) (int, error) {
	return driver.SelectDevice("vulkan", infos(devs), sel, func(i int) []string {
		return []string{devs[i].Vendor, devs[i].Type.String()}
	})
}

func infos(devs []vkx.PhysicalDevice) []dropout.DeviceInfo {
	infos := make([]dropout.DeviceInfo, len(devs))
	for i, d := range devs {
		infos[i] = deviceInfo(i, d)
	}
	return infos
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
		// Any tensor a call's memory allows: calls are split into
		// launches; noise-shape calls alone are bounded (fewer than 2^32
		// elements, at most 9 canonical axes), and so are region word
		// maps (at most 5 canonical axes); they say so with
		// ErrUnsupported, not a smaller MaxElements for every call.
		Caps: dropout.Capabilities{
			DTypes:      dtypes(d),
			MaskFormats: slices.Clone(dropout.AllMaskFormats()),
			NoiseShape:  true,
			Alpha:       true,
			Fused:       true,
			Regions:     true,
		},
	}
}

// dtypes returns the data types the shaders take on d: float32, float16
// and bfloat16 (packed two to a 32-bit word, so no 16-bit storage feature
// is needed), and float64 where d has shaderFloat64.
func dtypes(d vkx.PhysicalDevice) []dropout.DType {
	if d.Float64 {
		return []dropout.DType{dropout.Float32, dropout.Float64, dropout.Float16, dropout.BFloat16}
	}
	return []dropout.DType{dropout.Float32, dropout.Float16, dropout.BFloat16}
}
