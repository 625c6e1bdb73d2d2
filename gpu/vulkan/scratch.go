//go:build cgo && !novulkan

package vulkan

import (
	"fmt"
	"sync"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// hostPiece is the most bytes of one host tensor staged at a time.
const hostPiece = 256 << 20

// worker is what one call in flight records and stages with: a command
// sequence (command pool, command buffer, fence, descriptor pool) and the
// scratch buffers host tensors go through. A worker serves one call at a
// time; the backend keeps idle workers for later calls.
type worker struct {
	seq *vkx.Sequence
	sc  scratch
}

// scratch holds the buffers host tensors are staged through. They grow as
// needed and are kept for later calls (or freed by workers.trim when
// memory runs short).
type scratch struct {
	data, mask   *vkx.Buffer // device-local
	sdata, smask *vkx.Buffer // staging
}

func (s *scratch) destroy(b *Backend) uint64 {
	var n uint64
	for _, buf := range []*vkx.Buffer{s.data, s.mask, s.sdata, s.smask} {
		if buf != nil {
			n += buf.Bytes
			b.freeBuffer(buf)
		}
	}
	*s = scratch{}
	return n
}

// workers is the backend's pool of workers: at most max exist, made on
// demand; a call waits when all are busy.
type workers struct {
	mu   sync.Mutex
	cond sync.Cond
	idle []*worker
	made int // workers in existence or being made
	max  int
}

func (p *workers) init(max int) {
	p.cond.L = &p.mu
	p.max = max
}

// get returns an idle worker, or a new one while fewer than max exist, or
// waits for one to come back.
func (b *Backend) getWorker() (*worker, error) {
	p := &b.pool
	p.mu.Lock()
	for len(p.idle) == 0 && p.made >= p.max {
		p.cond.Wait()
	}
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return w, nil
	}
	p.made++
	p.mu.Unlock()
	seq, err := b.m.NewSequence(b.l)
	if err != nil {
		p.mu.Lock()
		p.made--
		p.cond.Signal()
		p.mu.Unlock()
		return nil, b.wrap(err)
	}
	return &worker{seq: seq}, nil
}

// putWorker returns w to the pool, discarding anything it recorded and did
// not submit (after an error).
func (b *Backend) putWorker(w *worker) {
	w.seq.Abandon()
	p := &b.pool
	p.mu.Lock()
	p.idle = append(p.idle, w)
	p.cond.Signal()
	p.mu.Unlock()
}

// trim frees the scratch buffers of idle workers and returns the bytes
// freed.
func (p *workers) trim(b *Backend) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n uint64
	for _, w := range p.idle {
		n += w.sc.destroy(b)
	}
	return n
}

// destroy destroys every worker; no call may be in flight (Close).
func (p *workers) destroy(b *Backend) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.idle {
		w.sc.destroy(b)
		w.seq.Destroy()
	}
	p.idle = nil
	p.made = 0
}

// get returns *slot, grown to at least size bytes.
func (b *Backend) get(slot **vkx.Buffer, size uint64, kind vkx.Kind) (*vkx.Buffer, error) {
	size = max(roundUp(size, 256), 256)
	if *slot != nil && (*slot).Size >= size {
		return *slot, nil
	}
	b.freeBuffer(*slot)
	*slot = nil
	what := "a scratch buffer"
	if kind == vkx.Staging {
		what = "a staging buffer"
	}
	nb, err := b.newBuffer(what, size, kind)
	if err != nil {
		return nil, err
	}
	*slot = nb
	return nb, nil
}

// upload copies host bytes h into dst at off, through w's staging.
func (b *Backend) upload(w *worker, dst *vkx.Buffer, off uint64, h []byte) error {
	for len(h) > 0 {
		n := min(len(h), hostPiece)
		st, err := b.get(&w.sc.sdata, uint64(n), vkx.Staging)
		if err != nil {
			return err
		}
		copy(st.Host(), h[:n])
		if err := w.seq.Copy(dst, off, st, 0, uint64(n)); err != nil {
			return err
		}
		if err := w.seq.Submit(); err != nil {
			return err
		}
		h, off = h[n:], off+uint64(n)
	}
	return nil
}

// download copies len(h) bytes of src at off into h, through w's staging.
func (b *Backend) download(w *worker, h []byte, src *vkx.Buffer, off uint64) error {
	for len(h) > 0 {
		n := min(len(h), hostPiece)
		st, err := b.get(&w.sc.sdata, uint64(n), vkx.Staging)
		if err != nil {
			return err
		}
		if err := w.seq.Copy(st, 0, src, off, uint64(n)); err != nil {
			return err
		}
		if err := w.seq.Submit(); err != nil {
			return err
		}
		copy(h[:n], st.Host())
		h, off = h[n:], off+uint64(n)
	}
	return nil
}

// withWorker runs f with a worker of the pool; the caller has entered.
func (b *Backend) withWorker(f func(w *worker) error) error {
	w, err := b.getWorker()
	if err != nil {
		return b.validated(err)
	}
	defer b.putWorker(w)
	return b.validated(b.wrap(f(w)))
}

// copyBuffers copies src into dst on the device; both are in use (acquired).
func (b *Backend) copyBuffers(dst, src *vkx.Buffer, n uint64) error {
	if dst == src {
		return nil
	}
	return b.withWorker(func(w *worker) error {
		if err := w.seq.Copy(dst, 0, src, 0, n); err != nil {
			return err
		}
		return w.seq.Submit()
	})
}

// Copy copies src into dst (same type and length): on the device with
// vkCmdCopyBuffer for two buffers of this backend, through staging
// otherwise (a host-to-host copy makes the round trip through the device).
func (b *Backend) Copy(dst, src dropout.Tensor) error {
	if err := b.enter(); err != nil {
		return err
	}
	defer b.leave()
	if err := dropout.CheckCopy(dst, src); err != nil {
		return err
	}
	for _, t := range []dropout.Tensor{dst, src} {
		if x, ok := t.(*Buffer); ok && x.b != b {
			return fmt.Errorf("%w: a buffer of another vulkan backend", dropout.ErrForeignBuffer)
		}
	}
	db, dok := dst.(*Buffer)
	sb, sok := src.(*Buffer)
	switch {
	case dok && sok:
		return copyBetween(db, sb)
	case dok:
		return db.write(src)
	case sok:
		return sb.read(dst)
	}
	s, err := hostBytes(src)
	if err != nil {
		return err
	}
	d, err := hostBytes(dst)
	if err != nil {
		return err
	}
	return b.withWorker(func(w *worker) error {
		for len(s) > 0 {
			n := min(len(s), hostPiece)
			dev, err := b.get(&w.sc.data, uint64(n), vkx.DeviceLocal)
			if err != nil {
				return err
			}
			if err := b.upload(w, dev, 0, s[:n]); err != nil {
				return err
			}
			if err := b.download(w, d[:n], dev, 0); err != nil {
				return err
			}
			s, d = s[n:], d[n:]
		}
		return nil
	})
}
