//go:build cgo && !novulkan

package vulkan

import (
	"fmt"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// hostPiece is the most bytes of one host tensor staged at a time.
const hostPiece = 256 << 20

// scratch holds the buffers host tensors are staged through. They grow as
// needed and are kept for later calls.
type scratch struct {
	data, mask   *vkx.Buffer // device-local
	sdata, smask *vkx.Buffer // staging
}

func (s *scratch) destroy() {
	for _, b := range []*vkx.Buffer{s.data, s.mask, s.sdata, s.smask} {
		b.Destroy()
	}
	*s = scratch{}
}

// get returns *slot, grown to at least size bytes.
func (b *Backend) get(slot **vkx.Buffer, size uint64, kind vkx.Kind) (*vkx.Buffer, error) {
	size = max(roundUp(size, 256), 256)
	if *slot != nil && (*slot).Size >= size {
		return *slot, nil
	}
	(*slot).Destroy()
	*slot = nil
	nb, err := b.m.NewBuffer(size, kind)
	if err != nil {
		return nil, b.wrap(err)
	}
	*slot = nb
	return nb, nil
}

// upload copies host bytes h into dst at off, through staging.
func (b *Backend) upload(dst *vkx.Buffer, off uint64, h []byte) error {
	for len(h) > 0 {
		n := min(len(h), hostPiece)
		st, err := b.get(&b.sc.sdata, uint64(n), vkx.Staging)
		if err != nil {
			return err
		}
		copy(st.Host(), h[:n])
		if err := b.seq.Copy(dst, off, st, 0, uint64(n)); err != nil {
			return err
		}
		if err := b.seq.Submit(); err != nil {
			return err
		}
		h, off = h[n:], off+uint64(n)
	}
	return nil
}

// download copies len(h) bytes of src at off into h, through staging.
func (b *Backend) download(h []byte, src *vkx.Buffer, off uint64) error {
	for len(h) > 0 {
		n := min(len(h), hostPiece)
		st, err := b.get(&b.sc.sdata, uint64(n), vkx.Staging)
		if err != nil {
			return err
		}
		if err := b.seq.Copy(st, 0, src, off, uint64(n)); err != nil {
			return err
		}
		if err := b.seq.Submit(); err != nil {
			return err
		}
		copy(h[:n], st.Host())
		h, off = h[n:], off+uint64(n)
	}
	return nil
}

// copyBuffers copies src into dst on the device.
func (b *Backend) copyBuffers(dst, src *Buffer) error {
	if dst.b != b || src.b != b {
		return fmt.Errorf("%w: a buffer of another vulkan backend", dropout.ErrForeignBuffer)
	}
	if err := dst.live(); err != nil {
		return err
	}
	if err := src.live(); err != nil {
		return err
	}
	if dst.buf == src.buf {
		return nil
	}
	err := b.seq.Copy(dst.buf, 0, src.buf, 0, src.bytes())
	if err == nil {
		err = b.seq.Submit()
	}
	return b.validated(b.wrap(err))
}

// Copy copies src into dst (same type and length): on the device with
// vkCmdCopyBuffer for two buffers of this backend, through staging
// otherwise (a host-to-host copy makes the round trip through the device).
func (b *Backend) Copy(dst, src dropout.Tensor) error {
	if b.close {
		return dropout.ErrClosed
	}
	if err := dropout.CheckCopy(dst, src); err != nil {
		return err
	}
	db, dok := dst.(*Buffer)
	sb, sok := src.(*Buffer)
	switch {
	case dok && sok:
		return b.copyBuffers(db, sb)
	case dok:
		if db.b != b {
			return fmt.Errorf("%w: a buffer of another vulkan backend", dropout.ErrForeignBuffer)
		}
		return db.Write(src)
	case sok:
		if sb.b != b {
			return fmt.Errorf("%w: a buffer of another vulkan backend", dropout.ErrForeignBuffer)
		}
		return sb.Read(dst)
	}
	s, err := hostBytes(src)
	if err != nil {
		return err
	}
	d, err := hostBytes(dst)
	if err != nil {
		return err
	}
	for len(s) > 0 {
		n := min(len(s), hostPiece)
		dev, err := b.get(&b.sc.data, uint64(n), vkx.DeviceLocal)
		if err != nil {
			return b.validated(err)
		}
		if err := b.upload(dev, 0, s[:n]); err != nil {
			return b.validated(b.wrap(err))
		}
		if err := b.download(d[:n], dev, 0); err != nil {
			return b.validated(b.wrap(err))
		}
		s, d = s[n:], d[n:]
	}
	return b.validated(nil)
}
