// Package cpu holds the two CPU backends of dropout.
//
// Reference ("reference") is the oracle: element by element, float64 maths
// on gonum, rounded once, written to be obviously correct rather than fast.
// Every other backend must match it bit for bit.
//
// CPU ("cpu") is the fast backend: the same results, spread over all cores
// in whole Philox blocks, with no allocation per element. Its inner kernels
// (kernel.go) are the place a SIMD path plugs in.
//
// Conventions: destination first, as in the root package; both backends take
// host tensors (dropout.Float32s, dropout.Float64s, dropout.Bytes) and the
// buffers their own Alloc returns. 16-bit data and alpha dropout return
// dropout.ErrDType and dropout.ErrUnsupported until they are implemented.
package cpu
