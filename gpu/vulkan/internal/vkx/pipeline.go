//go:build cgo && !novulkan

package vkx

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// The layout every dropout shader shares (kernels/glsl/common.glsl): three
// storage buffers X, Y and M in set 0 and a push-constant block of PushSize
// bytes.
const (
	Bindings  = 3
	PushWords = 27
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
	binds := make([]vk.DescriptorSetLayoutBinding, Bindings)
	for i := range binds {
		binds[i] = vk.DescriptorSetLayoutBinding{
			Binding:         uint32(i),
			DescriptorType:  vk.DescriptorTypeStorageBuffer,
			DescriptorCount: 1,
			StageFlags:      vk.ShaderStageFlags(vk.ShaderStageComputeBit),
		}
	}
	l := &Layout{m: m}
	info := vk.DescriptorSetLayoutCreateInfo{
		SType:        vk.StructureTypeDescriptorSetLayoutCreateInfo,
		BindingCount: Bindings,
		PBindings:    binds,
	}
	var set vk.DescriptorSetLayout
	if err := check("vkCreateDescriptorSetLayout", vk.CreateDescriptorSetLayout(m.dev, &info, nil, &set)); err != nil {
		return nil, err
	}
	l.set = set
	pinfo := vk.PipelineLayoutCreateInfo{
		SType:                  vk.StructureTypePipelineLayoutCreateInfo,
		SetLayoutCount:         1,
		PSetLayouts:            []vk.DescriptorSetLayout{l.set},
		PushConstantRangeCount: 1,
		PPushConstantRanges: []vk.PushConstantRange{{
			StageFlags: vk.ShaderStageFlags(vk.ShaderStageComputeBit),
			Size:       PushSize,
		}},
	}
	var pipe vk.PipelineLayout
	if err := check("vkCreatePipelineLayout", vk.CreatePipelineLayout(m.dev, &pinfo, nil, &pipe)); err != nil {
		vk.DestroyDescriptorSetLayout(m.dev, l.set, nil)
		return nil, err
	}
	l.pipe = pipe
	return l, nil
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

// Algorithm is a compute pipeline: a SPIR-V module specialized with
// constant 0 = mode, in the shared layout. Pipelines are built once and
// reused for every call.
type Algorithm struct {
	l      *Layout
	module vk.ShaderModule
	pipe   vk.Pipeline
}

// NewAlgorithm builds the pipeline of the SPIR-V module spv with
// specialization constant 0 set to mode.
func (l *Layout) NewAlgorithm(spv []byte, mode uint32) (*Algorithm, error) {
	if len(spv) == 0 || len(spv)%4 != 0 {
		return nil, fmt.Errorf("vkx: SPIR-V of %d bytes", len(spv))
	}
	code := make([]uint32, len(spv)/4)
	for i := range code {
		code[i] = binary.LittleEndian.Uint32(spv[4*i:])
	}
	a := &Algorithm{l: l}
	minfo := vk.ShaderModuleCreateInfo{
		SType:    vk.StructureTypeShaderModuleCreateInfo,
		CodeSize: uint(len(spv)),
		PCode:    code,
	}
	dev := l.m.dev
	var module vk.ShaderModule
	if err := check("vkCreateShaderModule", vk.CreateShaderModule(dev, &minfo, nil, &module)); err != nil {
		return nil, err
	}
	a.module = module
	spec := []uint32{mode}
	info := vk.ComputePipelineCreateInfo{
		SType: vk.StructureTypeComputePipelineCreateInfo,
		Stage: vk.PipelineShaderStageCreateInfo{
			SType:  vk.StructureTypePipelineShaderStageCreateInfo,
			Stage:  vk.ShaderStageComputeBit,
			Module: a.module,
			PName:  cstr("main"),
			PSpecializationInfo: []vk.SpecializationInfo{{
				MapEntryCount: 1,
				PMapEntries:   []vk.SpecializationMapEntry{{ConstantID: 0, Offset: 0, Size: 4}},
				DataSize:      4,
				PData:         unsafe.Pointer(&spec[0]),
			}},
		},
		Layout:            l.pipe,
		BasePipelineIndex: -1,
	}
	pipes := make([]vk.Pipeline, 1)
	if err := check("vkCreateComputePipelines", vk.CreateComputePipelines(dev, vk.NullPipelineCache, 1, []vk.ComputePipelineCreateInfo{info}, nil, pipes)); err != nil {
		vk.DestroyShaderModule(dev, a.module, nil)
		return nil, err
	}
	a.pipe = pipes[0]
	return a, nil
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
