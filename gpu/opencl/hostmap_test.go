//go:build cgo && !noopencl

package opencl

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
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
