package main

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/internal/npy"
	"github.com/gpudropout/dropout/internal/verify"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) {
	// The test binary doubles as the command, for tests that need a
	// process of its own (signals, memory).
	if os.Getenv("DROPOUT_TEST_MAIN") == "1" {
		main()
		if os.Getenv("DROPOUT_TEST_HWM") == "1" {
			// The process's own peak resident memory: the rusage a
			// parent gets counts the parent's peak too (exec after a
			// vfork records the shared memory's high-water mark).
			if b, err := os.ReadFile("/proc/self/status"); err == nil {
				for _, l := range strings.Split(string(b), "\n") {
					if strings.HasPrefix(l, "VmHWM:") {
						fmt.Fprintln(os.Stderr, l)
					}
				}
			}
		}
		os.Exit(0)
	}
	flag.Parse()
	// Small checks: the full ones are `dropout verify`'s business; these
	// test the command around them.
	verifyConfig = verify.Config{
		Sizes:   []int{0, 1, 5, 33, 1023},
		Large:   1<<12 + 3,
		Ps:      []float64{0, 0.1, 0.5, 1},
		Offsets: []uint64{0, 1<<32 - 3},
		KeepN:   1 << 18,
		KeepPs:  []float64{0.5},
		Trials:  10_000,
		SumN:    1 << 18,
	}
	os.Exit(m.Run())
}

type result struct {
	stdout, stderr string
	err            error
}

// cli runs the command in dir (file arguments are relative to it) and
// returns its output with dir replaced by $DIR.
func cli(t *testing.T, dir string, args ...string) result {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errb bytes.Buffer
	err := run(&out, &errb, args)
	clean := func(s string) string { return strings.ReplaceAll(s, dir, "$DIR") }
	r := result{stdout: clean(out.String()), stderr: clean(errb.String()), err: err}
	return r
}

func (r result) errString() string {
	if r.err == nil {
		return "<nil>"
	}
	return r.err.Error()
}

// golden compares text with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, text string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != text {
		t.Errorf("%s differs from the golden file:\n--- got ---\n%s--- want ---\n%s", path, text, want)
	}
}

func (r result) golden() string {
	return fmt.Sprintf("-- stdout --\n%s-- stderr --\n%s-- error --\n%s\n", r.stdout, r.stderr, r.errString())
}

// rawNpy builds a .npy file by hand, for the layouts our writer never
// produces: big-endian, Fortran order, other dtypes.
func rawNpy(descr string, fortran bool, shape []int, data []byte) []byte {
	f := "False"
	if fortran {
		f = "True"
	}
	if !strings.HasPrefix(descr, "[") {
		descr = "'" + descr + "'"
	}
	dict := fmt.Sprintf("{'descr': %s, 'fortran_order': %s, 'shape': %s, }", descr, f, npy.ShapeString(shape))
	for (10+len(dict)+1)%64 != 0 {
		dict += " "
	}
	dict += "\n"
	b := []byte("\x93NUMPY")
	b = append(b, 1, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)))
	return append(append(b, dict...), data...)
}

func put(t *testing.T, dir, name string, shape []int, data dropout.Tensor) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := npy.WriteFile(p, shape, data); err != nil {
		t.Fatal(err)
	}
	return p
}

func putRaw(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func readBytes(t *testing.T, path string, f dropout.MaskFormat, noise []int) dropout.Bytes {
	t.Helper()
	m, err := npy.ReadMask(path, f, noise)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func zerosLike(x dropout.Tensor) dropout.Tensor {
	if x.DType() == dropout.Float64 {
		return make(dropout.Float64s, x.Len())
	}
	return make(dropout.Float32s, x.Len())
}

// files lists the names in dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, e := range es {
		s = append(s, e.Name())
	}
	sort.Strings(s)
	return s
}

