//go:build cgo && !novulkan

package vkx

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// ErrNoValidation reports that validation was asked for but the layer is missing.
var ErrNoValidation = errors.New("vkx: " + ValidationLayer + " not installed")

// Instance is a VkInstance, with the validation layer, synchronization
// validation and a message collector when made with validation on.
type Instance struct {
	h        vk.Instance
	debug    *debugReport
	Messages *Messages // validation errors and warnings; nil without validation
}

// gostr returns the Go string of a NUL-terminated fixed-size name.
func gostr(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

// layers returns the names of the installed instance layers.
func layers() ([]string, error) {
	names, r := enumerateLayers()
	if err := check("vkEnumerateInstanceLayerProperties", r); err != nil {
		return nil, err
	}
	return names, nil
}

// extensions returns the instance extensions of layer ("" for the implementation's).
func extensions(layer string) ([]string, error) {
	names, r := enumerateExtensions(layer)
	if err := check("vkEnumerateInstanceExtensionProperties", r); err != nil {
		return nil, err
	}
	return names, nil
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// NewInstance loads the Vulkan loader and creates a Vulkan 1.1 instance.
// With validation it enables the Khronos validation layer with
// synchronization validation and collects its errors and warnings in
// Messages; it fails with ErrNoValidation when the layer is missing.
func NewInstance(validation bool) (*Instance, error) {
	if err := Load(); err != nil {
		return nil, err
	}
	var lays, exts []string
	var pNext unsafe.Pointer
	if validation {
		have, err := layers()
		if err != nil {
			return nil, err
		}
		if !has(have, ValidationLayer) {
			return nil, ErrNoValidation
		}
		lext, err := extensions(ValidationLayer)
		if err != nil {
			return nil, err
		}
		iext, err := extensions("")
		if err != nil {
			return nil, err
		}
		if !has(lext, extDebugReport) && !has(iext, extDebugReport) {
			return nil, fmt.Errorf("%w: no %s", ErrNoValidation, extDebugReport)
		}
		if !has(lext, extValidationFeatures) {
			return nil, fmt.Errorf("%w: the layer lacks %s (synchronization validation)", ErrNoValidation, extValidationFeatures)
		}
		lays = []string{ValidationLayer}
		exts = []string{extDebugReport, extValidationFeatures}
		pNext = syncValidation()
	}
	h, r := createInstance(vk.MakeVersion(1, 1, 0), lays, exts, pNext)
	if err := check("vkCreateInstance", r); err != nil {
		return nil, err
	}
	if err := initInstance(h); err != nil {
		vk.DestroyInstance(h, nil)
		return nil, err
	}
	in := &Instance{h: h}
	if validation {
		in.Messages = &Messages{}
		d, err := newDebugReport(h, in.Messages)
		if err != nil {
			vk.DestroyInstance(h, nil)
			return nil, err
		}
		in.debug = d
	}
	return in, nil
}

// vulkan-go keeps the instance-level function pointers it calls in C
// globals, which vk.InitInstance overwrites without synchronization. The
// loader hands out the same trampolines for every instance (they dispatch
// on the object passed), so the pointers are loaded once, under a lock,
// and stay valid after that instance is destroyed. The extension functions
// that do depend on the instance (debug report) are looked up per call.
var (
	initMu   sync.Mutex
	initDone bool
)

func initInstance(h vk.Instance) error {
	initMu.Lock()
	defer initMu.Unlock()
	if initDone {
		return nil
	}
	if err := vk.InitInstance(h); err != nil {
		return fmt.Errorf("vkx: loading instance functions: %w", err)
	}
	initDone = true
	return nil
}

// Destroy destroys the instance; the devices made from it must be gone.
func (in *Instance) Destroy() {
	if in == nil || in.h == nil {
		return
	}
	if in.debug != nil {
		in.debug.destroy(in.h)
		in.debug = nil
	}
	vk.DestroyInstance(in.h, nil)
	in.h = nil
}

// DeviceType is the kind of a physical device, in preference order.
type DeviceType int

// The device types, best first.
const (
	Discrete DeviceType = iota
	Integrated
	Virtual
	Other
	CPU
)

func (t DeviceType) String() string {
	return [...]string{"discrete GPU", "integrated GPU", "virtual GPU", "other", "CPU"}[t]
}

// PhysicalDevice describes one Vulkan device.
type PhysicalDevice struct {
	h          vk.PhysicalDevice
	Name       string
	Type       DeviceType
	APIVersion uint32
	Driver     string // the driver's name where the device reports one, else the vendor
	Vendor     string // the vendor's name ("NVIDIA", "Mesa"), or its PCI id in hex
	Memory     int64  // device-local heap bytes
	MaxAlloc   uint64 // maxMemoryAllocationSize, 0 if unknown
	Limits     Limits
	Float64    bool   // shaderFloat64
	Heaps      []Heap // the memory heaps
	Budget     bool   // VK_EXT_memory_budget (and Vulkan 1.1): MemoryBudget works
	// HostImportAlign is minImportedHostPointerAlignment where the device
	// has VK_EXT_external_memory_host (and Vulkan 1.1), else 0.
	HostImportAlign uint64
	// Subgroup is VkPhysicalDeviceSubgroupProperties (Vulkan 1.1); zero
	// below Vulkan 1.1.
	Subgroup Subgroup
	family   int // a queue family with compute, -1 if none
	memTypes []memoryType
}

// Limits are the device limits the backend plans with.
type Limits struct {
	MaxStorageBufferRange  uint32
	MinStorageOffsetAlign  uint64
	MaxWorkGroupCount      [3]uint32
	MaxPushConstantsSize   uint32
	MaxMemoryAllocationCnt uint32
	NonCoherentAtomSize    uint64
}

// PhysicalDevices lists the devices with a compute queue, best first:
// discrete GPUs, integrated, virtual, other, and CPU implementations such
// as lavapipe last; enumeration order within a type.
func (in *Instance) PhysicalDevices() ([]PhysicalDevice, error) {
	var n uint32
	if err := check("vkEnumeratePhysicalDevices", vk.EnumeratePhysicalDevices(in.h, &n, nil)); err != nil {
		return nil, err
	}
	hs := make([]vk.PhysicalDevice, n)
	if err := check("vkEnumeratePhysicalDevices", vk.EnumeratePhysicalDevices(in.h, &n, hs)); err != nil {
		return nil, err
	}
	var devs []PhysicalDevice
	for _, h := range hs[:n] {
		d := describe(in.h, h)
		if d.family >= 0 {
			devs = append(devs, d)
		}
	}
	sort.SliceStable(devs, func(i, j int) bool { return devs[i].Type < devs[j].Type })
	return devs, nil
}

func describe(inst vk.Instance, h vk.PhysicalDevice) PhysicalDevice {
	d := PhysicalDevice{h: h, family: -1}
	// vulkan-go copies the properties through C memory that it allocates
	// and keeps a reference to in props: copy the values out, then free it.
	var props vk.PhysicalDeviceProperties
	vk.GetPhysicalDeviceProperties(h, &props)
	props.Deref()
	props.Limits.Deref()
	d.Name = gostr(props.DeviceName[:])
	d.APIVersion = props.ApiVersion
	switch props.DeviceType {
	case vk.PhysicalDeviceTypeDiscreteGpu:
		d.Type = Discrete
	case vk.PhysicalDeviceTypeIntegratedGpu:
		d.Type = Integrated
	case vk.PhysicalDeviceTypeVirtualGpu:
		d.Type = Virtual
	case vk.PhysicalDeviceTypeCpu:
		d.Type = CPU
	default:
		d.Type = Other
	}
	l := &props.Limits
	d.Limits = Limits{
		MaxStorageBufferRange:  l.MaxStorageBufferRange,
		MinStorageOffsetAlign:  uint64(l.MinStorageBufferOffsetAlignment),
		MaxWorkGroupCount:      l.MaxComputeWorkGroupCount,
		MaxPushConstantsSize:   l.MaxPushConstantsSize,
		MaxMemoryAllocationCnt: l.MaxMemoryAllocationCount,
		NonCoherentAtomSize:    uint64(l.NonCoherentAtomSize),
	}
	vendor := props.VendorID
	props.Free()
	if d.Limits.MinStorageOffsetAlign == 0 {
		d.Limits.MinStorageOffsetAlign = 1
	}
	d.Vendor = vendorName(vendor)
	d.Driver, d.MaxAlloc = props11(inst, h, d.APIVersion)
	if d.Driver == "" {
		d.Driver = d.Vendor
	}
	d.memTypes, d.Heaps = memoryProps(h)
	for _, hp := range d.Heaps {
		if hp.DeviceLocal {
			d.Memory += int64(hp.Size)
		}
	}
	d.Budget = d.APIVersion >= vk.MakeVersion(1, 1, 0) && hasDeviceExtension(h, ExtMemoryBudget)
	if d.APIVersion >= vk.MakeVersion(1, 1, 0) && hasDeviceExtension(h, ExtExternalMemoryHost) {
		if a := hostImportAlign(h); a > 0 && a&(a-1) == 0 {
			d.HostImportAlign = a
		}
	}
	d.Float64 = featureFloat64(h)
	if d.APIVersion >= vk.MakeVersion(1, 1, 0) {
		d.Subgroup = subgroupProps(h)
	}
	qs := queueFamilies(h)
	// Prefer a compute queue family without graphics (a dedicated one).
	best := -1
	for i := range qs {
		fl := qs[i].flags
		if fl&vk.QueueFlags(vk.QueueComputeBit) == 0 || qs[i].count == 0 {
			continue
		}
		if best < 0 || fl&vk.QueueFlags(vk.QueueGraphicsBit) == 0 && qs[best].flags&vk.QueueFlags(vk.QueueGraphicsBit) != 0 {
			best = i
		}
	}
	d.family = best
	return d
}

// Subgroup is what a device's subgroups (Vulkan 1.1) are and can do.
type Subgroup struct {
	Size       uint32 // subgroupSize: the invocations of a subgroup
	Compute    bool   // supportedStages includes compute shaders
	Operations uint32 // supportedOperations: SubgroupBasic, SubgroupShuffle, …
}

// Bits of Subgroup.Operations (VkSubgroupFeatureFlagBits).
const (
	SubgroupBasic   = 0x1
	SubgroupShuffle = 0x10
)

// ExtMemoryBudget is the device extension that reports each heap's budget.
const ExtMemoryBudget = "VK_EXT_memory_budget"

func vendorName(id uint32) string {
	switch id {
	case 0x10de:
		return "NVIDIA"
	case 0x1002:
		return "AMD"
	case 0x8086:
		return "Intel"
	case 0x10005:
		return "Mesa"
	case 0x13b5:
		return "ARM"
	case 0x5143:
		return "Qualcomm"
	}
	return fmt.Sprintf("vendor %#x", id)
}
