//go:build cgo && !novulkan

package vulkan

import (
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

func TestChunk(t *testing.T) {
	lp := limits{maxRange: 1 << 27, align: 16, maxInv: 65535 * 65535 * 64}
	for _, tc := range []struct {
		name string
		l    limits
		es   int
		f    dropout.MaskFormat
		want int
	}{
		{"lavapipe float32", lp, 4, dropout.MaskNone, (1<<27 - 16) / 4 / 32 * 32},
		{"lavapipe float64", lp, 8, dropout.MaskBits, (1<<27 - 16) / 8 / 32 * 32},
		{"byte mask bounds float32", limits{maxRange: 1 << 10, align: 16, maxInv: 1 << 40}, 1, dropout.MaskBytes, (1<<10 - 16) / 32 * 32},
		{"MaxChunkBytes", limits{maxRange: 1 << 27, align: 16, maxInv: 1 << 40, chunkBytes: 4096}, 4, dropout.MaskBits, 1024},
		{"MaxChunkBytes not a multiple of 32 elements", limits{maxRange: 1 << 27, align: 16, maxInv: 1 << 40, chunkBytes: 1000}, 4, dropout.MaskNone, 224},
		{"MaxChunkBytes below one group", limits{maxRange: 1 << 27, align: 16, maxInv: 1 << 40, chunkBytes: 7}, 8, dropout.MaskNone, 32},
		{"4 GiB range", limits{maxRange: 1<<32 - 1, align: 64, maxInv: 1 << 40}, 4, dropout.MaskNone, (1<<32 - 1 - 64) / 4 / 32 * 32},
		{"32-bit counts", limits{maxRange: 1<<32 - 1, align: 64, maxInv: 1 << 40}, 1, dropout.MaskNone, 1 << 30},
	} {
		got := tc.l.chunk(tc.es, tc.f)
		if got != tc.want || got%32 != 0 {
			t.Errorf("%s: chunk = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestWindow(t *testing.T) {
	l := limits{maxRange: 1024, align: 64}
	buf := &vkx.Buffer{Size: 4096}
	for _, tc := range []struct {
		name      string
		v         view
		lo, hi    uint64
		unit      uint64
		start     uint64
		size      uint64
		base      uint32
		wantError bool
	}{
		{"start", view{buf, 0}, 0, 512, 4, 0, 1024, 0, false},
		{"unaligned", view{buf, 0}, 100, 900, 4, 64, 1024, 9, false},
		{"view offset", view{buf, 128}, 256, 512, 8, 384, 1024, 0, false},
		{"end of buffer", view{buf, 0}, 3968, 4096, 4, 3968, 128, 0, false},
		{"too wide", view{buf, 0}, 100, 1100, 4, 0, 0, 0, true},
		{"beyond the buffer", view{buf, 0}, 4000, 4100, 4, 0, 0, 0, true},
	} {
		r, base, err := l.window(tc.v, tc.lo, tc.hi, tc.unit)
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
