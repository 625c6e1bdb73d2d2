package kernels

import (
	"embed"
	"fmt"
)

//go:generate sh glsl/build.sh

// GLSLFlags are the glslc flags glsl/build.sh compiles every shader with
// (plus -DF64 for the float64 variants). They give deterministic output:
// optimized, no debug information, Vulkan 1.1 SPIR-V.
var GLSLFlags = []string{"-O", "--target-env=vulkan1.1", "-x", "glsl", "-fshader-stage=compute"}

// GLSLShader names one committed SPIR-V module and the GLSL it comes from.
type GLSLShader struct {
	Name   string // module name: the .spv file is glsl/Name.spv
	Source string // the .comp file under glsl/
	F64    bool   // compiled with -DF64 (float64 data)
	// Subgroup: compiled with -DSUBGROUP (subgroup operations, which a
	// device may lack: used only where it has them).
	Subgroup bool
}

// GLSLShaders lists every SPIR-V module of the Vulkan backend:
//
//   - dropout: dropout without broadcasting; specialization constant 0
//     selects the mode (0 regenerate, 1 write bits, 2 write bytes,
//     3 read bits, 4 read bytes)
//   - dropout_sg: mode 1 of dropout with one quad per invocation, each
//     mask word assembled with subgroup shuffles (a GPU whose subgroups
//     have them)
//   - mask: writes a bits (1) or bytes (2) mask only, the first pass of a
//     noise-shape call and a region's mask (through a word map)
//   - apply: applies a broadcast bits (1) or bytes (2) mask
//   - empty: does nothing (the floor of a dispatch's submit-and-wait)
//   - example_add: y = x + bias, the program's own shader of the Vulkan
//     pipeline example (gpu/vulkan), not a kernel of the library
//   - philox_kat: the Philox4x32-10 known-answer test (0), and the test
//     of the stream's block arithmetic, which wraps the 62-bit block
//     counter from 2^62-1 to 0 (1)
//
// and the float64 variants dropout_f64, dropout_f64_sg and apply_f64. All share
// glsl/common.glsl: Philox, the keep rule and the push-constant block; the
// data shaders share glsl/elem.glsl, the element arithmetic. Constant 1
// of the data shaders is the call's flags (p = 1, p = 0, alpha, bias,
// residual) and constant 2 the data type (0 float32, 1 float16,
// 2 bfloat16; 16-bit values packed two to a 32-bit word).
var GLSLShaders = []GLSLShader{
	{"dropout", "dropout.comp", false, false},
	{"dropout_f64", "dropout.comp", true, false},
	{"dropout_sg", "dropout.comp", false, true},
	{"dropout_f64_sg", "dropout.comp", true, true},
	{"mask", "mask.comp", false, false},
	{"apply", "apply.comp", false, false},
	{"apply_f64", "apply.comp", true, false},
	{"philox_kat", "philox_kat.comp", false, false},
	{"empty", "empty.comp", false, false},
	{"example_add", "example_add.comp", false, false},
}

//go:embed glsl/*.spv
var spirv embed.FS

// SPIRV returns the SPIR-V module called name (see GLSLShaders).
func SPIRV(name string) ([]byte, error) {
	b, err := spirv.ReadFile("glsl/" + name + ".spv")
	if err != nil {
		return nil, fmt.Errorf("kernels: no SPIR-V module %q: %w", name, err)
	}
	return b, nil
}