// TestRun runs forward dropout end to end on the reference and cpu
// backends and checks the output files against the reference backend
// called directly, and the printed output against golden files.
func TestRun(t *testing.T) {
	for _, backend := range []string{"reference", "cpu"} {
		for _, tc := range []struct {
			name   string
			dt     dropout.DType
			shape  []int
			noise  []int
			format dropout.MaskFormat
			extra  []string
		}{
			{"f32-bits", dropout.Float32, []int{4, 5}, nil, dropout.MaskBits, nil},
			{"f64-bytes-noise", dropout.Float64, []int{2, 3, 5}, []int{2, 1, 5}, dropout.MaskBytes, []string{"--noise-shape", "2,1,5"}},
			{"f32-nomask", dropout.Float32, []int{1000}, nil, dropout.MaskNone, nil},
		} {
			t.Run(backend+"/"+tc.name, func(t *testing.T) {
				dir := t.TempDir()
				x := dropouttest.Data(tc.dt, numel(tc.shape), 3)
				put(t, dir, "x.npy", tc.shape, x)
				args := []string{"run", "--in", "x.npy", "--out", "y.npy", "--p", "0.3", "--seed", "42", "-offset", "7", "--backend", backend}
				if tc.format != dropout.MaskNone {
					args = append(args, "--mask-out", "m.npy", "--mask-format", tc.format.String())
				}
				args = append(args, tc.extra...)
				r := cli(t, dir, args...)
				if r.err != nil {
					t.Fatal(r.err)
				}
				golden(t, "run-"+backend+"-"+tc.name, r.golden())

				p := dropout.Params{P: 0.3, Seed: 42, Offset: 7, Mask: tc.format, Shape: tc.shape, NoiseShape: tc.noise}
				want := zerosLike(x)
				noise := tc.noise
				if noise == nil {
					noise = tc.shape
				}
				wm := make(dropout.Bytes, tc.format.Bytes(numel(noise)))
				var wmT dropout.Tensor
				if tc.format != dropout.MaskNone {
					wmT = wm
				}
				if err := cpu.NewReference().Forward(want, x, wmT, p); err != nil {
					t.Fatal(err)
				}
				y := read(t, filepath.Join(dir, "y.npy"))
				if !slices.Equal(y.Shape, tc.shape) {
					t.Errorf("output shape %v, want %v", y.Shape, tc.shape)
				}
				if err := dropouttest.Equal(y.Data, want); err != nil {
					t.Errorf("output differs from the reference: %v", err)
				}
				if tc.format != dropout.MaskNone {
					m := readBytes(t, filepath.Join(dir, "m.npy"), tc.format, noise)
					if err := dropouttest.Equal(m, wm); err != nil {
						t.Errorf("mask differs from the reference: %v", err)
					}
				}
			})
		}
	}
}

// TestRandomSeed checks that a run without --seed prints the seed it drew
// and that passing it back repeats the run.
func TestRandomSeed(t *testing.T) {
	dir := t.TempDir()
	put(t, dir, "x.npy", []int{257}, dropouttest.Data(dropout.Float32, 257, 1))
	r := cli(t, dir, "run", "--in", "x.npy", "--out", "a.npy", "--p", "0.5", "--backend", "cpu")
	if r.err != nil {
		t.Fatal(r.err)
	}
	m := regexp.MustCompile(`^dropout: random seed (\d+) \(pass --seed (\d+) to repeat this run\)\n$`).FindStringSubmatch(r.stderr)
	if m == nil || m[1] != m[2] {
		t.Fatalf("stderr %q does not report the seed", r.stderr)
	}
	if !strings.Contains(r.stdout, "seed="+m[1]) {
		t.Errorf("stdout %q lacks the seed", r.stdout)
	}
	r = cli(t, dir, "run", "--in", "x.npy", "--out", "b.npy", "--p", "0.5", "--seed", m[1], "--backend", "reference")
	if r.err != nil || r.stderr != "" {
		t.Fatalf("%v %q", r.err, r.stderr)
	}
	if err := dropouttest.Equal(read(t, filepath.Join(dir, "a.npy")).Data, read(t, filepath.Join(dir, "b.npy")).Data); err != nil {
		t.Errorf("the printed seed does not repeat the run: %v", err)
	}
	r2 := cli(t, dir, "run", "--in", "x.npy", "--out", "c.npy", "--p", "0.5", "--backend", "cpu")
	if r2.stderr == r.stderr {
		t.Error("two runs drew the same seed")
	}
}

