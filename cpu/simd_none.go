//go:build !amd64 || purego

package cpu

// simdKernels reports no SIMD kernels: the AVX2 ones (simd_amd64.go) need
// amd64 and are left out by the purego build tag.
func simdKernels() (kernels, bool) { return kernels{}, false }
