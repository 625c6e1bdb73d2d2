package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/internal/npy"
)

// TestOpsMatchReference runs float16, bfloat16 (as uint16), alpha
// dropout forward and backward, and the fused op through the command, and
// compares each output with the reference backend's call.
func TestOpsMatchReference(t *testing.T) {
	dir := t.TempDir()
	shape := []int{6, 35}
	n := 6 * 35
	x32 := dropouttest.Data(dropout.Float32, n, 1)
	put(t, dir, "x.npy", shape, x32)
	h := dropouttest.Data(dropout.Float16, n, 2)
	put(t, dir, "h.npy", shape, h)
	bf := dropouttest.Data(dropout.BFloat16, n, 3)
	put(t, dir, "bf.npy", shape, bf)
	bias := dropouttest.Data(dropout.Float32, 35, 4)
	put(t, dir, "b.npy", []int{35}, bias)
	res := dropouttest.Data(dropout.Float32, n, 5)
	put(t, dir, "r.npy", shape, res)
	ref := cpu.NewReference()
	p := dropout.Params{P: 0.3, Seed: 21, Offset: 4, Shape: shape, Mask: dropout.MaskBits}
	base := []string{"--p", "0.3", "--seed", "21", "--offset", "4", "--backend", "cpu", "--mask-out", "m.npy"}
	for _, tc := range []struct {
		name string
		args []string
		want func(y, m dropout.Tensor) error
	}{
		{"float16", []string{"--in", "h.npy"}, func(y, m dropout.Tensor) error { return ref.Forward(y, h, m, p) }},
		{"bfloat16", []string{"--in", "bf.npy", "--dtype", "bfloat16"}, func(y, m dropout.Tensor) error { return ref.Forward(y, bf, m, p) }},
		{"alpha", []string{"--in", "x.npy", "--alpha"}, func(y, m dropout.Tensor) error {
			pa := p
			pa.Alpha = true
			return ref.Forward(y, x32, m, pa)
		}},
		{"alpha float16", []string{"--in", "h.npy", "--alpha"}, func(y, m dropout.Tensor) error {
			pa := p
			pa.Alpha = true
			return ref.Forward(y, h, m, pa)
		}},
		{"fused", []string{"--in", "x.npy", "--bias", "b.npy", "--residual", "r.npy"}, func(y, m dropout.Tensor) error {
			return dropout.ForwardFused(ref, y, x32, bias, res, m, p)
		}},
		{"bias", []string{"--in", "x.npy", "--bias", "b.npy"}, func(y, m dropout.Tensor) error {
			return dropout.ForwardFused(ref, y, x32, bias, nil, m, p)
		}},
	} {
		for _, stream := range []string{"", "50"} {
			t.Setenv("DROPOUT_STREAM_CHUNK", stream)
			r := cli(t, dir, append(append([]string{"run", "--out", "y.npy"}, tc.args...), base...)...)
			if r.err != nil {
				t.Fatalf("%s: %v", tc.name, r.err)
			}
			in, err := npy.Open(filepath.Join(dir, "y.npy"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "bfloat16" {
				in.AsBFloat16()
			}
			y, err := in.ReadArray()
			in.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := dropouttest.Zeros(y.Data.DType(), n)
			wm := dropouttest.NewMask(dropout.MaskBits, n)
			if err := tc.want(want, wm); err != nil {
				t.Fatal(err)
			}
			if err := dropouttest.Equal(y.Data, want); err != nil {
				t.Errorf("%s (stream chunk %q): %v", tc.name, stream, err)
			}
			if err := dropouttest.Equal(readBytes(t, filepath.Join(dir, "m.npy"), dropout.MaskBits, shape), wm); err != nil {
				t.Errorf("%s mask: %v", tc.name, err)
			}
			if strings.Contains(tc.name, "alpha") && !strings.Contains(r.stdout, "alpha p=0.3") {
				t.Errorf("%s: summary %q", tc.name, r.stdout)
			}
		}
	}
	// backward --alpha from the stored mask: keep ? A·dy : 0.
	t.Setenv("DROPOUT_STREAM_CHUNK", "")
	if r := cli(t, dir, append([]string{"run", "--in", "x.npy", "--out", "y.npy", "--alpha"}, base...)...); r.err != nil {
		t.Fatal(r.err)
	}
	if r := cli(t, dir, "backward", "--grad", "r.npy", "--out", "dx.npy", "--p", "0.3", "--mask", "m.npy", "--alpha", "--backend", "cpu"); r.err != nil {
		t.Fatal(r.err)
	}
	want := make(dropout.Float32s, n)
	pa := p
	pa.Alpha = true
	if err := ref.Backward(want, res, readBytes(t, filepath.Join(dir, "m.npy"), dropout.MaskBits, shape), pa); err != nil {
		t.Fatal(err)
	}
	if err := dropouttest.Equal(read(t, filepath.Join(dir, "dx.npy")).Data, want); err != nil {
		t.Errorf("backward --alpha: %v", err)
	}
}

// TestRegionsCLI cuts a file into four blocks, runs each with
// --global-shape and --start on its own (mask in bytes, a noise shape),
// and checks that the blocks reassemble to the run over the whole file.
func TestRegionsCLI(t *testing.T) {
	dir := t.TempDir()
	global := []int{6, 10}
	x := dropouttest.Data(dropout.Float32, 60, 9)
	put(t, dir, "x.npy", global, x)
	common := []string{"--p", "0.4", "--seed", "8", "--offset", "3", "--backend", "cpu", "--mask-format", "bytes", "--noise-shape", "6,1"}
	if r := cli(t, dir, append([]string{"run", "--in", "x.npy", "--out", "y.npy", "--mask-out", "m.npy"}, common...)...); r.err != nil {
		t.Fatal(r.err)
	}
	whole := read(t, filepath.Join(dir, "y.npy")).Data
	wm := readBytes(t, filepath.Join(dir, "m.npy"), dropout.MaskBytes, []int{6, 1})
	got := dropouttest.Zeros(dropout.Float32, 60)
	for _, blk := range []struct{ start, shape []int }{
		{[]int{0, 0}, []int{4, 3}}, {[]int{0, 3}, []int{4, 7}}, {[]int{4, 0}, []int{2, 1}}, {[]int{4, 1}, []int{2, 9}},
	} {
		put(t, dir, "b.npy", blk.shape, dropouttest.Block(x, global, blk.start, blk.shape))
		start := strconv.Itoa(blk.start[0]) + "," + strconv.Itoa(blk.start[1])
		r := cli(t, dir, append([]string{"run", "--in", "b.npy", "--out", "yb.npy", "--mask-out", "mb.npy",
			"--global-shape", "6,10", "--start", start}, common...)...)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if !strings.Contains(r.stdout, "next offset 9") || !strings.Contains(r.stdout, "block at") {
			t.Errorf("summary %q", r.stdout)
		}
		dropouttest.PutBlock(got, global, blk.start, blk.shape, read(t, filepath.Join(dir, "yb.npy")).Data)
		ms := []int{blk.shape[0], 1}
		if err := dropouttest.Equal(readBytes(t, filepath.Join(dir, "mb.npy"), dropout.MaskBytes, ms),
			dropouttest.MaskBlock(wm, dropout.MaskBytes, global, []int{6, 1}, blk.start, blk.shape)); err != nil {
			t.Errorf("block %v mask: %v", blk.start, err)
		}
		// backward of the block from its mask equals the block of the whole.
		if r := cli(t, dir, "backward", "--grad", "b.npy", "--out", "db.npy", "--p", "0.4", "--mask", "mb.npy", "--mask-format", "bytes",
			"--backend", "cpu", "--noise-shape", "6,1", "--global-shape", "6,10", "--start", start); r.err != nil {
			t.Fatal(r.err)
		}
		if err := dropouttest.Equal(read(t, filepath.Join(dir, "db.npy")).Data, dropouttest.Block(whole, global, blk.start, blk.shape)); err != nil {
			t.Errorf("block %v backward: %v", blk.start, err)
		}
	}
	if err := dropouttest.Equal(got, whole); err != nil {
		t.Errorf("blocks reassembled: %v", err)
	}
	os.Remove(filepath.Join(dir, "b.npy"))
}
