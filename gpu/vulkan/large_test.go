//go:build cgo && !novulkan

package vulkan

import (
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
)

// TestBeyondStorageBufferRange runs one call over 2^25+5 float32s, 20 bytes
// more than lavapipe's maxStorageBufferRange (128 MiB), so the tensor is
// split over two dispatches and windows by the device's own limit, and
// compares it with the reference.
func TestBeyondStorageBufferRange(t *testing.T) {
	if testing.Short() {
		t.Skip("a 128 MiB tensor")
	}
	b := openTest(t, dropout.Options{})
	n := 1<<25 + 5
	if r := b.lim.maxRange; uint64(n)*4 <= r {
		t.Logf("maxStorageBufferRange is %d bytes: the call fits one dispatch", r)
	}
	x := make(dropout.Float32s, n)
	for i := range x {
		x[i] = float32(i%1000) - 499.5
	}
	p := dropout.Params{P: 0.3, Seed: 0x1234_5678_9abc, Offset: 1<<32 - 7, Mask: dropout.MaskBits}
	got, want := make(dropout.Float32s, n), make(dropout.Float32s, n)
	gm, wm := make(dropout.Bytes, p.Mask.Bytes(n)), make(dropout.Bytes, p.Mask.Bytes(n))
	if err := b.Forward(got, x, gm, p); err != nil {
		t.Fatal(err)
	}
	if err := cpu.NewReference().Forward(want, x, wm, p); err != nil {
		t.Fatal(err)
	}
	if err := dropouttest.Equal(got, want); err != nil {
		t.Errorf("output: %v", err)
	}
	if err := dropouttest.Equal(gm, wm); err != nil {
		t.Errorf("mask: %v", err)
	}
}
