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
		name string
		opts dropout.Options
	}{
		{"default", dropout.Options{}},
		{"portable", dropout.Options{Portable: true}},
		{"threads=3", dropout.Options{Threads: 3}},
		{"threads=1", dropout.Options{Threads: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dropouttest.Run(t, func() (dropout.Backend, error) { return cpu.Driver{}.Open(tc.opts) }, dropouttest.Config{})
		})
	}
}

func TestReferenceStatistics(t *testing.T) { dropouttest.Statistics(t, cpu.NewReference()) }

func TestCPUStatistics(t *testing.T) { dropouttest.Statistics(t, cpu.New(dropout.Options{})) }
