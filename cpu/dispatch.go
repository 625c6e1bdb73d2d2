package cpu

// kernels is the set of inner loops a CPU backend runs. The portable set is
// always available; a SIMD set, where the machine has one, replaces the
// Philox-bound loops with the same results bit for bit.
type kernels struct {
	name string
	// minSpan is the least elements worth a worker goroutine: on the
	// development machine (2 vCPUs of a shared KVM guest, where waking the
	// second one is slow and often finds it busy) a second worker paid off
	// from about 2^16 elements with the portable kernels and 2^18 to 2^20
	// with AVX2 (BenchmarkSplit): 100-200µs of work per worker.
	minSpan int
	fwd32   func(y, x []float32, bits, bytes []byte, a *span)
	fwd64   func(y, x []float64, bits, bytes []byte, a *span)
	keep    func(k []byte, a *span)

	// Backward from a stored mask: dx = keep ? dy*s : 0 (memory-bound).
	bwdBits32  func(dx, dy []float32, bits []byte, s float32)
	bwdBytes32 func(dx, dy []float32, m []byte, s float32)
	bwdBits64  func(dx, dy []float64, bits []byte, s float64)
	bwdBytes64 func(dx, dy []float64, m []byte, s float64)
}

var portable = kernels{
	name:    "portable",
	minSpan: 1 << 15,
	fwd32:   fwd32Generic, fwd64: fwd64Generic, keep: keepGeneric,
	bwdBits32: bwdBits32Generic, bwdBytes32: bwdBytes32Generic,
	bwdBits64: bwdBits64Generic, bwdBytes64: bwdBytes64Generic,
}

// best returns the fastest kernel set this machine runs.
func best() kernels {
	if k, ok := simdKernels(); ok {
		return k
	}
	return portable
}
