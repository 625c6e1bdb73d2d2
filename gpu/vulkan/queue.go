//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"sync"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// This file is the backend's exec.Queue: command recording, staging
// and submission. dispatch.go maps the executor's kernels onto the
// shaders.

// vkQueue is an exec.Queue: a command sequence (recorded, submitted at
// Flush or Wait and waited on with its fence at Wait) and a host-visible
// staging area that uploads and downloads go through. The executor uses
// it from one goroutine at a time; mu lets the device's trim free the
// staging area of an idle queue.
type vkQueue struct {
	d   *vkDevice
	mu  sync.Mutex
	seq *vkx.Sequence

	// The staging area: bytes [0, used) hold the uploads and downloads
	// queued since the last Wait; downs are the downloads to copy out.
	area  *vkx.Buffer
	used  uint64
	downs []download
}

// download is a Download waiting for Wait: area bytes [off, off+len(dst)).
type download struct {
	dst []byte
	off uint64
}

// minArea is the smallest staging area, in bytes.
const minArea = 64 << 10

func (q *vkQueue) buffer(v exec.View) *vkx.Buffer { return memOf(v) }

// memOf returns the buffer of a view.
func memOf(v exec.View) *vkx.Buffer { return v.Mem.(*vkx.Buffer) }

// take returns the offset of n bytes of the staging area for an upload or
// download. When the area is too small it runs what is queued (and copies
// the downloads out), then grows it to hold everything asked for since the
// last Wait, so that the next call of the same shape needs one submission.
func (q *vkQueue) take(n uint64) (uint64, error) {
	off := roundUp(q.used, 64)
	if q.area != nil && off+n <= q.area.Size {
		q.used = off + n
		return off, nil
	}
	want := max(off+n, minArea)
	if q.used > 0 { // queued copies use the area
		if err := q.flush(); err != nil {
			return 0, err
		}
	}
	q.freeArea()
	area, err := q.d.newBuffer("a staging area for host tensors", want, vkx.Staging)
	if errors.Is(err, dropout.ErrOutOfMemory) && want > max(n, minArea) { // room for this one at least
		area, err = q.d.newBuffer("a staging area for host tensors", max(n, minArea), vkx.Staging)
	}
	if err != nil {
		return 0, err
	}
	q.area, q.used = area, n
	return 0, nil
}

// freeArea frees the staging area, which nothing queued uses, and returns
// its bytes.
func (q *vkQueue) freeArea() uint64 {
	if q.area == nil {
		return 0
	}
	n := q.area.Bytes
	q.d.freeBuffer(q.area)
	q.area, q.used = nil, 0
	return n
}

// Upload implements exec.Queue: src is copied into the staging area at
// once, and from there to dst by a queued copy.
func (q *vkQueue) Upload(dst exec.View, src []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(src) == 0 {
		return nil
	}
	n := uint64(len(src))
	off, err := q.take(n)
	if err != nil {
		return q.failed(err)
	}
	copy(q.area.Host()[off:off+n], src)
	if err := q.seq.Copy(q.buffer(dst), uint64(dst.Off), q.area, off, n); err != nil {
		return q.failed(err)
	}
	return nil
}

// Download implements exec.Queue: a queued copy from src into the staging
// area, copied out into dst at Wait.
func (q *vkQueue) Download(dst []byte, src exec.View) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(dst) == 0 {
		return nil
	}
	n := uint64(len(dst))
	off, err := q.take(n)
	if err != nil {
		return q.failed(err)
	}
	if err := q.seq.Copy(q.area, off, q.buffer(src), uint64(src.Off), n); err != nil {
		return q.failed(err)
	}
	q.downs = append(q.downs, download{dst, off})
	return nil
}

// Wait implements exec.Queue: it submits what is recorded, waits on the
// fence, copies the downloads out and reports what the validation layer
// said.
func (q *vkQueue) Wait() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.d.validated(q.flush())
}

// Flush implements exec.Flusher: it submits what is recorded without
// waiting, so that the device runs it while the executor stages the next
// chunk on another queue. The downloads land, and the staging area is
// free again, at Wait.
func (q *vkQueue) Flush() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.seq.Flush(); err != nil {
		return q.failed(err)
	}
	return nil
}

// flush submits what is recorded and waits for it (and for what Flush
// submitted), then copies the downloads out of the staging area, which is
// free again.
func (q *vkQueue) flush() error {
	err := q.seq.Submit()
	if err == nil {
		for _, dl := range q.downs {
			copy(dl.dst, q.area.Host()[dl.off:])
		}
	}
	clear(q.downs)
	q.downs, q.used = q.downs[:0], 0
	return err
}

// failed returns the error of an operation, with what the validation
// layer reported (a later Wait would only drain it).
func (q *vkQueue) failed(err error) error { return q.d.validated(err) }

// Release implements exec.Queue: it drains what is queued and frees the
// queue's staging area and command sequence.
func (q *vkQueue) Release() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	err := q.flush()
	q.freeArea()
	q.seq.Destroy()
	q.d.qmu.Lock()
	delete(q.d.queues, q)
	q.d.qmu.Unlock()
	return err
}

// Launch implements exec.Queue.
func (q *vkQueue) Launch(k exec.Kernel, a *exec.Args) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.d.launch(q.seq, k, a, q.seq.Submit); err != nil {
		return q.failed(err)
	}
	return nil
}
