package backends_test

import (
	"errors"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/backends"
	"github.com/gpudropout/dropout/dropouttest"
)

// TestForeignViews hands a view of one backend's buffer to another
// backend (and to a second instance of the same one), as x and as dst:
// a view is what its buffer is. A CPU backend's buffers and their views
// are host memory to every backend; a GPU backend's are foreign to every
// other backend, ErrForeignBuffer.
func TestForeignViews(t *testing.T) {
	reg := backends.Registry()
	type opened struct {
		name string
		b    dropout.Backend
		gpu  bool
	}
	var bs []opened
	for _, d := range reg {
		for range 2 { // two instances of each
			b, err := reg.Open(d.Name(), dropout.Options{})
			if err != nil {
				if dropouttest.Required() || d.Name() == "reference" || d.Name() == "cpu" {
					t.Fatalf("%s backend: %v", d.Name(), err)
				}
				t.Logf("%s backend unavailable, left out: %v", d.Name(), err)
				break
			}
			defer b.Close()
			bs = append(bs, opened{d.Name(), b, d.Name() == "opencl" || d.Name() == "vulkan"})
		}
	}
	const n = 37
	x := dropouttest.Data(dropout.Float32, n, 1)
	p := dropout.Params{P: 0.5, Seed: 3, Offset: 5}
	ref, err := backends.Open("reference", dropout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	want := make(dropout.Float32s, n)
	if err := ref.Forward(want, x, nil, p); err != nil {
		t.Fatal(err)
	}
	for i, a := range bs {
		root, err := a.b.Alloc(dropout.Float32, n+8)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Release()
		v, err := root.Slice(3, n)
		if err != nil {
			t.Fatalf("%s: Slice: %v", a.name, err)
		}
		for j, b := range bs {
			if i == j {
				continue
			}
			what := a.name + "'s view on " + b.name
			if a.name == b.name {
				what = a.name + "'s view on another " + b.name
			}
			if err := v.Write(x); err != nil {
				t.Fatal(err)
			}
			got := make(dropout.Float32s, n)
			errX := b.b.Forward(got, v, nil, p)
			errY := b.b.Forward(v, x, nil, p)
			if a.gpu {
				for _, err := range []error{errX, errY} {
					if !errors.Is(err, dropout.ErrForeignBuffer) {
						t.Errorf("%s: got %v, want ErrForeignBuffer", what, err)
					}
				}
				continue
			}
			// host memory
			if errX != nil || errY != nil {
				t.Errorf("%s: Forward from it: %v; into it: %v", what, errX, errY)
				continue
			}
			if err := dropouttest.Equal(got, want); err != nil {
				t.Errorf("%s as x differs from the reference: %v", what, err)
			}
			if err := v.Read(got); err != nil {
				t.Fatal(err)
			}
			if err := dropouttest.Equal(got, want); err != nil {
				t.Errorf("%s as dst differs from the reference: %v", what, err)
			}
		}
	}
}
