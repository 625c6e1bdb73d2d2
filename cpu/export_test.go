package cpu

// NewForTest returns a fast backend with the given threads and least
// elements per worker (small, so that small tensors split too), on the
// portable kernels or the machine's best.
func NewForTest(threads, minSpan int, portableKernels bool) *CPU {
	k := best()
	if portableKernels {
		k = portable
	}
	return &CPU{threads: threads, k: k, minSpan: minSpan}
}
