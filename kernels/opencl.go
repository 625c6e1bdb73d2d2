package kernels

import _ "embed"

// OpenCL is the OpenCL C 1.2 source of the dropout kernels (opencl/dropout.cl):
// Philox4x32-10, forward for every mask format (and the mask alone, also
// through a region's word map), backward from a stored mask, noise-shape
// broadcasting, alpha dropout, the fused bias + dropout + residual op and
// zeroing, for float32, float16, bfloat16 and, where the device has
// cl_khr_fp64, float64. The gpu/opencl
// package builds it once per context and maps the executor's kernels
// (gpu/internal/exec) onto it.
//
//go:embed opencl/dropout.cl
var OpenCL string
