//go:build cgo && !noopencl

package opencl

import (
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
)

// FuzzAPI drives random sequences of API calls (dropouttest.FuzzAPI) on
// PoCL, with small chunks so that calls split. `make test` runs it for a
// few seconds.
func FuzzAPI(f *testing.F) {
	opts := dropout.Options{Device: pocl, MaxChunkBytes: 256}
	probe, err := Open(opts)
	dropouttest.Require(f, "OpenCL device "+pocl, err)
	probe.Close()
	dropouttest.FuzzAPI(f, func() (dropout.Backend, error) { return Open(opts) })
}