// TestLayouts checks big-endian and Fortran-order inputs, 0-d and empty
// arrays: the output is what the same logical array in C order gives.
func TestLayouts(t *testing.T) {
	dir := t.TempDir()
	// (3, 4) float32, element (i, j) = 10i + j + 0.5.
	shape := []int{3, 4}
	var c, fortran []float32
	for i := range 3 {
		for j := range 4 {
			c = append(c, float32(10*i+j)+0.5)
		}
	}
	for j := range 4 {
		for i := range 3 {
			fortran = append(fortran, float32(10*i+j)+0.5)
		}
	}
	enc := func(order binary.AppendByteOrder, v []float32) []byte {
		var b []byte
		for _, x := range v {
			b = order.AppendUint32(b, math.Float32bits(x))
		}
		return b
	}
	put(t, dir, "c.npy", shape, dropout.Float32s(c))
	putRaw(t, dir, "be.npy", rawNpy(">f4", false, shape, enc(binary.BigEndian, c)))
	putRaw(t, dir, "f.npy", rawNpy("<f4", true, shape, enc(binary.LittleEndian, fortran)))
	putRaw(t, dir, "fbe.npy", rawNpy(">f4", true, shape, enc(binary.BigEndian, fortran)))
	var outs []dropout.Tensor
	for _, in := range []string{"c", "be", "f", "fbe"} {
		r := cli(t, dir, "run", "--in", in+".npy", "--out", in+"-y.npy", "--p", "0.5", "--seed", "9", "--backend", "cpu",
			"--mask-out", in+"-m.npy", "--noise-shape", "3,1")
		if r.err != nil {
			t.Fatalf("%s: %v", in, r.err)
		}
		y := read(t, filepath.Join(dir, in+"-y.npy"))
		if !slices.Equal(y.Shape, shape) {
			t.Errorf("%s: shape %v", in, y.Shape)
		}
		outs = append(outs, y.Data)
		// Output files are little-endian, in the input's memory order.
		b, _ := os.ReadFile(filepath.Join(dir, in+"-y.npy"))
		order := "False"
		if in[0] == 'f' {
			order = "True"
		}
		if !bytes.Contains(b, []byte("'descr': '<f4', 'fortran_order': "+order)) {
			t.Errorf("%s: output header %q", in, b[:64])
		}
	}
	for i := 1; i < len(outs); i++ {
		if err := dropouttest.Equal(outs[i], outs[0]); err != nil {
			t.Errorf("layout %d differs from C order: %v", i, err)
		}
	}
	// The noise shape (3, 1) drops whole rows: each row is all zero or all kept.
	y := outs[0].(dropout.Float32s)
	for i := range 3 {
		z := 0
		for j := range 4 {
			if y[4*i+j] == 0 {
				z++
			}
		}
		if z != 0 && z != 4 {
			t.Errorf("row %d partly dropped under noise shape (3,1): %v", i, y[4*i:4*i+4])
		}
	}

	// 0-d and empty arrays.
	var text strings.Builder
	for _, tc := range []struct {
		name  string
		shape []int
		x     dropout.Tensor
	}{
		{"scalar", []int{}, dropout.Float64s{2.5}},
		{"empty", []int{0}, dropout.Float32s{}},
		{"empty2d", []int{3, 0}, dropout.Float32s{}},
	} {
		put(t, dir, tc.name+".npy", tc.shape, tc.x)
		for _, f := range []string{"bits", "bytes"} {
			r := cli(t, dir, "run", "--in", tc.name+".npy", "--out", tc.name+"-y.npy", "--p", "0.5", "--seed", "1",
				"--backend", "reference", "--mask-out", tc.name+"-m.npy", "--mask-format", f)
			if r.err != nil {
				t.Fatalf("%s: %v", tc.name, r.err)
			}
			text.WriteString(r.stdout)
			y := read(t, filepath.Join(dir, tc.name+"-y.npy"))
			if !slices.Equal(y.Shape, tc.shape) || y.Data.Len() != tc.x.Len() || y.Data.DType() != tc.x.DType() {
				t.Errorf("%s: got %v %v[%d]", tc.name, y.Shape, y.Data.DType(), y.Data.Len())
			}
			mf, _ := dropout.ParseMaskFormat(f)
			readBytes(t, filepath.Join(dir, tc.name+"-m.npy"), mf, tc.shape)
			r = cli(t, dir, "backward", "--grad", tc.name+".npy", "--out", tc.name+"-dx.npy", "--p", "0.5",
				"--mask", tc.name+"-m.npy", "--mask-format", f, "--backend", "cpu")
			if r.err != nil {
				t.Fatalf("%s backward: %v", tc.name, r.err)
			}
			if err := dropouttest.Equal(read(t, filepath.Join(dir, tc.name+"-dx.npy")).Data, y.Data); err != nil {
				t.Errorf("%s: backward of the input with its mask is not the forward output: %v", tc.name, err)
			}
		}
	}
	golden(t, "run-0d-empty", text.String())
}

// TestBackward checks backward from a stored mask (bits and bytes) and
// regenerated from the seed against the reference, noise shape included.
func TestBackward(t *testing.T) {
	dir := t.TempDir()
	shape := []int{6, 7, 3}
	dy := dropouttest.Data(dropout.Float32, numel(shape), 8)
	put(t, dir, "dy.npy", shape, dy)
	put(t, dir, "x.npy", shape, dropouttest.Data(dropout.Float32, numel(shape), 9))
	var text strings.Builder
	for _, noise := range []string{"", "6,1,3"} {
		p := dropout.Params{P: 0.25, Seed: 1234, Offset: 1<<32 - 5, Shape: shape}
		extra := []string{}
		if noise != "" {
			p.NoiseShape, _ = parseShape(noise)
			extra = []string{"--noise-shape", noise}
		}
		want := make(dropout.Float32s, dy.Len())
		if err := cpu.NewReference().Backward(want, dy, nil, p); err != nil {
			t.Fatal(err)
		}
		for _, backend := range []string{"reference", "cpu"} {
			r := cli(t, dir, append([]string{"backward", "--grad", "dy.npy", "--out", "dx-regen.npy", "--p", "0.25",
				"--seed", "1234", "--offset", strconv.FormatUint(1<<32-5, 10), "--backend", backend}, extra...)...)
			if r.err != nil {
				t.Fatal(r.err)
			}
			text.WriteString(r.stdout)
			if err := dropouttest.Equal(read(t, filepath.Join(dir, "dx-regen.npy")).Data, want); err != nil {
				t.Errorf("%s noise %q regenerated: %v", backend, noise, err)
			}
			for _, f := range []string{"bits", "bytes"} {
				r := cli(t, dir, append([]string{"run", "--in", "x.npy", "--out", "y.npy", "--p", "0.25", "--seed", "1234",
					"--offset", "0x" + strconv.FormatUint(1<<32-5, 16), "--mask-out", "m.npy", "--mask-format", f, "--backend", backend}, extra...)...)
				if r.err != nil {
					t.Fatal(r.err)
				}
				r = cli(t, dir, append([]string{"backward", "--grad", "dy.npy", "--out", "dx.npy", "--p", "0.25",
					"--mask", "m.npy", "--mask-format", f, "--backend", backend}, extra...)...)
				if r.err != nil {
					t.Fatal(r.err)
				}
				text.WriteString(r.stdout)
				if err := dropouttest.Equal(read(t, filepath.Join(dir, "dx.npy")).Data, want); err != nil {
					t.Errorf("%s noise %q from a %s mask: %v", backend, noise, f, err)
				}
			}
		}
	}
	golden(t, "backward", text.String())
}

