package cpu

// simdKernels reports no SIMD kernels. (The AVX2 path replaces this file.)
func simdKernels() (kernels, bool) { return kernels{}, false }
