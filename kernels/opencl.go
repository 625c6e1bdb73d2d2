package kernels

import _ "embed"

// OpenCL is the OpenCL C 1.2 source of the dropout kernels (opencl/dropout.cl):
// Philox4x32-10, forward for every mask format, backward from a stored mask,
// and noise-shape broadcasting, for float32 and, where the device has
// cl_khr_fp64, float64. The gpu/opencl package builds it once per context.
//
//go:embed opencl/dropout.cl
var OpenCL string
