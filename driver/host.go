package driver

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/gpudropout/dropout"
)

// NewHostBuffer returns a Buffer in host memory, as CPU backends' Alloc does.
func NewHostBuffer(dt dropout.DType, n int) (dropout.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: negative length %d", dropout.ErrLength, n)
	}
	var t dropout.Tensor
	switch dt {
	case dropout.Float32:
		t = make(dropout.Float32s, n)
	case dropout.Float64:
		t = make(dropout.Float64s, n)
	case dropout.Float16:
		t = make(dropout.Float16s, n)
	case dropout.BFloat16:
		t = make(dropout.BFloat16s, n)
	case dropout.Uint8:
		t = make(dropout.Bytes, n)
	default:
		return nil, fmt.Errorf("%w: %v", dropout.ErrDType, dt)
	}
	b := &hostBuffer{dt: dt, n: n}
	b.t.Store(&t)
	return b, nil
}

// hostBuffer is a Buffer in host memory, or a view of one. The tensor sits
// behind an atomic pointer so that Release racing with use is not a data
// race: a call sees the buffer either live or released.
//
// A view holds its own elements (a slice of its root's memory) and its
// root, the buffer from NewHostBuffer it was sliced from, directly or
// through other views: releasing the view clears only its own pointer,
// releasing the root clears the root's, which every view checks.
type hostBuffer struct {
	dt   dropout.DType
	n    int
	root *hostBuffer // nil for a buffer from NewHostBuffer
	t    atomic.Pointer[dropout.Tensor]
}

func (b *hostBuffer) DType() dropout.DType { return b.dt }
func (b *hostBuffer) Len() int             { return b.n }

// host returns the buffer's elements, or false once it or its root is
// released.
func (b *hostBuffer) host() (dropout.Tensor, bool) {
	t := b.t.Load()
	if t == nil || b.root != nil && b.root.t.Load() == nil {
		return nil, false
	}
	return *t, true
}

func (b *hostBuffer) released(what string) error {
	return fmt.Errorf("%w: %s of a %v buffer of %d elements", dropout.ErrReleased, what, b.dt, b.n)
}

func (b *hostBuffer) Write(src dropout.Tensor) error {
	t, ok := b.host()
	if !ok {
		return b.released("Write")
	}
	return copyHost(t, src)
}

func (b *hostBuffer) Read(dst dropout.Tensor) error {
	t, ok := b.host()
	if !ok {
		return b.released("Read")
	}
	return copyHost(dst, t)
}

// Slice returns a view of elements [off, off+n) of the buffer: a buffer
// over the same memory whose root is the buffer from NewHostBuffer.
func (b *hostBuffer) Slice(off, n int) (dropout.Buffer, error) {
	if err := CheckSlice(b, off, n); err != nil {
		return nil, err
	}
	t, ok := b.host()
	if !ok {
		return nil, b.released("Slice")
	}
	v := &hostBuffer{dt: b.dt, n: n, root: b}
	if b.root != nil {
		v.root = b.root
	}
	s := sliceHost(t, off, off+n)
	v.t.Store(&s)
	return v, nil
}

// Release makes the buffer unusable: a buffer from NewHostBuffer, with
// every view of it, or a view alone. The memory goes to the garbage
// collector once nothing refers to it.
func (b *hostBuffer) Release() error { b.t.Store(nil); return nil }

// CheckSlice checks the range of Slice(off, n) of t: 0 <= off and 0 <= n
// and off+n <= t.Len(), or an error wrapping dropout.ErrLength that names
// the numbers. Every backend's Slice uses it.
func CheckSlice(t dropout.Tensor, off, n int) error {
	if l := t.Len(); off < 0 || n < 0 || off > l || n > l-off {
		return fmt.Errorf("%w: Slice(%d, %d) of a %v buffer of %d elements", dropout.ErrLength, off, n, t.DType(), l)
	}
	return nil
}

