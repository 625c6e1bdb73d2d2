//go:build cgo && !novulkan

package vulkan

import (
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
)

// TestBeyondStorageBufferRange runs one call over 2^25+5 float32s, 20 bytes
// more than lavapipe's maxStorageBufferRange (128 MiB), with chunks as
// large as the device allows, so that the call is split over two launches
// by the device's own limit (Info.MaxLaunchBytes), and compares it with the
// reference: on host tensors, and on device buffers, where the second
// launch binds windows of the buffers that start 128 MiB in.
func TestBeyondStorageBufferRange(t *testing.T) {
	if testing.Short() {
		t.Skip("a 128 MiB tensor")
	}
	b := openTest(t, dropout.Options{MaxChunkBytes: 1 << 30})
	n := 1<<25 + 5
	if r := b.dev.lim.maxRange; uint64(n)*4 <= r {
		t.Logf("maxStorageBufferRange is %d bytes: the call fits one launch", r)
	}
	x := make(dropout.Float32s, n)
	for i := range x {
		x[i] = float32(i%1000) - 499.5
	}
	p := dropout.Params{P: 0.3, Seed: 0x1234_5678_9abc, Offset: 1<<32 - 7, Mask: dropout.MaskBits}
	want, wm := make(dropout.Float32s, n), make(dropout.Bytes, p.Mask.Bytes(n))
	if err := cpu.NewReference().Forward(want, x, wm, p); err != nil {
		t.Fatal(err)
	}
	for _, dev := range []bool{false, true} {
		got, gm := make(dropout.Float32s, n), make(dropout.Bytes, p.Mask.Bytes(n))
		if err := run2(b, dev, got, x, gm, p, false); err != nil {
			t.Fatal(err)
		}
		if err := dropouttest.Equal(got, want); err != nil {
			t.Errorf("device buffers %v: output: %v", dev, err)
		}
		if err := dropouttest.Equal(gm, wm); err != nil {
			t.Errorf("device buffers %v: mask: %v", dev, err)
		}
	}
}
