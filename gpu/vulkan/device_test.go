//go:build cgo && !novulkan

package vulkan

import (
	"slices"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

func TestWindow(t *testing.T) {
	l := limits{maxRange: 1024, align: 64}
	buf := &vkx.Buffer{Size: 4096}
	for _, tc := range []struct {
		name      string
		off, n    uint64
		unit      uint64
		start     uint64
		size      uint64
		base      uint32
		wantError bool
	}{
		{"start", 0, 512, 4, 0, 1024, 0, false},
		{"unaligned", 100, 800, 4, 64, 1024, 9, false},
		{"a float64 view", 384, 256, 8, 384, 1024, 0, false},
		{"end of buffer", 3968, 128, 4, 3968, 128, 0, false},
		{"too wide", 100, 1000, 4, 0, 0, 0, true},
		{"beyond the buffer", 4000, 100, 4, 0, 0, 0, true},
	} {
		r, base, err := l.window(buf, tc.off, tc.n, tc.unit)
		if tc.wantError {
			if err == nil {
				t.Errorf("%s: no error", tc.name)
			}
			continue
		}
		if err != nil || r.Offset != tc.start || r.Size != tc.size || base != tc.base || r.Offset%l.align != 0 {
			t.Errorf("%s: got %+v base %d err %v, want offset %d size %d base %d", tc.name, r, base, err, tc.start, tc.size, tc.base)
		}
	}
}

// TestInfo checks what the device tells the executor and the user: its
// launch limits (a view spans at most maxStorageBufferRange less the
// offset alignment, so that any view's window fits), queues, and the same
// capabilities from Driver.Devices as from Backend.Device.
func TestInfo(t *testing.T) {
	b := openTest(t, dropout.Options{})
	info := b.dev.Info()
	lim := b.dev.lim
	if info.MaxLaunchBytes != int64(lim.maxRange-lim.align) || info.MaxLaunchElems <= 0 || info.MaxLaunchElems > 1<<30 {
		t.Errorf("launch limits %d bytes, %d elements (storage buffer range %d, alignment %d)", info.MaxLaunchBytes, info.MaxLaunchElems, lim.maxRange, lim.align)
	}
	if info.Queues != maxWorkers() || info.ApplyMaxDims != maxDims || info.ApplyMaxElems != 1<<32-1 {
		t.Errorf("queues %d, apply limits %d axes, %d elements", info.Queues, info.ApplyMaxDims, info.ApplyMaxElems)
	}
	if !info.HostMemory {
		t.Errorf("lavapipe's memory is host memory: HostMemory is false")
	}
	got := b.Device()
	devs, err := Driver{}.Devices()
	dropouttest.Require(t, "Vulkan device", err)
	want := devs[got.Index]
	c := got.Caps
	if !slices.Equal(c.DTypes, want.Caps.DTypes) || !slices.Equal(c.MaskFormats, want.Caps.MaskFormats) ||
		c.NoiseShape != want.Caps.NoiseShape || c.Alpha != want.Caps.Alpha || c.Fused != want.Caps.Fused || c.Regions != want.Caps.Regions || c.Foreign != want.Caps.Foreign || c.MaxElements != want.Caps.MaxElements {
		t.Errorf("Backend.Device().Caps = %v, Driver.Devices() says %v", c, want.Caps)
	}
	wantTypes := []dropout.DType{dropout.Float32}
	if b.dev.f64 {
		wantTypes = append(wantTypes, dropout.Float64)
	}
	wantTypes = append(wantTypes, dropout.Float16, dropout.BFloat16)
	if !slices.Equal(c.DTypes, wantTypes) || !slices.Equal(c.DTypes, b.DTypes()) || !slices.Equal(c.MaskFormats, dropout.AllMaskFormats()) ||
		!c.NoiseShape || !c.Alpha || !c.Fused || !c.Regions || c.Foreign || c.MaxElements != 0 {
		t.Errorf("capabilities %v (%+v)", c, c)
	}
	for _, dt := range []dropout.DType{dropout.Float32, dropout.Float64, dropout.Float16} {
		ok, why := c.Supports(dt, dropout.MaskBits, true, false)
		if ok != slices.Contains(wantTypes, dt) {
			t.Errorf("Supports(%v) = %v (%s)", dt, ok, why)
		}
	}
	if ok, why := c.Supports(dropout.BFloat16, dropout.MaskNone, false, true); !ok {
		t.Errorf("alpha dropout of bfloat16 is not supported: %s", why)
	}
	t.Logf("%s: %v", got.Name, c)
}