// TestBadInput runs every bad-input case: each must fail with a one-line
// error (golden), print nothing on stdout, and leave no output file.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := dropouttest.Data(dropout.Float32, 6, 1)
	put(t, dir, "x.npy", []int{2, 3}, good)
	put(t, dir, "x64.npy", []int{2, 3}, dropouttest.Data(dropout.Float64, 6, 1))
	putRaw(t, dir, "int32.npy", rawNpy("<i4", false, []int{2, 3}, make([]byte, 24)))
	putRaw(t, dir, "int64.npy", rawNpy("<i8", false, []int{2}, make([]byte, 16)))
	putRaw(t, dir, "uint8.npy", rawNpy("|u1", false, []int{2}, make([]byte, 2)))
	putRaw(t, dir, "complex.npy", rawNpy("<c16", false, []int{2}, make([]byte, 32)))
	putRaw(t, dir, "object.npy", rawNpy("|O", false, []int{2}, make([]byte, 16)))
	putRaw(t, dir, "u16.npy", rawNpy("<u2", false, []int{2, 3}, make([]byte, 12)))
	putRaw(t, dir, "f16.npy", rawNpy("<f2", false, []int{2, 3}, make([]byte, 12)))
	put(t, dir, "bias2.npy", []int{2}, dropout.Float32s{1, 2})
	put(t, dir, "bias3.npy", []int{3}, dropout.Float32s{1, 2, 3})
	put(t, dir, "bias64.npy", []int{3}, dropout.Float64s{1, 2, 3})
	put(t, dir, "res32.npy", []int{3, 2}, dropouttest.Data(dropout.Float32, 6, 2))
	putRaw(t, dir, "structured.npy", rawNpy("[('a', '<f4'), ('b', '<i4')]", false, []int{2}, make([]byte, 16)))
	full, _ := os.ReadFile(filepath.Join(dir, "x.npy"))
	putRaw(t, dir, "truncated.npy", full[:len(full)-5])
	putRaw(t, dir, "trailing.npy", append(slices.Clone(full), 0, 0, 0, 0))
	putRaw(t, dir, "header.npy", full[:30])
	putRaw(t, dir, "corrupt.npy", bytes.Replace(full, []byte("'shape'"), []byte("'shap!'"), 1))
	putRaw(t, dir, "magic.npy", append([]byte("NOTNUMPY"), full[8:]...))
	putRaw(t, dir, "empty.npy", nil)
	put(t, dir, "bits3.npy", []int{3}, dropout.Bytes{0, 0, 0})
	put(t, dir, "bits1.npy", []int{1}, dropout.Bytes{0x3f})
	put(t, dir, "bitspad.npy", []int{1}, dropout.Bytes{0xff})
	put(t, dir, "bytes2.npy", []int{2, 3}, dropout.Bytes{0, 1, 2, 1, 0, 1})
	put(t, dir, "bytesflat.npy", []int{6}, dropout.Bytes{0, 1, 1, 1, 0, 1})
	put(t, dir, "fmask.npy", []int{2, 3}, dropout.Float32s{0, 1, 1, 1, 0, 1})
	if err := os.Mkdir(filepath.Join(dir, "outdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	inputs := files(t, dir)

	run := []string{"run", "--out", "y.npy", "--p", "0.5", "--seed", "1", "--backend", "cpu", "--mask-out", "m.npy", "--in"}
	bwd := []string{"backward", "--grad", "x.npy", "--out", "dx.npy", "--p", "0.5", "--backend", "cpu"}
	cases := []struct {
		name string
		args []string
	}{
		{"missing file", append(run, "nope.npy")},
		{"directory", append(run, "outdir")},
		{"int32", append(run, "int32.npy")},
		{"int64", append(run, "int64.npy")},
		{"uint8", append(run, "uint8.npy")},
		{"complex", append(run, "complex.npy")},
		{"object", append(run, "object.npy")},
		{"uint16", append(run, "u16.npy")},
		{"dtype unknown", append(run, "x.npy", "--dtype", "int8")},
		{"dtype bfloat16 of float32", append(run, "x.npy", "--dtype", "bfloat16")},
		{"dtype bfloat16 of float16", append(run, "f16.npy", "--dtype", "bfloat16")},
		{"alpha with bias", append(run, "x.npy", "--alpha", "--bias", "bias3.npy")},
		{"bias length", append(run, "x.npy", "--bias", "bias2.npy")},
		{"bias dtype", append(run, "x.npy", "--bias", "bias64.npy")},
		{"bias missing", append(run, "x.npy", "--bias", "nope.npy")},
		{"residual shape", append(run, "x.npy", "--residual", "res32.npy")},
		{"residual dtype", append(run, "x.npy", "--residual", "x64.npy")},
		{"residual is the output", []string{"run", "--in", "x.npy", "--out", "y.npy", "--residual", "y.npy", "--p", "0.5", "--seed", "1"}},
		{"global without start", append(run, "x.npy", "--global-shape", "4,3")},
		{"start without global", append(run, "x.npy", "--start", "0,0")},
		{"global rank", append(run, "x.npy", "--global-shape", "4,3,1", "--start", "0,0,0")},
		{"block outside", append(run, "x.npy", "--global-shape", "4,3", "--start", "3,0")},
		{"global syntax", append(run, "x.npy", "--global-shape", "4,x", "--start", "0,0")},
		{"noise on the global shape", append(run, "x.npy", "--global-shape", "4,3", "--start", "2,0", "--noise-shape", "2,1")},
		{"max-memory syntax", append(run, "x.npy", "--max-memory", "lots")},
		{"max-memory zero", append(run, "x.npy", "--max-memory", "0")},
		{"structured", append(run, "structured.npy")},
		{"truncated data", append(run, "truncated.npy")},
		{"trailing data", append(run, "trailing.npy")},
		{"truncated header", append(run, "header.npy")},
		{"corrupt header", append(run, "corrupt.npy")},
		{"bad magic", append(run, "magic.npy")},
		{"empty file", append(run, "empty.npy")},
		{"noise rank", append(run, "x.npy", "--noise-shape", "2,1,3")},
		{"noise axis", append(run, "x.npy", "--noise-shape", "2,2")},
		{"noise syntax", append(run, "x.npy", "--noise-shape", "2,x")},
		{"p too big", append(run, "x.npy", "--p", "1.5")},
		{"p nan", append(run, "x.npy", "--p", "NaN")},
		{"p syntax", append(run, "x.npy", "--p", "half")},
		{"seed syntax", append(run, "x.npy", "--seed", "-3")},
		{"seed underscore", append(run, "x.npy", "--seed", "1_0")},
		{"seed leading zero", append(run, "x.npy", "--seed", "010")},
		{"p hex float", append(run, "x.npy", "--p", "0x1p-1")},
		{"mask format", append(run, "x.npy", "--mask-format", "none")},
		{"unknown backend", append(run, "x.npy", "--backend", "cuda")},
		{"bad device", append(run, "x.npy", "--device", "7")},
		{"out is a directory", []string{"run", "--in", "x.npy", "--out", "outdir", "--p", "0.5", "--seed", "1", "--backend", "cpu"}},
		{"out dir missing", []string{"run", "--in", "x.npy", "--out", "nodir/y.npy", "--p", "0.5", "--seed", "1", "--backend", "cpu"}},
		{"mask-out dir missing", []string{"run", "--in", "x.npy", "--out", "y.npy", "--mask-out", "nodir/m.npy", "--p", "0.5", "--seed", "1", "--backend", "cpu"}},
		{"out twice", []string{"run", "--in", "x.npy", "--out", "y.npy", "--mask-out", "./y.npy", "--p", "0.5", "--seed", "1", "--backend", "cpu"}},
		{"mask-out is the input", []string{"run", "--in", "x.npy", "--out", "y.npy", "--mask-out", "x.npy", "--p", "0.5", "--seed", "1", "--backend", "cpu"}},
		{"no in", []string{"run", "--out", "y.npy", "--p", "0.5"}},
		{"no out", []string{"run", "--in", "x.npy", "--p", "0.5"}},
		{"no p", []string{"run", "--in", "x.npy", "--out", "y.npy"}},
		{"mask-format without mask-out", []string{"run", "--in", "x.npy", "--out", "y.npy", "--p", "0.5", "--mask-format", "bytes"}},
		{"unknown flag", []string{"run", "--in", "x.npy", "--out", "y.npy", "--p", "0.5", "--fast"}},
		{"extra argument", []string{"run", "--in", "x.npy", "--out", "y.npy", "--p", "0.5", "more"}},
		{"backward no mask or seed", bwd},
		{"backward mask and seed", append(bwd, "--mask", "bits1.npy", "--seed", "1")},
		{"backward offset with mask", append(bwd, "--mask", "bits1.npy", "--offset", "1")},
		{"backward missing mask", append(bwd, "--mask", "nope.npy")},
		{"backward bits wrong length", append(bwd, "--mask", "bits3.npy")},
		{"backward bits padding", append(bwd, "--mask", "bitspad.npy")},
		{"backward bytes not 0/1", append(bwd, "--mask", "bytes2.npy", "--mask-format", "bytes")},
		{"backward bytes wrong shape", append(bwd, "--mask", "bytesflat.npy", "--mask-format", "bytes")},
		{"backward bytes for bits", append(bwd, "--mask", "bytesflat.npy")},
		{"backward float mask", append(bwd, "--mask", "fmask.npy", "--mask-format", "bytes")},
		{"backward mask-format without mask", append(bwd, "--seed", "1", "--mask-format", "bytes")},
		{"backward int grad", []string{"backward", "--grad", "int32.npy", "--out", "dx.npy", "--p", "0.5", "--seed", "1"}},
		{"backward noise mismatch", append(bwd, "--seed", "1", "--noise-shape", "3,1")},
		{"verify unknown backend", []string{"verify", "--backend", "cuda"}},
		{"bench bad sizes", []string{"bench", "--sizes", "1M,lots"}},
		{"bench bad p", []string{"bench", "--p", "2"}},
		{"bench bad mask format", []string{"bench", "--mask-format", "nibbles"}},
		{"bench bad iters", []string{"bench", "--iters", "0"}},
		{"bench iters underscore", []string{"bench", "--iters", "1_0"}},
		{"bench compare", []string{"bench", "--compare", "jax"}},
		{"bench plot format", []string{"bench", "--plot", "bench.gif"}},
		{"bench unknown backend", []string{"bench", "--backend", "cpu,cuda", "--sizes", "1K"}},
		{"no command", nil},
		{"unknown command", []string{"train"}},
	}
	var text strings.Builder
	for _, tc := range cases {
		r := cli(t, dir, tc.args...)
		if r.err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		msg := r.err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("%s: error spans lines: %q", tc.name, msg)
		}
		if r.stdout != "" {
			t.Errorf("%s: stdout %q", tc.name, r.stdout)
		}
		fmt.Fprintf(&text, "%s: %s\n", tc.name, strings.ReplaceAll(msg, dir, "$DIR"))
		if got := files(t, dir); !slices.Equal(got, inputs) {
			t.Fatalf("%s: files after the error %v, want only the inputs %v", tc.name, got, inputs)
		}
	}
	golden(t, "errors", text.String())
}

