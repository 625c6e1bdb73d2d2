package dropout

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

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
// buffers between it and a host tensor of the same type and length.
type Buffer interface {
	Tensor
	// Write copies the host tensor src into the buffer.
	Write(src Tensor) error
	// Read copies the buffer into the host tensor dst.
	Read(dst Tensor) error
	// Release frees the buffer. Releasing twice is harmless.
	Release() error
}

// NewHostBuffer returns a Buffer in host memory, as CPU backends' Alloc does.
func NewHostBuffer(dt DType, n int) (Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: negative length %d", ErrLength, n)
	}
	var t Tensor
	switch dt {
	case Float32:
		t = make(Float32s, n)
	case Float64:
		t = make(Float64s, n)
	case Float16:
		t = make(Float16s, n)
	case BFloat16:
		t = make(BFloat16s, n)
	case Uint8:
		t = make(Bytes, n)
	default:
		return nil, fmt.Errorf("%w: %v", ErrDType, dt)
	}
	b := &hostBuffer{dt: dt, n: n}
	b.t.Store(&t)
	return b, nil
}

// hostBuffer is a Buffer in host memory. The tensor sits behind an atomic
// pointer so that Release racing with use is not a data race: a call sees
// the buffer either live or released.
type hostBuffer struct {
	dt DType
	n  int
	t  atomic.Pointer[Tensor]
}

func (b *hostBuffer) DType() DType { return b.dt }
func (b *hostBuffer) Len() int     { return b.n }

func (b *hostBuffer) Write(src Tensor) error {
	t := b.t.Load()
	if t == nil {
		return fmt.Errorf("%w: Write", ErrReleased)
	}
	return copyHost(*t, src)
}

func (b *hostBuffer) Read(dst Tensor) error {
	t := b.t.Load()
	if t == nil {
		return fmt.Errorf("%w: Read", ErrReleased)
	}
	return copyHost(dst, *t)
}

func (b *hostBuffer) Release() error { b.t.Store(nil); return nil }

// Host returns the host slice behind t: t itself for a host slice type, the
// slice behind a buffer from NewHostBuffer or behind a HostMemory buffer
// (a CPU backend's), or ok == false for anything else (a device buffer, or
// a released or closed host buffer).
func Host(t Tensor) (h Tensor, ok bool) {
	switch v := t.(type) {
	case Float32s, Float64s, Float16s, BFloat16s, Bytes:
		return v, true
	case *hostBuffer:
		p := v.t.Load()
		if p == nil {
			return nil, false
		}
		return *p, true
	case HostMemory:
		b, err := v.HostBuffer()
		if err != nil {
			return nil, false
		}
		return Host(b)
	}
	return nil, false
}

// HostMemory is a Buffer in host memory that wraps a buffer from
// NewHostBuffer, as a CPU backend's Alloc returns: HostBuffer returns the
// wrapped buffer, or an error (ErrClosed once its backend is closed).
// Host, HostOperand, IsHostBuffer and RawBytes see through it.
type HostMemory interface {
	Buffer
	HostBuffer() (Buffer, error)
}

// HostOperand returns the host slice behind an operand of a CPU backend's
// call, as Host does, or an error: ErrReleased for a released buffer from
// NewHostBuffer, ErrForeignBuffer for any other tensor (a device buffer).
// A nil tensor gives (nil, nil): the caller's own checks name it.
func HostOperand(t Tensor) (Tensor, error) {
	if t == nil {
		return nil, nil
	}
	if m, ok := t.(HostMemory); ok {
		b, err := m.HostBuffer()
		if err != nil {
			return nil, err
		}
		t = b
	}
	if h, ok := Host(t); ok {
		return h, nil
	}
	if IsHostBuffer(t) {
		return nil, fmt.Errorf("%w: %v buffer of %d elements", ErrReleased, t.DType(), t.Len())
	}
	return nil, fmt.Errorf("%w: %T is not host memory", ErrForeignBuffer, t)
}

// IsHostBuffer reports whether t is a released or live buffer in host
// memory (from NewHostBuffer, or a HostMemory buffer); with Host it lets a
// backend tell a released buffer from a foreign one.
func IsHostBuffer(t Tensor) bool {
	switch t.(type) {
	case *hostBuffer, HostMemory:
		return true
	}
	return false
}

// CopyHost copies the host tensor src into the host tensor dst, which must
// have the same type and length: the Copy of CPU backends.
func CopyHost(dst, src Tensor) error { return copyHost(dst, src) }

func copyHost(dst, src Tensor) error {
	if err := CheckCopy(dst, src); err != nil {
		return err
	}
	d, err := HostOperand(dst)
	if err != nil {
		return err
	}
	s, err := HostOperand(src)
	if err != nil {
		return err
	}
	switch d := d.(type) {
	case Float32s:
		copy(d, s.(Float32s))
	case Float64s:
		copy(d, s.(Float64s))
	case Float16s:
		copy(d, s.(Float16s))
	case BFloat16s:
		copy(d, s.(BFloat16s))
	case Bytes:
		copy(d, s.(Bytes))
	}
	return nil
}

// CheckCopy checks that src can be copied into dst: neither nil, the same
// type and the same length. Every backend's Copy, Read and Write use it.
func CheckCopy(dst, src Tensor) error {
	if dst == nil || src == nil {
		return fmt.Errorf("%w: nil tensor", ErrLength)
	}
	if dst.DType() != src.DType() {
		return fmt.Errorf("%w: copy from %v to %v", ErrDType, src.DType(), dst.DType())
	}
	if dst.Len() != src.Len() {
		return fmt.Errorf("%w: copy of %d elements into %d", ErrLength, src.Len(), dst.Len())
	}
	return nil
}

// RawBytes returns the memory of a host tensor (a host slice type or a
// live buffer from NewHostBuffer) as bytes, without copying: what a backend
// uploads and downloads. It returns nil for an empty tensor and ok == false
// for anything that is not host memory.
func RawBytes(t Tensor) (b []byte, ok bool) {
	h, ok := Host(t)
	if !ok {
		return nil, false
	}
	switch v := h.(type) {
	case Float32s:
		return sliceBytes(v), true
	case Float64s:
		return sliceBytes(v), true
	case Float16s:
		return sliceBytes(v), true
	case BFloat16s:
		return sliceBytes(v), true
	case Bytes:
		return v, true
	}
	return nil, false
}

func sliceBytes[E any](s []E) []byte {
	if len(s) == 0 {
		return nil
	}
	var z E
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(z)))
}
