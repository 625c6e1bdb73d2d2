package cpu_test

import (
	"math/rand/v2"
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

// FuzzOpsVsReference compares the fast backend with the reference on
// calls drawn from the fuzzer's seed: every data type, alpha dropout, the
// fused op, mask formats, noise shapes and regions (randomOpsCase).
func FuzzOpsVsReference(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 0xdeadbeef} {
		f.Add(s)
	}
	fast := cpu.NewForTest(3, 64, false)
	f.Fuzz(func(t *testing.T, seed uint64) {
		r := rand.New(rand.NewPCG(seed, seed>>32))
		compareOps(t, r, randomOpsCase(r), fast)
	})
}