// fakeDriver is a backend driver with fixed devices, for deterministic
// device listings, and optionally broken output, to see verify fail.
type fakeDriver struct {
	name   string
	devs   []dropout.DeviceInfo
	err    error
	broken bool
}

func (d fakeDriver) Name() string { return d.name }
func (d fakeDriver) Devices() ([]dropout.DeviceInfo, error) {
	return d.devs, d.err
}
func (d fakeDriver) Open(opts dropout.Options) (dropout.Backend, error) {
	if d.err != nil {
		return nil, d.err
	}
	return fakeBackend{Backend: cpu.New(opts), name: d.name, dev: d.devs[0], broken: d.broken}, nil
}

type fakeBackend struct {
	dropout.Backend
	name   string
	dev    dropout.DeviceInfo
	broken bool
}

func (b fakeBackend) Name() string               { return b.name }
func (b fakeBackend) Device() dropout.DeviceInfo { return b.dev }
func (b fakeBackend) Forward(dst, x, mask dropout.Tensor, p dropout.Params) error {
	if err := b.Backend.Forward(dst, x, mask, p); err != nil {
		return err
	}
	if y, ok := dst.(dropout.Float32s); b.broken && ok && len(y) > 2 {
		y[2] = -y[2] + 1 // one wrong element
	}
	return nil
}

