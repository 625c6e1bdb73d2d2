package cpu_test

import (
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
)

func TestReferenceConformance(t *testing.T) {
	dropouttest.Run(t, func() (dropout.Backend, error) { return cpu.ReferenceDriver{}.Open(dropout.Options{}) }, dropouttest.Config{})
}

func TestCPUConformance(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  dropout.Options
		large int // 0: the suite's default, about 2^20
	}{
		{"default", dropout.Options{}, 0},
		{"portable", dropout.Options{Portable: true}, 0},
		// more workers than cores, and one: spans of odd sizes
		{"threads=3", dropout.Options{Threads: 3}, 1<<18 + 5},
		{"threads=1", dropout.Options{Threads: 1}, 1<<17 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The default configuration runs the whole suite; the others
			// its float32/float64 core, since TestOpsVsReference checks
			// the new operations on every kernel set and thread count.
			cfg := dropouttest.Config{Large: tc.large, CoreOnly: tc.name != "default"}
			dropouttest.Run(t, func() (dropout.Backend, error) { return cpu.Driver{}.Open(tc.opts) }, cfg)
		})
	}
}

func TestReferenceStatistics(t *testing.T) { dropouttest.Statistics(t, cpu.NewReference()) }

func TestCPUStatistics(t *testing.T) { dropouttest.Statistics(t, cpu.New(dropout.Options{})) }
