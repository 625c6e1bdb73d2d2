//go:build cgo && !novulkan

package vulkan

import (
	"strings"
	"sync"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// lavapipe is the device the tests run on: Mesa's CPU implementation,
// which every development and CI machine has.
const lavapipe = "llvmpipe"

// openTest opens the backend on lavapipe under the validation layer, or
// skips (fails with DROPOUT_REQUIRE_DEVICES set) when either is missing.
// The test fails if the layer reports anything.
func openTest(t *testing.T, opts dropout.Options) *Backend {
	t.Helper()
	return openTestConfig(t, opts, config{})
}

// openTestConfig is openTest with the test knobs of cfg.
func openTestConfig(t *testing.T, opts dropout.Options, cfg config) *Backend {
	t.Helper()
	opts.Debug = true
	if opts.Device == "" {
		opts.Device = lavapipe
	}
	b, err := open(opts, cfg)
	dropouttest.Require(t, "Vulkan device (lavapipe) with the validation layer", err)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkMessages(t, b)
	})
	return b
}

func checkMessages(t *testing.T, b *Backend) {
	t.Helper()
	if msgs := b.ValidationMessages(); len(msgs) > 0 {
		t.Errorf("the validation layer reported %d messages:\n%s", len(msgs), strings.Join(msgs, "\n"))
	}
}

// opener returns an open function for dropouttest.Run whose backends are
// checked for validation messages when the test ends. The suite calls it
// from several goroutines.
func opener(t *testing.T, opts dropout.Options) func() (dropout.Backend, error) {
	return openerConfig(t, opts, config{})
}

// openerConfig is opener with the backend's test configuration.
func openerConfig(t *testing.T, opts dropout.Options, cfg config) func() (dropout.Backend, error) {
	opts.Debug = true
	if opts.Device == "" {
		opts.Device = lavapipe
	}
	return func() (dropout.Backend, error) {
		b, err := open(opts, cfg)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() {
			b.Close()
			checkMessages(t, b)
		})
		return b, nil
	}
}

// TestConformance runs the suite, with Config.Wrap making VkBuffers
// outside the executor (on the device of the suite's first backend) and
// wrapping them with Backend.Wrap.
func TestConformance(t *testing.T) {
	var (
		once  sync.Once
		first *Backend
	)
	open := opener(t, dropout.Options{})
	dropouttest.Run(t, func() (dropout.Backend, error) {
		b, err := open()
		if err == nil {
			once.Do(func() { first = b.(*Backend) })
		}
		return b, err
	}, dropouttest.Config{Wrap: func(dt dropout.DType, n, off int) (dropout.Buffer, func(), error) {
		return wrapOutside(first, dt, n, off)
	}})
}

// wrapOutside makes a device-local VkBuffer for off+n elements of dt on
// b's device, outside b's executor, and wraps it from element off.
func wrapOutside(b *Backend, dt dropout.DType, n, off int) (dropout.Buffer, func(), error) {
	size := uint64(max((off+n)*dt.Size(), 1))
	buf, err := b.dev.m.NewBuffer(size, vkx.DeviceLocal)
	if err != nil {
		return nil, nil, err
	}
	w, err := b.Wrap(buf.Handle(), buf.Size, uint64(off*dt.Size()), dt, n)
	if err != nil {
		buf.Destroy()
		return nil, nil, err
	}
	return w, buf.Destroy, nil
}

// TestConformanceChunked runs the suite with dispatches of 4 KiB, so that
// every size above 1024 float32s is split over many dispatches, windows
// and submissions, and host tensors staged in several chunks (those below
// the 64 KiB that lavapipe maps in place) alternate two queues
// (exec.Info.Overlap), each chunk flushed while the host stages the next.
func TestConformanceChunked(t *testing.T) {
	dropouttest.Run(t, opener(t, dropout.Options{MaxChunkBytes: 4096}), dropouttest.Config{Large: 100_003, SkipClose: true, CoreOnly: true})
}

// TestStatistics runs the suite's statistical checks (keep rates, the
// seed document's mean-sum example) on lavapipe's own output. Without
// validation: 20,000 small calls.
func TestStatistics(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 calls")
	}
	b, err := Open(dropout.Options{Device: lavapipe})
	dropouttest.Require(t, "Vulkan device (lavapipe)", err)
	defer b.Close()
	dropouttest.Statistics(t, b)
}
