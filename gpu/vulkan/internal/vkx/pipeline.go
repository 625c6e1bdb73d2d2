//go:build cgo && !novulkan

package vkx

import (
	"encoding/binary"
	"fmt"

	vk "github.com/vulkan-go/vulkan"
)

// The layout every dropout shader shares (kernels/glsl/common.glsl): five
// storage buffers X, Y, M, B (bias) and R (residual) in set 0 and a
// push-constant block of PushSize bytes, the least maxPushConstantsSize
// a device has.
const (
	Bindings  = 5
	PushWords = 32
	PushSize  = PushWords * 4
	// WorkGroup is the shaders' local_size_x.
	WorkGroup = 64
)

// Layout is the descriptor-set layout and pipeline layout of the shaders.
type Layout struct {
	m    *Manager
	set  vk.DescriptorSetLayout
	pipe vk.PipelineLayout
}

// NewLayout creates the shared layout.
func (m *Manager) NewLayout() (*Layout, error) {
	if m.Phys.Limits.MaxPushConstantsSize < PushSize {
		return nil, fmt.Errorf("vkx: the device allows %d bytes of push constants, the shaders need %d", m.Phys.Limits.MaxPushConstantsSize, PushSize)
	}
	set, pipe, op, r := createLayout(m.dev)
	if err := check(op, r); err != nil {
		return nil, err
	}
	return &Layout{m: m, set: set, pipe: pipe}, nil
}

// Destroy destroys the layout.
func (l *Layout) Destroy() {
	if l == nil || l.pipe == nil {
		return
	}
	vk.DestroyPipelineLayout(l.m.dev, l.pipe, nil)
	vk.DestroyDescriptorSetLayout(l.m.dev, l.set, nil)
	l.pipe = nil
}

// SpecConstants is how many specialization constants (ids 0, 1, …) every
// pipeline sets; a shader declares those it uses.
const SpecConstants = 4

// Algorithm is a compute pipeline: a SPIR-V module specialized with
// constants 0 … SpecConstants-1, in the shared layout. Pipelines are built once and
// reused for every call.
type Algorithm struct {
	l      *Layout
	module vk.ShaderModule
	pipe   vk.Pipeline
}

// NewAlgorithm builds the pipeline of the SPIR-V module spv with
// specialization constant i set to spec[i].
func (l *Layout) NewAlgorithm(spv []byte, spec [SpecConstants]uint32) (*Algorithm, error) {
	if len(spv) == 0 || len(spv)%4 != 0 {
		return nil, fmt.Errorf("vkx: SPIR-V of %d bytes", len(spv))
	}
	code := make([]uint32, len(spv)/4)
	for i := range code {
		code[i] = binary.LittleEndian.Uint32(spv[4*i:])
	}
	// The SPIR-V, the entry point's name and the specialization data go to
	// the driver through calls.go, never through vulkan-go's converters
	// (whose finalizers free the create infos during the call).
	module, pipe, op, r := createPipeline(l.m.dev, code, l.pipe, spec)
	if err := check(op, r); err != nil {
		return nil, err
	}
	return &Algorithm{l: l, module: module, pipe: pipe}, nil
}

// Destroy destroys the pipeline and its module. Destroying twice is harmless.
func (a *Algorithm) Destroy() {
	if a == nil || a.pipe == nil {
		return
	}
	vk.DestroyPipeline(a.l.m.dev, a.pipe, nil)
	vk.DestroyShaderModule(a.l.m.dev, a.module, nil)
	a.pipe = nil
}
