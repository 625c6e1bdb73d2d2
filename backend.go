package dropout

import (
	"fmt"
	"strconv"
)

// Backend runs dropout on one device.
//
// Forward and Backward are synchronous: when they return, dst is written
// (for a device Buffer, the device has finished).
//
// A Backend is safe for concurrent use by multiple goroutines, as an
// *sql.DB is: calls on different tensors may run side by side, and each
// backend's doc says what it serialises. Calls that write the same tensor
// at the same time race on its contents, as they would on a slice. Close
// waits for calls in flight; calls after Close return ErrClosed.
type Backend interface {
	// Name returns the registry name of the backend: "reference", "cpu",
	// "opencl" or "vulkan".
	Name() string

	// Device describes the device the backend runs on.
	Device() DeviceInfo

	// Forward sets dst = dropout(x) under p and, unless p.Mask is
	// MaskNone, writes the mask into mask in that format. dst and x may be
	// the same tensor.
	Forward(dst, x, mask Tensor, p Params) error

	// Backward sets dx = keep ? dy*s : 0. With p.Mask MaskBits or
	// MaskBytes it reads keep from mask; with MaskNone it regenerates the
	// mask from (p.Seed, p.Offset), so p must be the forward call's Params.
	Backward(dx, dy, mask Tensor, p Params) error

	// Copy copies src into dst (same type and length) on the device, the
	// plain copy that benchmarks measure dropout's bandwidth against.
	Copy(dst, src Tensor) error

	// Alloc returns a zeroed buffer of n elements of type dt where the
	// backend computes (device memory for a GPU backend). A request beyond
	// what the device, or for host memory the machine and its cgroup, can
	// give returns an error wrapping ErrOutOfMemory that names the bytes
	// wanted and available. A released buffer used in any call gives
	// ErrReleased.
	Alloc(dt DType, n int) (Buffer, error)

	// Close releases the device. Closing twice is harmless; other calls
	// after Close return ErrClosed.
	Close() error
}

// DeviceKind is the kind of hardware a device is.
type DeviceKind uint8

// The device kinds.
const (
	KindCPU DeviceKind = iota + 1
	KindGPU
	KindOther // accelerators and devices that name no kind
)

func (k DeviceKind) String() string {
	switch k {
	case KindCPU:
		return "CPU"
	case KindGPU:
		return "GPU"
	case KindOther:
		return "other"
	}
	return "unknown"
}

// DeviceInfo describes one device of a backend.
type DeviceInfo struct {
	Backend  string     // registry name of the backend
	Index    int        // index among the backend's devices, in its preference order
	Name     string     // the device's own name
	Platform string     // OpenCL platform or Vulkan driver name, if any
	Kind     DeviceKind // CPU or GPU
	// Emulated is true for a CPU implementation of a GPU API, such as PoCL
	// or Mesa lavapipe: correct, but no reason to prefer it over "cpu".
	Emulated bool
	Memory   int64 // device memory in bytes, 0 if unknown
	MaxAlloc int64 // largest single allocation in bytes, 0 if unknown
	Threads  int   // CPU backends: worker goroutines
	// Caps says what the backend can do on the device.
	Caps Capabilities
}

// Options configure Open.
type Options struct {
	// Device selects a device: "" for the backend's first (best) device, a
	// decimal index, or a case-insensitive substring of the device's name
	// (a backend may also match its platform or vendor name, as OpenCL does:
	// "pocl" selects PoCL, whose device name is the CPU's).
	Device string
	// MaxChunkBytes caps the bytes of one tensor a GPU backend processes
	// per dispatch (0: the device's own limits). Small values exercise the
	// chunked path on small data.
	MaxChunkBytes int64
	// Debug turns on the API's checkers where a backend has them (for
	// example the Vulkan validation layer).
	Debug bool
	// Threads caps the CPU backend's worker goroutines (0: GOMAXPROCS).
	Threads int
	// Portable forces the CPU backend onto its portable Go path.
	Portable bool
}

// Driver opens one kind of backend. Each backend package provides one. A
// Driver is safe for concurrent use: Devices and Open may be called from
// several goroutines at once.
type Driver interface {
	// Name returns the registry name, such as "opencl".
	Name() string
	// Devices lists the devices this backend can run on here, in its
	// preference order. When it cannot run at all, the error says why and
	// matches ErrUnavailable (usually an *UnavailableError).
	Devices() ([]DeviceInfo, error)
	// Open opens the backend on the device opts selects.
	Open(opts Options) (Backend, error)
}

// Registry is a list of drivers, looked up by name. It is safe for
// concurrent use, since its methods only read the list and call its
// drivers. The package
// github.com/gpudropout/dropout/backends returns the registry of every
// backend in this module.
type Registry []Driver

// Auto is the backend name that picks the best device: a real GPU through
// the first GPU driver that has one, otherwise the "cpu" backend. CPU
// implementations of GPU APIs (PoCL, lavapipe) are used only by name.
const Auto = "auto"

// Names returns the drivers' names, in order.
func (r Registry) Names() []string {
	names := make([]string, len(r))
	for i, d := range r {
		names[i] = d.Name()
	}
	return names
}

// Lookup returns the driver with the given name.
func (r Registry) Lookup(name string) (Driver, error) {
	for _, d := range r {
		if d.Name() == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w: %q (have %v and %q)", ErrUnknownBackend, name, r.Names(), Auto)
}

// Open opens the backend called name, or with name "auto" the best one.
func (r Registry) Open(name string, opts Options) (Backend, error) {
	if name != Auto {
		d, err := r.Lookup(name)
		if err != nil {
			return nil, err
		}
		return d.Open(opts)
	}
	for _, d := range r {
		devs, err := d.Devices()
		if err != nil {
			continue
		}
		for _, dev := range devs {
			if dev.Kind == KindGPU && !dev.Emulated {
				o := opts
				o.Device = strconv.Itoa(dev.Index)
				if b, err := d.Open(o); err == nil {
					return b, nil
				}
			}
		}
	}
	d, err := r.Lookup("cpu")
	if err != nil {
		return nil, fmt.Errorf("%w: no GPU and no cpu backend", ErrUnavailable)
	}
	return d.Open(opts)
}

// Status is what Available reports of one backend.
type Status struct {
	Name    string
	Devices []DeviceInfo
	Err     error // why the backend is unavailable; nil when it is available
}

// Available reports, for every driver, its devices or why it has none.
func (r Registry) Available() []Status {
	st := make([]Status, len(r))
	for i, d := range r {
		devs, err := d.Devices()
		if err == nil && len(devs) == 0 {
			err = &UnavailableError{Backend: d.Name(), Reason: "no devices found"}
		}
		st[i] = Status{Name: d.Name(), Devices: devs, Err: err}
	}
	return st
}
