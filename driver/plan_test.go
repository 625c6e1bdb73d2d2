package driver_test

import (
	"errors"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
)

func TestPlanBroadcast(t *testing.T) {
	for _, tc := range []struct {
		shape, noise []int
		dims         []int
	}{
		{[]int{4, 3, 5}, []int{4, 3, 1}, []int{12, 5}},
		{[]int{2, 3, 4, 5}, []int{2, 1, 1, 5}, []int{2, 12, 5}},
		{[]int{5, 1, 9}, []int{1, 1, 9}, []int{5, 9}},
		{[]int{3, 5, 7}, []int{3, 1, 7}, []int{3, 5, 7}},
		{[]int{6}, []int{1}, []int{6}},
	} {
		n := 1
		for _, d := range tc.shape {
			n *= d
		}
		x := make(dropout.Float32s, n)
		p := dropout.Params{P: 0.5, Shape: tc.shape, NoiseShape: tc.noise}
		pl, err := driver.NewPlan(x, x, nil, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(pl.Dims) != len(tc.dims) {
			t.Fatalf("shape %v noise %v: dims %v, want %v", tc.shape, tc.noise, pl.Dims, tc.dims)
		}
		for i := range tc.dims {
			if pl.Dims[i] != tc.dims[i] {
				t.Fatalf("shape %v noise %v: dims %v, want %v", tc.shape, tc.noise, pl.Dims, tc.dims)
			}
		}
		for i := 0; i < n; i++ {
			// coordinates of i, then the row-major index over the noise shape
			c := make([]int, len(tc.shape))
			r := i
			for d := len(tc.shape) - 1; d >= 0; d-- {
				c[d] = r % tc.shape[d]
				r /= tc.shape[d]
			}
			j := 0
			for d := range tc.shape {
				if tc.noise[d] == 1 {
					c[d] = 0
				}
				j = j*tc.noise[d] + c[d]
			}
			if got := pl.MaskIndex(i); got != j {
				t.Fatalf("shape %v noise %v: MaskIndex(%d) = %d, want %d", tc.shape, tc.noise, i, got, j)
			}
		}
	}
}

func TestNewPlanErrors(t *testing.T) {
	x := make(dropout.Float32s, 8)
	if _, err := driver.NewPlan(x, make(dropout.Float32s, 7), nil, dropout.Params{}); !errors.Is(err, dropout.ErrLength) {
		t.Errorf("length mismatch: %v", err)
	}
	if _, err := driver.NewPlan(x, x, make(dropout.Bytes, 2), dropout.Params{Mask: dropout.MaskBits}); !errors.Is(err, dropout.ErrLength) {
		t.Errorf("bits mask of 2 bytes for 8 elements: %v", err)
	}
	if _, err := driver.NewPlan(x, x, make(dropout.Bytes, 1), dropout.Params{Mask: dropout.MaskBits}); err != nil {
		t.Errorf("bits mask of 1 byte for 8 elements: %v", err)
	}
	if _, err := driver.NewPlan(x, x, nil, dropout.Params{P: 2}); !errors.Is(err, dropout.ErrP) {
		t.Errorf("p = 2: %v", err)
	}
}
