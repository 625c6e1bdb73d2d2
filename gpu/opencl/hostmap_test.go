//go:build cgo && !noopencl

package opencl

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/kernels"
)

// TestMapHost checks calls on large host tensors on PoCL, whose memory is
// the host's: aligned tensors are used in place (CL_MEM_USE_HOST_PTR,
// counted by the device), others staged, and both match the reference,
// in place and not, with every mask format.
func TestMapHost(t *testing.T) {
	b := openDevice(t, dropout.Options{Device: pocl})
	if !b.dev.info.HostMemory {
		t.Skip("not a host-memory device")
	}
	ref := cpu.NewReference()
	const n = 1<<16 + 64
	for _, c := range []struct {
		f    dropout.MaskFormat
		skip int  // elements cut from the front of the host slices (misaligning them)
		maps bool // whether the call maps
	}{
		{dropout.MaskNone, 0, true}, {dropout.MaskBits, 0, true}, {dropout.MaskBytes, 0, true},
		{dropout.MaskBits, 1, false},
	} {
		name := fmt.Sprintf("%v/skip%d", c.f, c.skip)
		x := dropouttest.Data(dropout.Float32, n+c.skip, 3).(dropout.Float32s)[c.skip:]
		y := make(dropout.Float32s, n+c.skip)[c.skip:]
		wy := make(dropout.Float32s, n)
		p := dropout.Params{P: 0.3, Seed: 11, Offset: 1<<64 - 1000, Mask: c.f}
		var m, wm dropout.Tensor
		if c.f != dropout.MaskNone {
			m, wm = dropouttest.NewMask(c.f, n), dropouttest.NewMask(c.f, n)
		}
		before := b.dev.maps.Load()
		if err := errors.Join(b.Forward(y, x, m, p), ref.Forward(wy, x, wm, p)); err != nil {
			t.Fatal(err)
		}
		if got := b.dev.maps.Load() > before; got != c.maps {
			t.Errorf("%s: mapped host memory: %v, want %v", name, got, c.maps)
		}
		err := dropouttest.Equal(y, wy)
		if m != nil {
			err = errors.Join(err, dropouttest.Equal(m, wm))
		}
		if err != nil {
			t.Errorf("%s: forward: %v", name, err)
		}
		if err := errors.Join(b.Backward(y, y, m, p), ref.Backward(wy, wy, wm, p)); err != nil {
			t.Fatal(err)
		}
		if err := dropouttest.Equal(y, wy); err != nil {
			t.Errorf("%s: backward in place: %v", name, err)
		}
	}
}

// TestOverlapQueues checks that staged host tensors of several chunks run
// on two queues where Info.Overlap is set (a GPU; forced here) and on one
// where it is not (PoCL's default), with the reference's results.
func TestOverlapQueues(t *testing.T) {
	ref := cpu.NewReference()
	const n = 10_000 // 10 chunks of 1024 float32
	x := dropouttest.Data(dropout.Float32, n+1, 3).(dropout.Float32s)[1:]
	want := make(dropout.Float32s, n)
	p := dropout.Params{P: 0.3, Seed: 11, Mask: dropout.MaskBits}
	wm := dropouttest.NewMask(p.Mask, n)
	if err := ref.Forward(want, x, wm, p); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tune   func(*exec.Info)
		queues int64
	}{{overlap, 2}, {nil, 1}} {
		b := openWith(t, dropout.Options{Device: pocl, MaxChunkBytes: 4096}, config{src: kernels.OpenCL, tune: c.tune})
		y, m := make(dropout.Float32s, n+1)[1:], dropouttest.NewMask(p.Mask, n)
		if err := b.Forward(y, x, m, p); err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(dropouttest.Equal(y, want), dropouttest.Equal(m, wm)); err != nil {
			t.Errorf("overlap %v: %v", c.tune != nil, err)
		}
		if got := b.dev.queues.Load(); got != c.queues {
			t.Errorf("overlap %v: %d queues made, want %d", c.tune != nil, got, c.queues)
		}
	}
}