func fakeRegistry() dropout.Registry {
	gpu := dropout.DeviceInfo{Backend: "fakegpu", Name: "Test GPU 9000", Platform: "Test Platform", Kind: dropout.KindGPU, Memory: 8 << 30, MaxAlloc: 2 << 30,
		Caps: dropout.Capabilities{DTypes: []dropout.DType{dropout.Float32, dropout.Float16}, MaskFormats: dropout.AllMaskFormats(), NoiseShape: true, Alpha: true, Fused: true, Regions: true, Foreign: true}}
	emu := dropout.DeviceInfo{Backend: "fakeemu", Name: "Emulated Device", Kind: dropout.KindCPU, Emulated: true, Memory: 1 << 30, MaxAlloc: 256 << 20,
		Caps: dropout.Capabilities{DTypes: []dropout.DType{dropout.Float32}, MaskFormats: []dropout.MaskFormat{dropout.MaskNone}, MaxElements: 1 << 20}}
	return dropout.Registry{
		fakeDriver{name: "fakegpu", devs: []dropout.DeviceInfo{gpu}},
		fakeDriver{name: "fakeemu", devs: []dropout.DeviceInfo{emu}, broken: true},
		fakeDriver{name: "missing", err: &dropout.UnavailableError{Backend: "missing", Reason: "no ICD loader found", Fix: "apt install ocl-icd-libopencl1"}},
	}
}

