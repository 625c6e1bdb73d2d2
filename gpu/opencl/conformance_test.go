//go:build cgo && !noopencl

package opencl

import (
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
)

// pocl selects PoCL's CPU device by its platform vendor ("The pocl project").
const pocl = "pocl"

// openDevice opens the backend with opts, skipping the test (or failing it
// under DROPOUT_REQUIRE_DEVICES) when no such OpenCL device exists.
func openDevice(t testing.TB, opts dropout.Options) *Backend {
	t.Helper()
	b, err := Open(opts)
	dropouttest.Require(t, "OpenCL device "+opts.Device, err)
	t.Cleanup(func() { b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     dropout.Options
		cfg      dropouttest.Config
		maxItems int // if non-zero, the work-items of one launch
	}{
		// The default path: one chunk per call up to 64 MiB.
		{"PoCL", dropout.Options{Device: pocl}, dropouttest.Config{}, 0},
		// Chunks of 4 KiB: 1024 float32 or 512 float64 elements, so the
		// suite's 1023-element and large cases cross chunk boundaries.
		{"PoCLChunked", dropout.Options{Device: pocl, MaxChunkBytes: 4096}, dropouttest.Config{Large: 1<<16 + 3, SkipClose: true}, 0},
		// Launches of 256 work-items, so kernels run as several launches
		// with global offsets, as they do on large tensors.
		{"PoCLSmallLaunches", dropout.Options{Device: pocl}, dropouttest.Config{Large: 1<<14 + 3, SkipClose: true}, 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probe := openDevice(t, tc.opts)
			cfg := tc.cfg
			cfg.DTypes = probe.DTypes()
			probe.Close()
			dropouttest.Run(t, func() (dropout.Backend, error) {
				b, err := Open(tc.opts)
				if err == nil && tc.maxItems != 0 {
					b.maxItems = tc.maxItems
				}
				return b, err
			}, cfg)
		})
	}
}

// TestStatistics runs the suite's statistical checks (keep rates, the seed
// document's mean-sum property) on the backend's own output.
func TestStatistics(t *testing.T) {
	dropouttest.Statistics(t, openDevice(t, dropout.Options{Device: pocl}))
}
