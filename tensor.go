package dropout

import "fmt"

// DType is the element type of a tensor.
type DType uint8

// The element types. 16-bit floats are carried as raw uint16 bits.
const (
	Float32 DType = iota + 1
	Float64
	Float16  // IEEE 754 binary16, as raw bits
	BFloat16 // bfloat16, as raw bits
	Uint8    // masks
)

var dtypeNames = [...]string{Float32: "float32", Float64: "float64", Float16: "float16", BFloat16: "bfloat16", Uint8: "uint8"}
var dtypeSizes = [...]int{Float32: 4, Float64: 8, Float16: 2, BFloat16: 2, Uint8: 1}

func (d DType) String() string {
	if int(d) < len(dtypeNames) && dtypeNames[d] != "" {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size returns the size of one element in bytes, or 0 for an unknown type.
func (d DType) Size() int {
	if int(d) < len(dtypeSizes) {
		return dtypeSizes[d]
	}
	return 0
}

// Tensor is data a backend works on: a host slice type of this package
// (Float32s, Float64s, Float16s, BFloat16s, Bytes) or a Buffer made by a
// backend's Alloc.
type Tensor interface {
	DType() DType
	Len() int // number of elements
}

// Host slice tensors. Convert a slice to use it: Float32s(x).
type (
	Float32s  []float32
	Float64s  []float64
	Float16s  []uint16 // binary16 bits
	BFloat16s []uint16 // bfloat16 bits
	Bytes     []byte   // masks
)

func (Float32s) DType() DType  { return Float32 }
func (Float64s) DType() DType  { return Float64 }
func (Float16s) DType() DType  { return Float16 }
func (BFloat16s) DType() DType { return BFloat16 }
func (Bytes) DType() DType     { return Uint8 }
func (t Float32s) Len() int    { return len(t) }
func (t Float64s) Len() int    { return len(t) }
func (t Float16s) Len() int    { return len(t) }
func (t BFloat16s) Len() int   { return len(t) }
func (t Bytes) Len() int       { return len(t) }

// Buffer is a tensor that lives where a backend computes: device memory for
// a GPU backend, host memory for a CPU one. Read and Write move whole
// buffers between it and a host tensor of the same type and length; a
// ranged transfer is Read or Write of a view (Slice).
//
// Host tensors and buffers mix freely in one call: a GPU backend stages
// host operands through the device, and Backend.Copy moves data between
// the host and a buffer in either direction (or between two buffers).
type Buffer interface {
	Tensor
	// Write copies the host tensor src into the buffer.
	Write(src Tensor) error
	// Read copies the buffer into the host tensor dst.
	Read(dst Tensor) error
	// Slice returns a view of n elements of the buffer from element off:
	// a Buffer over the same memory, usable wherever a Buffer is (as an
	// operand of any call of the buffer's backend, and its Read and Write
	// are ranged transfers). off and n outside the buffer give an error
	// wrapping ErrLength. A view may start at any element: backends
	// address it through element offsets, whatever their alignment rules.
	// Releasing a view frees nothing and makes only that view unusable;
	// releasing the buffer it came from makes every view of it
	// ErrReleased, and its backend's Close makes them ErrClosed.
	Slice(off, n int) (Buffer, error)
	// Release frees the buffer. Releasing twice is harmless.
	Release() error
}
