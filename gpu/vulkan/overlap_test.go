//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
)

// TestOverlapQueues checks that staged host tensors of several chunks run
// on two queues, each chunk flushed (submitted without a wait) while the
// host stages the next, where exec.Info.Overlap is set (the default), and
// on one queue where it is not,
// with the reference's results in both, forward and backward, under the
// validation layer with synchronization validation.
func TestOverlapQueues(t *testing.T) {
	ref := cpu.NewReference()
	const n = 10_000 // 40,000 bytes: staged (not mapped in place), 10 chunks of 1024 float32
	x := dropouttest.Data(dropout.Float32, n+1, 3).(dropout.Float32s)[1:]
	dy := dropouttest.Data(dropout.Float32, n, 4).(dropout.Float32s)
	want, wantDx := make(dropout.Float32s, n), make(dropout.Float32s, n)
	p := dropout.Params{P: 0.3, Seed: 11, Offset: 1<<64 - 5000, Mask: dropout.MaskBits}
	wm := dropouttest.NewMask(p.Mask, n)
	if err := errors.Join(ref.Forward(want, x, wm, p), ref.Backward(wantDx, dy, wm, p)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		overlap bool
		queues  int
	}{{true, 2}, {false, 1}} {
		b := openTestConfig(t, dropout.Options{MaxChunkBytes: 4096}, config{oneQueue: !c.overlap})
		y, m := make(dropout.Float32s, n+1)[1:], dropouttest.NewMask(p.Mask, n)
		dx := make(dropout.Float32s, n)
		if err := errors.Join(b.Forward(y, x, m, p), b.Backward(dx, dy, m, p)); err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(dropouttest.Equal(y, want), dropouttest.Equal(m, wm), dropouttest.Equal(dx, wantDx)); err != nil {
			t.Errorf("overlap %v: %v", c.overlap, err)
		}
		b.dev.qmu.Lock()
		got := len(b.dev.queues)
		b.dev.qmu.Unlock()
		if got != c.queues {
			t.Errorf("overlap %v: %d queues made, want %d", c.overlap, got, c.queues)
		}
	}
}

// BenchmarkStaged measures forward on 2^26 float32 host tensors that are
// staged (they start one element into their allocation, so they are not
// used in place on lavapipe) in the executor's default 64 MiB chunks:
// Overlap alternates two queues, flushing each chunk (the host stages chunk
// k+1 while the device runs chunk k; the default), OneQueue waits after
// each chunk; Device is the same call on device buffers, the rate the host
// round trips are compared with.
//
//	go test -run '^$' -bench Staged -benchtime 5x -count 3 ./gpu/vulkan/
func BenchmarkStaged(b *testing.B) {
	const n = 1 << 26
	x := dropouttest.Data(dropout.Float32, n+1, 1).(dropout.Float32s)[1:]
	y := make(dropout.Float32s, n+1)[1:]
	p := dropout.Params{P: 0.5, Seed: 1}
	for _, c := range []struct {
		name    string
		overlap bool
	}{{"Overlap", true}, {"OneQueue", false}} {
		b.Run(c.name, func(b *testing.B) {
			be, err := open(dropout.Options{}, config{oneQueue: !c.overlap})
			dropouttest.Require(b, "Vulkan device", err)
			defer be.Close()
			benchCalls(b, n, func() error { return be.Forward(y, x, nil, p) })
		})
	}
	b.Run("Device", func(b *testing.B) {
		be, err := Open(dropout.Options{})
		dropouttest.Require(b, "Vulkan device", err)
		defer be.Close()
		dx, dy := benchBuffer(b, be, n), benchBuffer(b, be, n)
		benchCalls(b, n, func() error { return be.Forward(dy, dx, nil, p) })
	})
}
