package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
)

// streamCase is one run or backward compared between the in-memory path
// and streaming.
type streamCase struct {
	name string
	args []string // after "run --in IN --out y.npy" or the backward equivalent
}

// putFortran writes row-major data of the given shape as a Fortran-order
// file, big-endian when be is set.
func putFortran(t *testing.T, dir, name, descr string, shape []int, data []byte, esz int, be bool) {
	t.Helper()
	k := len(shape)
	n := numel(shape)
	out := make([]byte, 0, len(data))
	idx := make([]int, k)
	for range n {
		rm := 0
		for a := range k {
			rm = rm*shape[a] + idx[a]
		}
		e := slices.Clone(data[rm*esz : (rm+1)*esz])
		if be {
			slices.Reverse(e)
		}
		out = append(out, e...)
		for a := 0; a < k; a++ {
			idx[a]++
			if idx[a] < shape[a] {
				break
			}
			idx[a] = 0
		}
	}
	putRaw(t, dir, name, rawNpy(descr, true, shape, out))
}

// rawOf returns the bytes of a host tensor.
func rawOf(t dropout.Tensor) []byte {
	switch t := t.(type) {
	case dropout.Float32s:
		var b []byte
		for _, v := range t {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		return b
	case dropout.Float64s:
		var b []byte
		for _, v := range t {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	case dropout.Float16s:
		var b []byte
		for _, v := range t {
			b = binary.LittleEndian.AppendUint16(b, v)
		}
		return b
	case dropout.BFloat16s:
		var b []byte
		for _, v := range t {
			b = binary.LittleEndian.AppendUint16(b, v)
		}
		return b
	}
	panic("rawOf")
}

// TestStreamMatchesMemory runs forward and backward on every layout,
// dtype, mask format, noise shape, region and operation through the
// in-memory path and streamed in chunks of several sizes (crossing rows,
// bytes of a bit mask and the file's end): outputs, masks and the printed
// summary are byte-identical.
func TestStreamMatchesMemory(t *testing.T) {
	dir := t.TempDir()
	type input struct {
		file, extra string // extra: flags the input needs (--dtype)
		shape       []int
	}
	var inputs []input
	add := func(name, extra string, shape []int) { inputs = append(inputs, input{name, extra, shape}) }

	x1 := dropouttest.Data(dropout.Float32, 1000, 1)
	put(t, dir, "flat.npy", []int{1000}, x1)
	add("flat.npy", "", []int{1000})
	x2 := dropouttest.Data(dropout.Float32, 37*29, 2)
	put(t, dir, "c2.npy", []int{37, 29}, x2)
	add("c2.npy", "", []int{37, 29})
	putFortran(t, dir, "f2.npy", "<f4", []int{37, 29}, rawOf(x2), 4, false)
	add("f2.npy", "", []int{37, 29})
	putFortran(t, dir, "f2be.npy", ">f4", []int{37, 29}, rawOf(x2), 4, true)
	add("f2be.npy", "", []int{37, 29})
	x3 := dropouttest.Data(dropout.Float64, 5*6*7, 3)
	putFortran(t, dir, "f3.npy", "<f8", []int{5, 6, 7}, rawOf(x3), 8, false)
	add("f3.npy", "", []int{5, 6, 7})
	h := dropouttest.Data(dropout.Float16, 3*4*50, 4)
	put(t, dir, "h.npy", []int{3, 4, 50}, h)
	add("h.npy", "", []int{3, 4, 50})
	bf := dropouttest.Data(dropout.BFloat16, 9*40, 5)
	putRaw(t, dir, "bf.npy", rawNpy("<u2", false, []int{9, 40}, rawOf(bf)))
	add("bf.npy", "--dtype bfloat16", []int{9, 40})

	// Fused op inputs for c2 (C order) and f2 (Fortran order).
	put(t, dir, "bias29.npy", []int{29}, dropouttest.Data(dropout.Float32, 29, 6))
	r2 := dropouttest.Data(dropout.Float32, 37*29, 7)
	put(t, dir, "r2.npy", []int{37, 29}, r2)
	putFortran(t, dir, "rf2.npy", "<f4", []int{37, 29}, rawOf(r2), 4, false)

	noises := func(shape []int) []string {
		var out []string
		if len(shape) < 2 {
			return []string{"1000"}
		}
		ones := make([]string, len(shape))
		first := make([]string, len(shape))
		for a, d := range shape {
			ones[a], first[a] = "1", "1"
			if a == len(shape)-1 {
				ones[a] = strconv.Itoa(d)
			}
			if a == 0 {
				first[a] = strconv.Itoa(d)
			}
		}
		return append(out, strings.Join(ones, ","), strings.Join(first, ","))
	}
	var cases []struct {
		in   input
		c    streamCase
		back bool
	}
	for _, in := range inputs {
		var cs []streamCase
		for _, f := range []string{"bits", "bytes"} {
			cs = append(cs, streamCase{"mask " + f, []string{"--mask-out", "m.npy", "--mask-format", f}})
			for _, ns := range noises(in.shape) {
				cs = append(cs, streamCase{"noise " + ns + " " + f, []string{"--mask-out", "m.npy", "--mask-format", f, "--noise-shape", ns}})
			}
		}
		cs = append(cs, streamCase{"no mask", nil}, streamCase{"alpha", []string{"--alpha", "--mask-out", "m.npy"}})
		g := slices.Clone(in.shape)
		st := make([]string, len(g))
		gs := make([]string, len(g))
		for a := range g {
			st[a], gs[a] = "0", strconv.Itoa(g[a])
		}
		st[0], gs[0] = "3", strconv.Itoa(g[0]+5)
		cs = append(cs, streamCase{"region", []string{"--global-shape", strings.Join(gs, ","), "--start", strings.Join(st, ","), "--mask-out", "m.npy"}})
		if len(g) > 1 {
			ns := make([]string, len(g))
			for a := range ns {
				ns[a] = "1"
			}
			ns[len(g)-1] = strconv.Itoa(g[len(g)-1])
			cs = append(cs, streamCase{"region noise", []string{"--global-shape", strings.Join(gs, ","), "--start", strings.Join(st, ","),
				"--noise-shape", strings.Join(ns, ","), "--mask-out", "m.npy", "--mask-format", "bytes"}})
		}
		switch in.file {
		case "c2.npy":
			cs = append(cs, streamCase{"fused", []string{"--bias", "bias29.npy", "--residual", "r2.npy", "--mask-out", "m.npy"}},
				streamCase{"bias only", []string{"--bias", "bias29.npy"}})
		case "f2.npy":
			cs = append(cs, streamCase{"fused", []string{"--bias", "bias29.npy", "--residual", "rf2.npy", "--mask-out", "m.npy"}},
				streamCase{"residual only", []string{"--residual", "rf2.npy"}})
		}
		for _, c := range cs {
			cases = append(cases, struct {
				in   input
				c    streamCase
				back bool
			}{in, c, false})
		}
		// Backward: from a bits and a bytes mask, and regenerated.
		for _, c := range []streamCase{
			{"backward bits", []string{"--mask", "m.npy"}},
			{"backward bytes", []string{"--mask", "mb.npy", "--mask-format", "bytes"}},
			{"backward seed", []string{"--seed", "77", "--offset", "5", "--alpha"}},
		} {
			cases = append(cases, struct {
				in   input
				c    streamCase
				back bool
			}{in, c, true})
		}
	}
	fields := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Fields(s)
	}
	outputs := []string{"y.npy", "m.npy"}
	for _, tc := range cases {
		var args []string
		if !tc.back {
			args = append([]string{"run", "--in", tc.in.file, "--out", "y.npy", "--p", "0.3", "--seed", "12", "--offset", "7", "--backend", "reference"}, fields(tc.in.extra)...)
		} else {
			// The masks backward reads, from the in-memory forward.
			for _, f := range []string{"bits", "bytes"} {
				mf := map[string]string{"bits": "m.npy", "bytes": "mb.npy"}[f]
				if r := cli(t, dir, append([]string{"run", "--in", tc.in.file, "--out", "fy.npy", "--p", "0.3", "--seed", "12", "--backend", "reference",
					"--mask-out", mf, "--mask-format", f}, fields(tc.in.extra)...)...); r.err != nil {
					t.Fatal(r.err)
				}
			}
			args = append([]string{"backward", "--grad", tc.in.file, "--out", "y.npy", "--p", "0.3", "--backend", "reference"}, fields(tc.in.extra)...)
		}
		args = append(args, tc.c.args...)
		name := tc.in.file + " " + tc.c.name
		t.Setenv("DROPOUT_STREAM_CHUNK", "")
		want := cli(t, dir, args...)
		if want.err != nil {
			t.Errorf("%s in memory: %v", name, want.err)
			continue
		}
		wantFiles := map[string][]byte{}
		for _, o := range outputs {
			wantFiles[o], _ = os.ReadFile(filepath.Join(dir, o))
		}
		for _, chunk := range []int{1, 7, 64, 1 << 20} {
			t.Setenv("DROPOUT_STREAM_CHUNK", strconv.Itoa(chunk))
			got := cli(t, dir, args...)
			if got.err != nil {
				t.Errorf("%s chunk %d: %v", name, chunk, got.err)
				continue
			}
			if got.stdout != want.stdout {
				t.Errorf("%s chunk %d: summary\n%s want\n%s", name, chunk, got.stdout, want.stdout)
			}
			for _, o := range outputs {
				b, _ := os.ReadFile(filepath.Join(dir, o))
				if !bytes.Equal(b, wantFiles[o]) {
					t.Errorf("%s chunk %d: %s differs from the in-memory path's (%d and %d bytes)", name, chunk, o, len(b), len(wantFiles[o]))
				}
			}
		}
		for _, o := range append(outputs, "mb.npy", "fy.npy") {
			os.Remove(filepath.Join(dir, o))
		}
	}
	noTemps(t, dir)
}

// TestStreamStdin streams standard input to standard output.
func TestStreamStdin(t *testing.T) {
	dir := t.TempDir()
	x := dropouttest.Data(dropout.Float32, 4099, 1)
	put(t, dir, "x.npy", []int{4099}, x)
	b, _ := os.ReadFile(filepath.Join(dir, "x.npy"))
	want := cli(t, dir, "run", "--in", "x.npy", "--out", "y.npy", "--p", "0.5", "--seed", "3", "--backend", "cpu")
	if want.err != nil {
		t.Fatal(want.err)
	}
	wy, _ := os.ReadFile(filepath.Join(dir, "y.npy"))
	t.Setenv("DROPOUT_STREAM_CHUNK", "1000")
	old := stdin
	stdin = bytes.NewReader(b)
	defer func() { stdin = old }()
	r := cli(t, dir, "run", "--in", "-", "--out", "-", "--p", "0.5", "--seed", "3", "--backend", "cpu")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !bytes.Equal([]byte(r.stdout), wy) {
		t.Errorf("streamed stdin to stdout differs (%d bytes, want %d)", len(r.stdout), len(wy))
	}
	// A truncated stream fails, leaving no file.
	stdin = bytes.NewReader(b[:len(b)-6])
	r = cli(t, dir, "run", "--in", "-", "--out", "z.npy", "--p", "0.5", "--seed", "3", "--backend", "cpu")
	if r.err == nil || !strings.Contains(r.err.Error(), "truncated data") {
		t.Errorf("truncated stream: %v", r.err)
	}
	if _, err := os.Stat(filepath.Join(dir, "z.npy")); err == nil {
		t.Error("z.npy written")
	}
	noTemps(t, dir)
}

// TestStreamBoundedMemory runs a 256 MiB file through a child process
// with --max-memory 32M (and --backend cpu): it streams, and the
// process's peak resident memory stays near the bound, far below the
// file; the output is checked against the in-memory path on a window.
func TestStreamBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 512 MiB")
	}
	dir := t.TempDir()
	const n = 64 << 20 // float32: 256 MiB
	hdr := rawNpy("<f4", false, []int{n}, nil)
	f, err := os.Create(filepath.Join(dir, "big.npy"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write(hdr)
	// Data: a distinct value every 4 KiB, zeros (a sparse file) between.
	for off := int64(0); off < 4*n; off += 4 << 10 {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(float32(off)+0.5))
		f.WriteAt(b[:], int64(len(hdr))+off)
	}
	if err := f.Truncate(int64(len(hdr)) + 4*n); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := command(t, dir, "run", "--in", "big.npy", "--out", "y.npy", "--p", "0.5", "--seed", "5", "--backend", "cpu",
		"--mask-out", "m.npy", "--max-memory", "32M")
	cmd.Env = append(cmd.Env, "DROPOUT_TEST_HWM=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	el := time.Since(start)
	var kib int64
	if _, err := fmt.Sscanf(strings.TrimSpace(stderr.String()), "VmHWM: %d kB", &kib); err != nil {
		t.Fatalf("no VmHWM in the child's stderr %q: %v", stderr.String(), err)
	}
	peak := kib << 10
	t.Logf("256 MiB streamed in %v, peak RSS %.1f MiB", el, float64(peak)/(1<<20))
	if peak > 64<<20 {
		t.Errorf("peak RSS %d bytes, want at most 64 MiB (a 32 MiB bound plus the runtime)", peak)
	}
	// A window across the middle equals a run over the window as a
	// region of the whole.
	y := read(t, filepath.Join(dir, "y.npy")).Data.(dropout.Float32s)
	in := read(t, filepath.Join(dir, "big.npy")).Data.(dropout.Float32s)
	lo, hi := n/2-5000, n/2+5000
	want := make(dropout.Float32s, hi-lo)
	p := dropout.Params{P: 0.5, Seed: 5, Offset: uint64(lo)}
	if err := cpu.NewReference().Forward(want, in[lo:hi], nil, p); err != nil {
		t.Fatal(err)
	}
	if err := dropouttest.Equal(y[lo:hi], want); err != nil {
		t.Error(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "m.npy")); err != nil || st.Size() < n/8 || st.Size() > n/8+128 {
		t.Errorf("mask file: %v %v", st, err)
	}
}