func withRegistry(t *testing.T, r func() dropout.Registry) {
	old := registry
	registry = r
	t.Cleanup(func() { registry = old })
}

func TestDevices(t *testing.T) {
	dir := t.TempDir()
	// The real registry: structure only, since devices differ by machine.
	r := cli(t, dir, "devices", "--json")
	if r.err != nil {
		t.Fatal(r.err)
	}
	var bs []backendJSON
	if err := json.Unmarshal([]byte(r.stdout), &bs); err != nil {
		t.Fatalf("devices --json: %v\n%s", err, r.stdout)
	}
	names := map[string]bool{}
	for _, b := range bs {
		names[b.Backend] = true
		if b.Available == (b.Reason != "") || b.Available != (len(b.Devices) > 0) {
			t.Errorf("inconsistent entry %+v", b)
		}
	}
	for _, n := range registry().Names() {
		if !names[n] {
			t.Errorf("devices --json lacks backend %s", n)
		}
	}
	if !names["reference"] || !names["cpu"] {
		t.Errorf("backends %v", names)
	}
	r = cli(t, dir, "-devices") // not a command
	if r.err == nil {
		t.Error("-devices accepted as a command")
	}
	r = cli(t, dir, "devices")
	if r.err != nil || !strings.HasPrefix(r.stdout, "BACKEND") || !strings.Contains(r.stdout, "reference") {
		t.Errorf("devices table: %v\n%s", r.err, r.stdout)
	}

	// Fixed devices: golden.
	withRegistry(t, fakeRegistry)
	var text strings.Builder
	for _, args := range [][]string{{"devices"}, {"-devices=false"}, {"devices", "-json"}} {
		if args[0] != "devices" {
			continue
		}
		r := cli(t, dir, args...)
		if r.err != nil {
			t.Fatal(r.err)
		}
		text.WriteString(r.golden())
	}
	golden(t, "devices", text.String())
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	for _, b := range []string{"reference", "cpu"} {
		r := cli(t, dir, "verify", "--backend", b)
		if r.err != nil {
			t.Fatalf("%s: %v\n%s", b, r.err, r.stdout)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != len(verify.Checks())+2 || !strings.HasPrefix(lines[0], "BACKEND") {
			t.Errorf("%s: table\n%s", b, r.stdout)
		}
		for _, l := range lines[1 : len(lines)-1] {
			if f := strings.Fields(l); f[0] != b || !strings.Contains(l, "  ok  ") {
				t.Errorf("%s: row %q", b, l)
			}
		}
	}
	// --backend all --json on this machine: structure, not text.
	r := cli(t, dir, "verify", "--backend", "all", "--json")
	var v struct {
		Pass     bool            `json:"pass"`
		Failed   int             `json:"failed"`
		Backends []verifyBackend `json:"backends"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, r.stdout)
	}
	if (r.err == nil) != v.Pass || (v.Failed == 0) != v.Pass {
		t.Errorf("verify: error %v but pass=%v failed=%d", r.err, v.Pass, v.Failed)
	}
	seen := map[string]bool{}
	for _, b := range v.Backends {
		seen[b.Backend] = true
		if b.Available && len(b.Results) != len(verify.Checks()) || !b.Available && b.Reason == "" {
			t.Errorf("backend %s: available=%v, %d results, reason %q", b.Backend, b.Available, len(b.Results), b.Reason)
		}
		if b.Backend == "reference" || b.Backend == "cpu" {
			for _, res := range b.Results {
				if !res.Pass {
					t.Errorf("%s: %s failed: %s", b.Backend, res.Check, res.Detail)
				}
			}
		}
	}
	if len(seen) != len(registry()) {
		t.Errorf("verify --backend all listed %v, want every backend of %v", seen, registry().Names())
	}

	// A broken backend fails, with exit status non-zero; an unavailable
	// one is listed with its reason.
	withRegistry(t, fakeRegistry)
	r = cli(t, dir, "verify")
	if r.err == nil || !strings.Contains(r.errString(), "check(s) failed") {
		t.Errorf("verify passed a broken backend: %v\n%s", r.err, r.stdout)
	}
	if !regexp.MustCompile(`fakeemu +bit-exact forward vs reference +FAIL`).MatchString(r.stdout) ||
		!regexp.MustCompile(`missing +- +unavailable +- +no ICD loader found \(apt install ocl-icd-libopencl1\)`).MatchString(r.stdout) ||
		!regexp.MustCompile(`fakegpu +stream contract +ok`).MatchString(r.stdout) {
		t.Errorf("verify table:\n%s", r.stdout)
	}
	r = cli(t, dir, "verify", "--backend", "missing")
	if r.err == nil || !strings.Contains(r.errString(), "no ICD loader found") {
		t.Errorf("verify of an unavailable backend by name: %v", r.err)
	}
}

func TestBench(t *testing.T) {
	dir := t.TempDir()
	r := cli(t, dir, "bench", "--backend", "reference,cpu", "--sizes", "4K,16K", "--iters", "3", "--p", "0.25", "--mask-format", "bits",
		"--json", "b.json", "--csv", "b.csv", "--plot", "b.png")
	if r.err != nil {
		t.Fatal(r.err)
	}
	lines := strings.Split(r.stdout, "\n")
	if !strings.HasPrefix(lines[0], "BACKEND") || !strings.Contains(r.stdout, "host=device") || !strings.Contains(r.stdout, "8.125 bytes per element") {
		t.Errorf("bench table:\n%s", r.stdout)
	}
	if want := "dropout: wrote b.json\ndropout: wrote b.csv\ndropout: wrote b.png\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	var rep struct {
		P    float64 `json:"p"`
		Rows []struct {
			Backend string  `json:"backend"`
			Size    int     `json:"size"`
			GBps    float64 `json:"gb_per_s"`
			VsRef   float64 `json:"speedup_vs_reference"`
		} `json:"rows"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "b.json"))
	if err := json.Unmarshal(b, &rep); err != nil || rep.P != 0.25 || len(rep.Rows) != 4 {
		t.Errorf("b.json: %v %+v", err, rep)
	}
	for _, row := range rep.Rows {
		if row.GBps <= 0 || row.VsRef <= 0 {
			t.Errorf("row %+v", row)
		}
	}
	f, _ := os.Open(filepath.Join(dir, "b.csv"))
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != 5 {
		t.Errorf("b.csv: %v %v", err, recs)
	}
	png, _ := os.ReadFile(filepath.Join(dir, "b.png"))
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n")) {
		t.Error("b.png is not a PNG")
	}
	if got := files(t, dir); !slices.Equal(got, []string{"b.csv", "b.json", "b.png"}) {
		t.Errorf("files %v", got)
	}
	// "all" caps the reference and lists unavailable backends.
	withRegistry(t, fakeRegistry)
	r = cli(t, dir, "bench", "--sizes", "1K", "--iters", "1")
	if r.err != nil || !strings.Contains(r.stdout, "note: missing unavailable: no ICD loader found") ||
		!regexp.MustCompile(`(?m)^fakegpu +Test GPU 9000 +host=device +1K`).MatchString(r.stdout) {
		t.Errorf("bench all: %v\n%s", r.err, r.stdout)
	}
}

