package dropout_test

import (
	"cmp"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
)

// fakeDriver is a driver whose devices and failures a test sets.
type fakeDriver struct {
	name   string
	devs   []dropout.DeviceInfo
	err    error
	opened *string // receives the Device option Open was called with
}

func (f fakeDriver) Name() string                           { return f.name }
func (f fakeDriver) Devices() ([]dropout.DeviceInfo, error) { return f.devs, f.err }
func (f fakeDriver) Open(o dropout.Options) (dropout.Backend, error) {
	if f.err != nil {
		return nil, f.err
	}
	if f.opened != nil {
		*f.opened = f.name + ":" + o.Device
	}
	return cpu.NewReference(), nil // stands in for a GPU backend
}

func TestRegistryAuto(t *testing.T) {
	missing := &dropout.UnavailableError{Backend: "opencl", Reason: "no OpenCL ICD loader", Fix: "apt-get install ocl-icd-libopencl1"}
	pocl := dropout.DeviceInfo{Index: 0, Name: "pocl", Kind: dropout.KindCPU, Emulated: true}
	lvp := dropout.DeviceInfo{Index: 0, Name: "llvmpipe", Kind: dropout.KindGPU, Emulated: true}
	gpu := dropout.DeviceInfo{Index: 1, Name: "H100", Kind: dropout.KindGPU}
	for _, tc := range []struct {
		name string
		reg  func(opened *string) dropout.Registry
		want string // backend name or driver:device opened
	}{
		{"no GPU drivers", func(o *string) dropout.Registry {
			return dropout.Registry{fakeDriver{name: "opencl", err: missing, opened: o}, cpu.ReferenceDriver{}, cpu.Driver{}}
		}, "cpu"},
		{"emulated devices only", func(o *string) dropout.Registry {
			return dropout.Registry{fakeDriver{name: "opencl", devs: []dropout.DeviceInfo{pocl}, opened: o},
				fakeDriver{name: "vulkan", devs: []dropout.DeviceInfo{lvp}, opened: o}, cpu.Driver{}}
		}, "cpu"},
		{"a real GPU", func(o *string) dropout.Registry {
			return dropout.Registry{fakeDriver{name: "opencl", err: missing, opened: o},
				fakeDriver{name: "vulkan", devs: []dropout.DeviceInfo{lvp, gpu}, opened: o}, cpu.Driver{}}
		}, "vulkan:1"},
	} {
		var opened string
		b, err := tc.reg(&opened).Open(dropout.Auto, dropout.Options{})
		if err != nil {
			t.Fatalf("%s: Open(auto): %v", tc.name, err)
		}
		got := b.Name()
		if opened != "" {
			got = opened
		}
		if got != tc.want {
			t.Errorf("%s: auto opened %s, want %s", tc.name, got, tc.want)
		}
		b.Close()
	}
}

func TestRegistryErrors(t *testing.T) {
	missing := &dropout.UnavailableError{Backend: "vulkan", Reason: "no Vulkan loader (libvulkan.so.1)", Fix: "apt-get install libvulkan1"}
	reg := dropout.Registry{cpu.ReferenceDriver{}, fakeDriver{name: "vulkan", err: missing}}
	if _, err := reg.Open("cuda", dropout.Options{}); !errors.Is(err, dropout.ErrUnknownBackend) {
		t.Errorf("Open(cuda) = %v, want ErrUnknownBackend", err)
	}
	_, err := reg.Open("vulkan", dropout.Options{})
	if !errors.Is(err, dropout.ErrUnavailable) {
		t.Errorf("Open(vulkan) = %v, want ErrUnavailable", err)
	}
	var ue *dropout.UnavailableError
	if !errors.As(err, &ue) || ue.Fix == "" {
		t.Errorf("Open(vulkan) error %v carries no fix", err)
	}
	if _, err := reg.Open("reference", dropout.Options{Device: "7"}); !errors.Is(err, dropout.ErrUnavailable) {
		t.Errorf("reference device 7: %v, want ErrUnavailable", err)
	}
	st := reg.Available()
	if len(st) != 2 || st[0].Err != nil || len(st[0].Devices) != 1 || !errors.Is(st[1].Err, dropout.ErrUnavailable) {
		t.Errorf("Available() = %+v", st)
	}
	if _, err := (dropout.Registry{}).Open(dropout.Auto, dropout.Options{}); !errors.Is(err, dropout.ErrUnavailable) {
		t.Errorf("auto on an empty registry: %v", err)
	}
}

