package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/internal/npy"
)

// TestWindows checks a large run's output, too large to compute twice,
// against the reference on windows: the start, the middle, across the
// 2^31- and 2^32-byte boundaries of the data, and the end. It measures
// what `run` on a file larger than memory produced, and runs only when
// DROPOUT_CHECK_WINDOWS names the files and parameters of a 1-d float32
// forward with a bits mask: "IN.npy,OUT.npy,MASK.npy,SEED,P" (the offset
// 0).
func TestWindows(t *testing.T) {
	spec := os.Getenv("DROPOUT_CHECK_WINDOWS")
	if spec == "" {
		t.Skip("a measurement helper: set DROPOUT_CHECK_WINDOWS=IN.npy,OUT.npy,MASK.npy,SEED,P to check a large run's output")
	}
	f := strings.Split(spec, ",")
	if len(f) != 5 {
		t.Fatalf("DROPOUT_CHECK_WINDOWS=%q: want IN,OUT,MASK,SEED,P", spec)
	}
	seed, err1 := strconv.ParseUint(f[3], 10, 64)
	pv, err2 := strconv.ParseFloat(f[4], 64)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	open := func(path string) *npy.Input {
		in, err := npy.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { in.Close() })
		return in
	}
	x, y, m := open(f[0]), open(f[1]), open(f[2])
	n := x.Header.N
	if y.Header.N != n || x.Header.DType != dropout.Float32 || len(x.Header.Shape) != 1 {
		t.Fatalf("want 1-d float32 files of one length: %v %v", x.Header, y.Header)
	}
	const w = 1 << 20
	starts := []int{0, n/2 - w/2, 1<<29 - w/2, 1<<30 - w/2, n - w}
	for _, s := range starts {
		s = max(0, min(s, n-w)) &^ 7
		k := min(w, n-s)
		xs, ys := make(dropout.Float32s, k), make(dropout.Float32s, k)
		ms := make([]byte, (k+7)/8)
		if err := x.ReadAt(f32raw(xs), 4*int64(s)); err != nil {
			t.Fatal(err)
		}
		if err := y.ReadAt(f32raw(ys), 4*int64(s)); err != nil {
			t.Fatal(err)
		}
		if err := m.ReadAt(ms, int64(s/8)); err != nil {
			t.Fatal(err)
		}
		want := make(dropout.Float32s, k)
		wm := make(dropout.Bytes, (k+7)/8)
		p := dropout.Params{P: pv, Seed: seed, Offset: uint64(s), Mask: dropout.MaskBits}
		if err := cpu.NewReference().Forward(want, xs, wm, p); err != nil {
			t.Fatal(err)
		}
		if err := dropouttest.Equal(ys, want); err != nil {
			t.Errorf("window at element %d (byte %d): %v", s, 4*int64(s), err)
		}
		if k%8 == 0 {
			if err := dropouttest.Equal(dropout.Bytes(ms), wm); err != nil {
				t.Errorf("mask window at element %d: %v", s, err)
			}
		}
		t.Logf("window [%d, %d) (bytes %d to %d) equals the reference, output and mask", s, s+k, 4*int64(s), 4*int64(s+k))
	}
}

func f32raw(v dropout.Float32s) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}
