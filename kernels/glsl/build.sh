#!/bin/sh
# build.sh compiles the GLSL compute shaders of this directory to the
# committed SPIR-V (run by `go generate ./kernels`). The flags give
# deterministic output: optimized, no debug info, Vulkan 1.1 SPIR-V.
# kernels/vulkan_test.go compiles with the same flags (Flags) and checks the
# committed .spv files against fresh output.
set -eu
cd "$(dirname "$0")"
GLSLC=${GLSLC:-glslc}
FLAGS="-O --target-env=vulkan1.1 -x glsl -fshader-stage=compute"
for s in dropout mask apply philox_kat empty example_add; do
	$GLSLC $FLAGS -o "$s.spv" "$s.comp"
done
for s in dropout apply; do
	$GLSLC $FLAGS -DF64 -o "${s}_f64.spv" "$s.comp"
done
# GEN_BITS with subgroup operations (dropout.comp, SUBGROUP)
$GLSLC $FLAGS -DSUBGROUP -o dropout_sg.spv dropout.comp
$GLSLC $FLAGS -DF64 -DSUBGROUP -o dropout_f64_sg.spv dropout.comp
