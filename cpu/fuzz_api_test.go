package cpu_test

import (
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
)

// FuzzReferenceAPI and FuzzCPUAPI drive random sequences of API calls
// (dropouttest.FuzzAPI); `make test` runs each for a few seconds.
func FuzzReferenceAPI(f *testing.F) {
	dropouttest.FuzzAPI(f, func() (dropout.Backend, error) { return cpu.ReferenceDriver{}.Open(dropout.Options{}) })
}

func FuzzCPUAPI(f *testing.F) {
	dropouttest.FuzzAPI(f, func() (dropout.Backend, error) { return cpu.Driver{}.Open(dropout.Options{Threads: 3}) })
}
