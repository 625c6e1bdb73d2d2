//go:build cgo && !noopencl

package opencl

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
)

// installFix is what a user can do when no OpenCL platform or device exists.
const installFix = "install an OpenCL ICD: apt-get install ocl-icd-libopencl1 pocl-opencl-icd, or your GPU vendor's OpenCL driver"

// device is one OpenCL device with what the backend needs to know of it.
type device struct {
	info     dropout.DeviceInfo
	dev      *cl.Device
	vendor   string // platform vendor, matched by Options.Device
	fp64     bool   // cl_khr_fp64
	maxGroup int    // CL_DEVICE_MAX_WORK_GROUP_SIZE
	units    int    // CL_DEVICE_MAX_COMPUTE_UNITS
}

// enumMu serialises device enumeration in this process. On Linux the
// loader shim (loader_dl.c) already serialises clGetPlatformIDs,
// clGetDeviceIDs and clCreateContext, inside which implementations
// initialise their devices (PoCL's initialisation is unsafe against
// concurrent first calls); this lock gives the same guarantee where the
// shim is not used (other systems link libOpenCL directly) and makes one
// enumeration's queries see one initialised platform list.
var enumMu sync.Mutex

// devices lists every device of every platform: GPUs first, then
// accelerators and other kinds, then CPU devices such as PoCL, each group in
// platform order. With no ICD loader driver or no platform it returns an
// *dropout.UnavailableError. Concurrent calls are serialised (enumMu).
func devices() ([]device, error) {
	enumMu.Lock()
	defer enumMu.Unlock()
	if !haveLoader() {
		return nil, &dropout.UnavailableError{Backend: "opencl",
			Reason: "the OpenCL ICD loader (libOpenCL.so.1) is not installed", Fix: installFix}
	}
	plats, err := cl.GetPlatforms()
	if err != nil {
		reason := "no OpenCL platform found"
		if code(err) != -1001 {
			reason = "cannot list OpenCL platforms"
		}
		return nil, &dropout.UnavailableError{Backend: "opencl", Reason: reason, Fix: installFix, Err: check("clGetPlatformIDs", err)}
	}
	var all []device
	var errs []error
	for _, p := range plats {
		pname, err1 := safe("clGetPlatformInfo(CL_PLATFORM_NAME)", p.Name)
		pvendor, err2 := safe("clGetPlatformInfo(CL_PLATFORM_VENDOR)", p.Vendor)
		if err := errors.Join(err1, err2); err != nil {
			errs = append(errs, err)
			continue
		}
		devs, err := p.GetDevices(cl.DeviceTypeAll)
		if err != nil {
			if code(err) != -1 { // CL_DEVICE_NOT_FOUND: a platform with no devices
				errs = append(errs, check("clGetDeviceIDs", err))
			}
			continue
		}
		for _, d := range devs {
			dv, err := describe(d, pname, pvendor)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			all = append(all, dv)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return rank(all[i].info.Kind) < rank(all[j].info.Kind) })
	for i := range all {
		all[i].info.Index = i
	}
	if len(all) == 0 {
		ue := &dropout.UnavailableError{Backend: "opencl", Reason: "no OpenCL device found", Fix: installFix, Err: errors.Join(errs...)}
		if len(plats) > 0 {
			ue.Reason = fmt.Sprintf("%d OpenCL platform(s) but no usable device", len(plats))
		}
		return nil, ue
	}
	return all, nil
}

func rank(k dropout.DeviceKind) int {
	switch k {
	case dropout.KindGPU:
		return 0
	case dropout.KindOther:
		return 1
	}
	return 2
}

// describe queries one device.
func describe(d *cl.Device, platform, vendor string) (device, error) {
	var errs []error
	q := func(err error) { errs = append(errs, err) }
	name, err := safe("clGetDeviceInfo(CL_DEVICE_NAME)", d.Name)
	q(err)
	typ, err := safe("clGetDeviceInfo(CL_DEVICE_TYPE)", d.Type)
	q(err)
	ext, err := safe("clGetDeviceInfo(CL_DEVICE_EXTENSIONS)", d.Extensions)
	q(err)
	mem, err := safe("clGetDeviceInfo(CL_DEVICE_GLOBAL_MEM_SIZE)", d.GlobalMemSize)
	q(err)
	maxAlloc, err := safe("clGetDeviceInfo(CL_DEVICE_MAX_MEM_ALLOC_SIZE)", d.MaxMemAllocSize)
	q(err)
	group, err := safe("clGetDeviceInfo(CL_DEVICE_MAX_WORK_GROUP_SIZE)", d.MaxWorkGroupSize)
	q(err)
	units, err := safe("clGetDeviceInfo(CL_DEVICE_MAX_COMPUTE_UNITS)", d.MaxComputeUnits)
	q(err)
	if err := errors.Join(errs...); err != nil {
		return device{}, err
	}
	kind := dropout.KindOther
	switch {
	case typ&cl.DeviceTypeGPU != 0:
		kind = dropout.KindGPU
	case typ&cl.DeviceTypeCPU != 0:
		kind = dropout.KindCPU
	}
	// A CPU device, or a simulator whatever type it reports, runs the GPU
	// API on the host: correct, but no reason to prefer it over "cpu".
	emulated := kind == dropout.KindCPU || strings.Contains(strings.ToLower(platform), "oclgrind")
	fp64 := hasExtension(ext, "cl_khr_fp64")
	// 16-bit data needs no extension: the kernels store it as half
	// (vload_half, vstore_half_rte) or ushort and compute in float.
	caps := dropout.Capabilities{DTypes: []dropout.DType{dropout.Float32}, MaskFormats: dropout.AllMaskFormats(),
		NoiseShape: true, Alpha: true, Fused: true, Regions: true}
	if fp64 {
		caps.DTypes = append(caps.DTypes, dropout.Float64)
	}
	caps.DTypes = append(caps.DTypes, dropout.Float16, dropout.BFloat16)
	return device{
		info: dropout.DeviceInfo{
			Backend:  "opencl",
			Name:     strings.TrimSpace(name),
			Platform: strings.TrimSpace(platform),
			Kind:     kind,
			Emulated: emulated,
			Memory:   mem,
			MaxAlloc: maxAlloc,
			Caps:     caps,
		},
		dev:      d,
		vendor:   strings.TrimSpace(vendor),
		fp64:     fp64,
		maxGroup: max(group, 1),
		units:    max(units, 1),
	}, nil
}

func hasExtension(list, ext string) bool { return slices.Contains(strings.Fields(list), ext) }

// infos returns the descriptions of devs.
func infos(devs []device) []dropout.DeviceInfo {
	s := make([]dropout.DeviceInfo, len(devs))
	for i, d := range devs {
		s[i] = d.info
	}
	return s
}

// choose returns the device sel names, under the rule of
// driver.SelectDevice with the platform's vendor as an alias (so "pocl"
// finds PoCL's CPU device, whose name is the CPU's).
func choose(devs []device, sel string) (device, error) {
	i, err := driver.SelectDevice("opencl", infos(devs), sel, func(i int) []string { return []string{devs[i].vendor} })
	if err != nil {
		return device{}, err
	}
	return devs[i], nil
}