func TestGenerator(t *testing.T) {
	b := cpu.NewReference()
	g := dropout.NewGenerator(1 << 33)
	x := make(dropout.Float32s, 10)
	for i := range x {
		x[i] = 1
	}
	y1, y2 := make(dropout.Float32s, 10), make(dropout.Float32s, 10)
	p1, err := g.Forward(b, y1, x, nil, dropout.Params{P: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := g.Forward(b, y2, x, nil, dropout.Params{P: 0.5, Shape: []int{2, 5}, NoiseShape: []int{2, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if p1.Seed != 1<<33 || p1.Offset != 0 || p2.Offset != 10 || g.Offset() != 12 {
		t.Errorf("offsets %d, %d, then %d; want 0, 10, 12", p1.Offset, p2.Offset, g.Offset())
	}
	// A failed call does not advance the generator.
	if _, err := g.Forward(b, y1, x, nil, dropout.Params{P: 2}); err == nil || g.Offset() != 12 {
		t.Errorf("failed call: err %v, offset %d", err, g.Offset())
	}
	// Backward with the returned Params regenerates the forward mask.
	dx := make(dropout.Float32s, 10)
	if err := b.Backward(dx, x, nil, p1); err != nil {
		t.Fatal(err)
	}
	for i := range dx {
		if dx[i] != y1[i] {
			t.Fatalf("backward of ones differs from forward at %d: %v vs %v", i, dx[i], y1[i])
		}
	}
	q := g.Next(dropout.Params{P: 0.1}, 7)
	if q.Offset != 12 || g.Offset() != 19 || q.Seed != 1<<33 {
		t.Errorf("Next: %+v, offset now %d", q, g.Offset())
	}
}

// TestGeneratorConcurrent: concurrent Next and Forward calls reserve
// disjoint word ranges that together tile the stream from 0.
func TestGeneratorConcurrent(t *testing.T) {
	g := dropout.NewGenerator(7)
	b := cpu.NewReference()
	const workers, calls = 8, 200
	starts := make(chan [2]uint64, workers*calls)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := make(dropout.Float32s, 3+w)
			for i := range calls {
				var off uint64
				if i%2 == 0 {
					off = g.Next(dropout.Params{P: 0.5}, len(x)).Offset
				} else {
					p, err := g.Forward(b, x, x, nil, dropout.Params{P: 0.5})
					if err != nil {
						t.Error(err)
						return
					}
					off = p.Offset
				}
				starts <- [2]uint64{off, uint64(len(x))}
			}
		}()
	}
	wg.Wait()
	close(starts)
	var ranges [][2]uint64
	total := uint64(0)
	for r := range starts {
		ranges = append(ranges, r)
		total += r[1]
	}
	slices.SortFunc(ranges, func(a, b [2]uint64) int { return cmp.Compare(a[0], b[0]) })
	next := uint64(0)
	for _, r := range ranges {
		if r[0] != next {
			t.Fatalf("range at %d, want %d: words shared or skipped", r[0], next)
		}
		next += r[1]
	}
	if g.Offset() != total {
		t.Errorf("offset %d after %d words", g.Offset(), total)
	}
}

// TestGeneratorWraps: the offset wraps modulo 2^64 like the stream's words.
func TestGeneratorWraps(t *testing.T) {
	g := dropout.NewGenerator(1)
	g.SetOffset(1<<64 - 3)
	if p := g.Next(dropout.Params{}, 5); p.Offset != 1<<64-3 || g.Offset() != 2 {
		t.Errorf("Next across 2^64: offset %d, then %d; want 2^64-3, then 2", p.Offset, g.Offset())
	}
}
