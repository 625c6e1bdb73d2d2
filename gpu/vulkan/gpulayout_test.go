//go:build cgo && !novulkan

package vulkan

import (
	"math/rand/v2"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// This file runs the kernels with a GPU's layout (config.layout) on
// lavapipe: one quad per invocation (RUN = 1) and GEN_BITS mask words
// assembled by 8 neighbouring invocations, with subgroup shuffles
// (dropout_sg) and in shared memory.

// gpuLayouts are the layouts the tests force, with whether GEN_BITS uses
// subgroup operations in each on lavapipe (whose subgroups have them).
var gpuLayouts = []struct {
	name     string
	knob     layoutKnob
	subgroup bool
}{
	{"Subgroup", layoutGPU, true},
	{"Shared", layoutShared, false},
}

// TestGPULayoutLimits checks that the knob gives the GPU's limits and that
// the subgroup variant is chosen as each layout says.
func TestGPULayoutLimits(t *testing.T) {
	for _, l := range gpuLayouts {
		t.Run(l.name, func(t *testing.T) {
			b := openTestConfig(t, dropout.Options{}, config{layout: l.knob})
			lim := b.dev.lim
			if lim.run != 1 || lim.invCap <= 256*vkx.WorkGroup || lim.subgroup != l.subgroup {
				t.Errorf("limits %+v: want run 1, a GPU's invocation cap, subgroup %v (device subgroups %+v)",
					lim, l.subgroup, b.dev.m.Phys.Subgroup)
			}
		})
	}
	b := openTest(t, dropout.Options{})
	if lim := b.dev.lim; lim.run != 8 {
		t.Errorf("lavapipe's own limits %+v: want run 8", lim)
	}
}

func TestSubgroupBits(t *testing.T) {
	all := uint32(vkx.SubgroupBasic | vkx.SubgroupShuffle)
	for _, c := range []struct {
		s    vkx.Subgroup
		want bool
	}{
		{vkx.Subgroup{Size: 32, Compute: true, Operations: all}, true},
		{vkx.Subgroup{Size: 8, Compute: true, Operations: all}, true},
		{vkx.Subgroup{Size: 64, Compute: true, Operations: all | 0x8}, true},
		{vkx.Subgroup{Size: 128, Compute: true, Operations: all}, false}, // larger than a work group
		{vkx.Subgroup{Size: 4, Compute: true, Operations: all}, false},
		{vkx.Subgroup{Size: 32, Compute: false, Operations: all}, false},
		{vkx.Subgroup{Size: 32, Compute: true, Operations: vkx.SubgroupBasic}, false},
		{vkx.Subgroup{}, false},
	} {
		if got := subgroupBits(c.s); got != c.want {
			t.Errorf("subgroupBits(%+v) = %v, want %v", c.s, got, c.want)
		}
	}
}

// TestGPULayoutConformance runs the suite's core with each GPU layout.
func TestGPULayoutConformance(t *testing.T) {
	for _, l := range gpuLayouts {
		t.Run(l.name, func(t *testing.T) {
			dropouttest.Run(t, openerConfig(t, dropout.Options{}, config{layout: l.knob}), dropouttest.Config{Large: 100_003, SkipClose: true, CoreOnly: true})
		})
	}
}

// TestGPULayoutSubnormals checks the exact products of subnormal operands
// and results (checkSubnormals) with each GPU layout: quad by quad, where
// a quad that needs the integer path leaves the vector one.
func TestGPULayoutSubnormals(t *testing.T) {
	for _, l := range gpuLayouts {
		t.Run(l.name, func(t *testing.T) {
			checkSubnormals(t, openTestConfig(t, dropout.Options{}, config{layout: l.knob}))
		})
	}
}

// TestGPULayoutLaunch runs GEN_BITS launches of every data type and
// variant against the model of launch_test.go with each GPU layout, and
// with dispatches capped at a few work groups, so that the grid-stride
// loop runs many steps and ends with groups that have nothing to do.
func TestGPULayoutLaunch(t *testing.T) {
	for _, l := range gpuLayouts {
		for _, invCap := range []uint64{0, 3 * vkx.WorkGroup} {
			name := l.name
			if invCap > 0 {
				name += "/3Groups"
			}
			t.Run(name, func(t *testing.T) {
				b := openTestConfig(t, dropout.Options{}, config{layout: l.knob})
				d := b.dev
				if invCap > 0 {
					d.lim.invCap = invCap // before any dispatch
				}
				q, err := d.NewQueue()
				if err != nil {
					t.Fatal(err)
				}
				defer q.Release()
				r := rand.New(rand.NewPCG(3, 4))
				dts := []dropout.DType{dropout.Float32, dropout.Float16, dropout.BFloat16}
				if d.f64 {
					dts = append(dts, dropout.Float64)
				}
				for _, dt := range dts {
					for i, n := range []int{1, 5, 31, 33, 256, 1000, 4099} {
						g0 := []uint64{0, 5, ^uint64(0) - 9, 1 << 40, 2, 7, 3}[i]
						cs := []launchCase{
							{p: 0.3, g0: g0},
							{p: 0.5, g0: g0 + 2, alpha: true, bias: 5, i0: 3, resid: n%2 == 1},
						}
						if dt == dropout.Float32 && i < 3 {
							cs = append(cs, launchCase{p: 0, g0: g0 + 1, copyKept: true}, launchCase{p: 1, g0: g0})
						}
						for _, c := range cs {
							c.k, c.dt, c.n = exec.GenBits, dt, n
							if err := runLaunch(q, d, r, c); err != nil {
								t.Errorf("%v: %v", c, err)
							}
						}
					}
				}
				if err := d.validated(nil); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