func TestVersionAndUsage(t *testing.T) {
	dir := t.TempDir()
	r := cli(t, dir, "version")
	if r.err != nil || !regexp.MustCompile(`^dropout \S+.* go\S+ \w+/\w+\n$`).MatchString(r.stdout) {
		t.Errorf("version: %v %q", r.err, r.stdout)
	}
	r = cli(t, dir, "help")
	if r.err != nil || !strings.Contains(r.stdout, "verify") {
		t.Errorf("help: %v %q", r.err, r.stdout)
	}
	r = cli(t, dir, "run", "-h")
	if !errors.Is(r.err, flag.ErrHelp) || !strings.Contains(r.stderr, "--mask-format") && !strings.Contains(r.stderr, "-mask-format") {
		t.Errorf("run -h: %v %q", r.err, r.stderr)
	}
}

// TestProgressOnTerminal pretends stderr is a terminal: verify and bench
// then draw a progress bar there, and stdout is unchanged.
func TestProgressOnTerminal(t *testing.T) {
	old := termIsTerminal
	termIsTerminal = func(int) bool { return true }
	defer func() { termIsTerminal = old }()
	dir := t.TempDir()
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	var out bytes.Buffer
	if err := run(&out, errf, []string{"bench", "--backend", "cpu", "--sizes", "1K", "--iters", "1"}); err != nil {
		t.Fatal(err)
	}
	if err := run(&out, errf, []string{"verify", "--backend", "cpu"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(errf.Name())
	for _, s := range []string{"bench cpu", "verify cpu", "%"} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("no progress bar %q on the terminal: %q", s, b)
		}
	}
	if bytes.Contains(out.Bytes(), []byte("%|")) || !bytes.HasPrefix(out.Bytes(), []byte("BACKEND")) {
		t.Errorf("progress on stdout: %q", out.String())
	}
}
