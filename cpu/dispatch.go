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

	// Backward from a stored mask: dx = keep ? dy*s : 0 (memory-bound).
	bwdBits32  func(dx, dy []float32, bits []byte, s float32)
	bwdBytes32 func(dx, dy []float32, m []byte, s float32)
	bwdBits64  func(dx, dy []float64, bits []byte, s float64)
	bwdBytes64 func(dx, dy []float64, m []byte, s float64)

	// Tile kernels of the 16-bit, alpha and fused ops. The caller works
	// through a call in tiles that fit the L1 cache: keepBits writes the
	// keep decisions of a tile from the stream, then one memory-bound
	// apply kernel reads them as bits (element i of its slices is kept iff
	// bits[i>>3]>>(i&7)&1 == 1; len(bits) >= ceil(n/8), n = len(y)). A
	// stored mask gives the bits directly (a bytes mask is packed first).
	// y may alias x (and, in fused kernels, r); 16-bit data is raw bits,
	// bf selecting bfloat16 over IEEE binary16. Each computes exactly as
	// CONTRACT.md says, bit for bit with the portable versions in
	// kernel16.go and friends.
	//
	// keepBits writes ceil(n/8) bytes: bit i (i < n) is the keep decision
	// of stream word a.g0+i under a.t, padding bits zero.
	keepBits func(bits []byte, n int, a *span)
	// apply16: y = keep ? round16(float32(x)·s) : +0 (also 16-bit backward).
	apply16 func(y, x []uint16, bits []byte, s float32, bf bool)
	// alpha: y = keep ? (A·x) + B : D, the product rounded before the add.
	alpha32 func(y, x []float32, bits []byte, A, B, D float32)
	alpha64 func(y, x []float64, bits []byte, A, B, D float64)
	alpha16 func(y, x []uint16, bits []byte, A, B, D float32, bf bool)
	// fused: t = x + bias[(b0+i) % len(bias)], u = keep ? t·s : +0,
	// y = r[i] + u, each step rounded to the data type; bias or r may be
	// nil (absent), b0 < len(bias).
	fused32 func(y, x, r, bias []float32, b0 int, bits []byte, s float32)
	fused64 func(y, x, r, bias []float64, b0 int, bits []byte, s float64)
	fused16 func(y, x, r, bias []uint16, b0 int, bits []byte, s float32, bf bool)
}

var portable = kernels{
	name:    "portable",
	minSpan: 1 << 15,
	fwd32:   fwd32Generic, fwd64: fwd64Generic,
	bwdBits32: bwdBits32Generic, bwdBytes32: bwdBytes32Generic,
	bwdBits64: bwdBits64Generic, bwdBytes64: bwdBytes64Generic,
	keepBits: keepBitsGeneric, apply16: apply16Generic,
	alpha32: alpha32Generic, alpha64: alpha64Generic, alpha16: alpha16Generic,
	fused32: fused32Generic, fused64: fused64Generic, fused16: fused16Generic,
}

// best returns the fastest kernel set this machine runs.
func best() kernels {
	if k, ok := simdKernels(); ok {
		return k
	}
	return portable
}