// sliceHost returns elements [lo, hi) of the host slice t.
func sliceHost(t dropout.Tensor, lo, hi int) dropout.Tensor {
	switch t := t.(type) {
	case dropout.Float32s:
		return t[lo:hi:hi]
	case dropout.Float64s:
		return t[lo:hi:hi]
	case dropout.Float16s:
		return t[lo:hi:hi]
	case dropout.BFloat16s:
		return t[lo:hi:hi]
	case dropout.Bytes:
		return t[lo:hi:hi]
	}
	panic(fmt.Sprintf("driver: sliceHost of %T", t))
}

// Host returns the host slice behind t: t itself for a host slice type, the
// slice behind a buffer from NewHostBuffer or behind a HostMemory buffer
// (a CPU backend's), or ok == false for anything else (a device buffer, or
// a released or closed host buffer). A view's slice is the part of its
// root's memory it covers.
func Host(t dropout.Tensor) (h dropout.Tensor, ok bool) {
	switch v := t.(type) {
	case dropout.Float32s, dropout.Float64s, dropout.Float16s, dropout.BFloat16s, dropout.Bytes:
		return v, true
	case *hostBuffer:
		return v.host()
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
	dropout.Buffer
	HostBuffer() (dropout.Buffer, error)
}

// HostOperand returns the host slice behind an operand of a CPU backend's
// call, as Host does, or an error: ErrReleased for a released buffer from
// NewHostBuffer, ErrForeignBuffer for any other tensor (a device buffer).
// A nil tensor gives (nil, nil): the caller's own checks name it.
func HostOperand(t dropout.Tensor) (dropout.Tensor, error) {
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
		return nil, fmt.Errorf("%w: %v buffer of %d elements", dropout.ErrReleased, t.DType(), t.Len())
	}
	return nil, fmt.Errorf("%w: %T is not host memory", dropout.ErrForeignBuffer, t)
}

// IsHostBuffer reports whether t is a released or live buffer in host
// memory (from NewHostBuffer, or a HostMemory buffer); with Host it lets a
// backend tell a released buffer from a foreign one.
func IsHostBuffer(t dropout.Tensor) bool {
	switch t.(type) {
	case *hostBuffer, HostMemory:
		return true
	}
	return false
}

// CopyHost copies the host tensor src into the host tensor dst, which must
// have the same type and length: the Copy of CPU backends.
func CopyHost(dst, src dropout.Tensor) error { return copyHost(dst, src) }

func copyHost(dst, src dropout.Tensor) error {
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
	case dropout.Float32s:
		copy(d, s.(dropout.Float32s))
	case dropout.Float64s:
		copy(d, s.(dropout.Float64s))
	case dropout.Float16s:
		copy(d, s.(dropout.Float16s))
	case dropout.BFloat16s:
		copy(d, s.(dropout.BFloat16s))
	case dropout.Bytes:
		copy(d, s.(dropout.Bytes))
	}
	return nil
}

// CheckCopy checks that src can be copied into dst: neither nil, the same
// type and the same length. Every backend's Copy, Read and Write use it.
func CheckCopy(dst, src dropout.Tensor) error {
	if dst == nil || src == nil {
		return fmt.Errorf("%w: nil tensor", dropout.ErrLength)
	}
	if dst.DType() != src.DType() {
		return fmt.Errorf("%w: copy from %v to %v", dropout.ErrDType, src.DType(), dst.DType())
	}
	if dst.Len() != src.Len() {
		return fmt.Errorf("%w: copy of %d elements into %d", dropout.ErrLength, src.Len(), dst.Len())
	}
	return nil
}

// RawBytes returns the memory of a host tensor (a host slice type or a
// live buffer from NewHostBuffer) as bytes, without copying: what a backend
// uploads and downloads. It returns nil for an empty tensor and ok == false
// for anything that is not host memory.
func RawBytes(t dropout.Tensor) (b []byte, ok bool) {
	h, ok := Host(t)
	if !ok {
		return nil, false
	}
	switch v := h.(type) {
	case dropout.Float32s:
		return sliceBytes(v), true
	case dropout.Float64s:
		return sliceBytes(v), true
	case dropout.Float16s:
		return sliceBytes(v), true
	case dropout.BFloat16s:
		return sliceBytes(v), true
	case dropout.Bytes:
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
