// Package backends gathers every backend of this module into one
// dropout.Registry: reference, cpu, opencl and vulkan, in that order.
//
// Most programs need only Open:
//
//	b, err := backends.Open("auto", dropout.Options{})
package backends

import (
	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/gpu/opencl"
	"github.com/gpudropout/dropout/gpu/vulkan"
)

// Registry returns a registry of every backend in this module. The GPU
// drivers come first, so that "auto" prefers a real GPU through OpenCL,
// then Vulkan, and falls back to "cpu".
func Registry() dropout.Registry {
	return dropout.Registry{opencl.Driver{}, vulkan.Driver{}, cpu.ReferenceDriver{}, cpu.Driver{}}
}

// Open opens the backend called name ("reference", "cpu", "opencl",
// "vulkan" or "auto") from Registry.
func Open(name string, opts dropout.Options) (dropout.Backend, error) {
	return Registry().Open(name, opts)
}

// Available reports every backend's devices, or why it has none.
func Available() []dropout.Status { return Registry().Available() }
