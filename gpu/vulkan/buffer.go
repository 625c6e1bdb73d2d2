//go:build cgo && !novulkan

package vulkan

import (
	"fmt"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// Buffer is a device-local buffer made by Backend.Alloc. Its memory is
// rounded up to whole 32-bit words (a mask of Mask.Bytes(n) bytes is
// written a word at a time).
type Buffer struct {
	b   *Backend
	buf *vkx.Buffer
	dt  dropout.DType
	n   int
}

// DType returns the element type.
func (x *Buffer) DType() dropout.DType { return x.dt }

// Len returns the number of elements.
func (x *Buffer) Len() int { return x.n }

// bytes returns the size of the contents in bytes.
func (x *Buffer) bytes() uint64 { return uint64(x.n) * uint64(x.dt.Size()) }

// Alloc returns a zeroed device buffer of n elements of type dt.
func (b *Backend) Alloc(dt dropout.DType, n int) (dropout.Buffer, error) {
	if b.close {
		return nil, dropout.ErrClosed
	}
	if dt.Size() == 0 {
		return nil, fmt.Errorf("%w: %v", dropout.ErrDType, dt)
	}
	if n < 0 {
		return nil, fmt.Errorf("%w: negative length %d", dropout.ErrLength, n)
	}
	if limit := uint64(b.info.MaxAlloc); limit > 0 && uint64(n) > (limit-4)/uint64(dt.Size()) {
		return nil, fmt.Errorf("%w: %d %v elements exceed the device's largest allocation (%d bytes)", dropout.ErrOutOfMemory, n, dt, limit)
	}
	size := roundUp(uint64(n)*uint64(dt.Size()), 4)
	vb, err := b.m.NewBuffer(max(size, 4), vkx.DeviceLocal)
	if err != nil {
		return nil, b.validated(b.wrap(err))
	}
	x := &Buffer{b: b, buf: vb, dt: dt, n: n}
	// Device memory is not zeroed by Vulkan.
	err = b.seq.Fill(vb, 0, vb.Size, 0)
	if err == nil {
		err = b.seq.Submit()
	}
	if err = b.validated(err); err != nil {
		vb.Destroy()
		return nil, err
	}
	b.bufs[x] = struct{}{}
	return x, nil
}

// Release frees the buffer. Releasing twice is harmless.
func (x *Buffer) Release() error {
	if x.buf == nil {
		return nil
	}
	delete(x.b.bufs, x)
	x.destroy()
	return nil
}

func (x *Buffer) destroy() {
	x.buf.Destroy()
	x.buf = nil
}

// live returns an error unless the buffer and its backend are usable.
func (x *Buffer) live() error {
	if x.b.close {
		return dropout.ErrClosed
	}
	if x.buf == nil {
		return fmt.Errorf("%w: buffer released", dropout.ErrClosed)
	}
	return nil
}

// Write copies src, a host tensor or a buffer of the same backend, into x.
func (x *Buffer) Write(src dropout.Tensor) error {
	if err := x.live(); err != nil {
		return err
	}
	if err := dropout.CheckCopy(x, src); err != nil {
		return err
	}
	if sb, ok := src.(*Buffer); ok {
		return x.b.copyBuffers(x, sb)
	}
	h, err := hostBytes(src)
	if err != nil {
		return err
	}
	return x.b.validated(x.b.wrap(x.b.upload(x.buf, 0, h)))
}

// Read copies x into dst, a host tensor or a buffer of the same backend.
func (x *Buffer) Read(dst dropout.Tensor) error {
	if err := x.live(); err != nil {
		return err
	}
	if err := dropout.CheckCopy(dst, x); err != nil {
		return err
	}
	if db, ok := dst.(*Buffer); ok {
		return x.b.copyBuffers(db, x)
	}
	h, err := hostBytes(dst)
	if err != nil {
		return err
	}
	return x.b.validated(x.b.wrap(x.b.download(h, x.buf, 0)))
}

// hostBytes returns the bytes of a host tensor (a host slice or a host
// buffer from dropout.NewHostBuffer).
func hostBytes(t dropout.Tensor) ([]byte, error) {
	h, ok := dropout.Host(t)
	if !ok {
		if dropout.IsHostBuffer(t) {
			return nil, fmt.Errorf("%w: buffer released", dropout.ErrClosed)
		}
		return nil, fmt.Errorf("%w: %T is not a host tensor or a vulkan buffer", dropout.ErrForeignBuffer, t)
	}
	b, ok := dropout.RawBytes(h)
	if !ok {
		return nil, fmt.Errorf("%w: %T", dropout.ErrDType, h)
	}
	return b, nil
}

func roundUp(n, m uint64) uint64 { return (n + m - 1) / m * m }
