package backends_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/backends"
	"github.com/gpudropout/dropout/dropouttest"
)

func TestRegistry(t *testing.T) {
	want := []string{"opencl", "vulkan", "reference", "cpu"}
	got := backends.Registry().Names()
	if len(got) != len(want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Names() = %v, want %v", got, want)
		}
	}
	st := backends.Available()
	if len(st) != len(want) {
		t.Fatalf("Available() has %d entries, want %d", len(st), len(want))
	}
	for _, s := range st {
		if s.Err == nil && len(s.Devices) == 0 {
			t.Errorf("%s: available with no devices", s.Name)
		}
		if s.Err != nil && !errors.Is(s.Err, dropout.ErrUnavailable) {
			t.Errorf("%s: unavailable with an error that is not ErrUnavailable: %v", s.Name, s.Err)
		}
		if (s.Name == "reference" || s.Name == "cpu") && s.Err != nil {
			t.Errorf("%s: unavailable: %v", s.Name, s.Err)
		}
	}
	if _, err := backends.Open("cuda", dropout.Options{}); !errors.Is(err, dropout.ErrUnknownBackend) {
		t.Errorf(`Open("cuda") = %v, want ErrUnknownBackend`, err)
	}
}

// TestAuto opens "auto": on a machine with no real GPU (CI's) it must be
// the fast CPU backend, never PoCL or lavapipe; either way it must agree
// with the reference.
func TestAuto(t *testing.T) {
	b, err := backends.Open(dropout.Auto, dropout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if d := b.Device(); d.Emulated {
		t.Errorf("auto chose the emulated device %s of %s", d.Name, b.Name())
	}
	realGPU := false
	for _, s := range backends.Available() {
		for _, d := range s.Devices {
			realGPU = realGPU || d.Kind == dropout.KindGPU && !d.Emulated
		}
	}
	if !realGPU && b.Name() != "cpu" {
		t.Errorf("no real GPU here, but auto chose %s", b.Name())
	}
	x := dropouttest.Data(dropout.Float32, 1000, 1)
	p := dropout.Params{P: 0.3, Seed: 5, Offset: 7}
	got, want := make(dropout.Float32s, 1000), make(dropout.Float32s, 1000)
	ref, err := backends.Open("reference", dropout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.Forward(want, x, nil, p); err != nil {
		t.Fatal(err)
	}
	if err := b.Forward(got, x, nil, p); err != nil {
		t.Fatal(err)
	}
	if err := dropouttest.Equal(got, want); err != nil {
		t.Error(err)
	}
}

// TestConcurrentRegistry: many goroutines list devices, open every
// backend (all at once), run a call on it and close it. Under -race in
// `make test`; a missing driver there is a failure.
func TestConcurrentRegistry(t *testing.T) {
	reg := backends.Registry()
	for _, d := range reg {
		if _, err := d.Devices(); err != nil {
			dropouttest.Require(t, d.Name()+" backend", err)
		}
	}
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*len(reg)*3)
	for w := range workers {
		for _, d := range reg {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := d.Devices(); err != nil {
					errs <- fmt.Errorf("%s: Devices: %w", d.Name(), err)
					return
				}
				st := reg.Available()
				if len(st) != len(reg) {
					errs <- fmt.Errorf("Available: %d entries", len(st))
				}
				b, err := reg.Open(d.Name(), dropout.Options{})
				if err != nil {
					errs <- fmt.Errorf("%s: Open: %w", d.Name(), err)
					return
				}
				x := dropouttest.Data(dropout.Float32, 100+w, uint64(w))
				if err := dropouttest.CompareForward(b, x, dropout.Params{P: 0.5, Seed: uint64(w), Mask: dropout.MaskBytes}); err != nil {
					errs <- fmt.Errorf("%s: %w", d.Name(), err)
				}
				if err := b.Close(); err != nil {
					errs <- fmt.Errorf("%s: Close: %w", d.Name(), err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
