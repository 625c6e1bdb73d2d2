package cpu

// kernels is the set of inner loops a CPU backend runs. The portable set is
// always available; a SIMD set, where the machine has one, replaces the
// Philox-bound loops with the same results bit for bit.
type kernels struct {
	name  string
	fwd32 func(y, x []float32, bits, bytes []byte, a *span)
	fwd64 func(y, x []float64, bits, bytes []byte, a *span)
	keep  func(k []byte, a *span)
}

var portable = kernels{name: "portable", fwd32: fwd32Generic, fwd64: fwd64Generic, keep: keepGeneric}

// best returns the fastest kernel set this machine runs.
func best() kernels {
	if k, ok := simdKernels(); ok {
		return k
	}
	return portable
}
