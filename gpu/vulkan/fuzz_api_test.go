//go:build cgo && !novulkan

package vulkan

import (
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
)

// FuzzAPI drives random sequences of API calls (dropouttest.FuzzAPI) on
// lavapipe under the validation layer, with small dispatches so that calls
// split; any validation message fails the call and so the fuzz target.
// `make test` runs it for a few seconds.
func FuzzAPI(f *testing.F) {
	opts := dropout.Options{Device: lavapipe, Debug: true, MaxChunkBytes: 256}
	probe, err := Open(opts)
	dropouttest.Require(f, "Vulkan device (lavapipe) with the validation layer", err)
	probe.Close()
	dropouttest.FuzzAPI(f, func() (dropout.Backend, error) { return Open(opts) })
}
