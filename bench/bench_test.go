package bench

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/backends"
	"github.com/gpudropout/dropout/cpu"
)

func TestParseSizes(t *testing.T) {
	got, err := ParseSizes("1M, 16M,4K,100,1G")
	want := []int{1 << 20, 16 << 20, 4096, 100, 1 << 30}
	if err != nil || len(got) != len(want) {
		t.Fatalf("%v %v", got, err)
	}
	for i := range got {
		if got[i] != want[i] || FormatSize(want[i]) != []string{"1M", "16M", "4K", "100", "1G"}[i] {
			t.Errorf("size %d: %d (%s), want %d", i, got[i], FormatSize(got[i]), want[i])
		}
	}
	for _, bad := range []string{"", "x", "-1M", "0", "1T", "1.5M", "99999999999G"} {
		if _, err := ParseSizes(bad); err == nil {
			t.Errorf("ParseSizes(%q) succeeded", bad)
		}
	}
	if m := Median([]time.Duration{5, 1, 3}); m != 3 {
		t.Errorf("median %v", m)
	}
	if m := Median([]time.Duration{4, 1, 3, 2}); m != 2 {
		t.Errorf("median %v", m)
	}
}

func TestRun(t *testing.T) {
	var steps []string
	rep, err := Run(Config{
		Registry: backends.Registry(),
		Backends: []string{"all"},
		Sizes:    []int{1 << 10, 1 << 12},
		P:        0.5,
		Mask:     dropout.MaskBits,
		Iters:    3,
		RefMax:   1 << 10,
		Progress: func(done, total int, desc string) { steps = append(steps, desc) },
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range rep.Rows {
		seen[r.Backend]++
		if r.Seconds <= 0 || r.GBps <= 0 || r.CopyGBps <= 0 || r.ElemsPerSec <= 0 {
			t.Errorf("bad row %+v", r)
		}
		if r.Backend == "cpu" && (r.Mode != ModeSame || r.VsCPU != 1) {
			t.Errorf("cpu row %+v", r)
		}
		if r.Backend == "reference" && r.Size > 1<<10 {
			t.Errorf("reference ran above RefMax: %+v", r)
		}
		if want := r.GBps / r.CopyGBps; r.OfCopy != want {
			t.Errorf("fraction of copy %v, want %v", r.OfCopy, want)
		}
	}
	if seen["reference"] != 1 || seen["cpu"] != 2 {
		t.Errorf("rows per backend %v", seen)
	}
	if len(steps) == 0 || steps[len(steps)-1] != "done" {
		t.Errorf("progress steps %v", steps)
	}
	var tab bytes.Buffer
	rep.WriteTable(&tab)
	for _, s := range []string{"BACKEND", "reference skipped at 4K", "host=device", "8.125 bytes per element"} {
		if !strings.Contains(tab.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, tab.String())
		}
	}
	var js bytes.Buffer
	rep.WriteJSON(&js)
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Rows) != len(rep.Rows) {
		t.Errorf("JSON: %v", err)
	}
	var cs bytes.Buffer
	rep.WriteCSV(&cs)
	recs, err := csv.NewReader(&cs).ReadAll()
	if err != nil || len(recs) != len(rep.Rows)+1 || recs[0][0] != "backend" {
		t.Errorf("CSV: %v %v", recs, err)
	}
	png := filepath.Join(t.TempDir(), "b.png")
	if err := rep.Plot(png); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(png); len(b) < 1000 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("plot is not a PNG (%d bytes)", len(b))
	}
}

func TestSelect(t *testing.T) {
	reg := dropout.Registry{unavailable{}, cpu.ReferenceDriver{}, cpu.Driver{}}
	run, _, notes, err := Select(reg, nil)
	if err != nil || strings.Join(run, ",") != "reference,cpu" || len(notes) != 1 || !strings.Contains(notes[0], "gone unavailable: no such thing (install it)") {
		t.Errorf("all: %v %v %v", run, notes, err)
	}
	run, ex, _, err := Select(reg, []string{"cpu", "reference"})
	if err != nil || strings.Join(run, ",") != "cpu,reference" || !ex["reference"] {
		t.Errorf("list: %v %v", run, err)
	}
	if _, _, _, err := Select(reg, []string{"gone"}); err == nil || !strings.Contains(err.Error(), "no such thing") {
		t.Errorf("unavailable by name: %v", err)
	}
	if _, _, _, err := Select(reg, []string{"nope"}); !errors.Is(err, dropout.ErrUnknownBackend) {
		t.Errorf("unknown: %v", err)
	}
}

type unavailable struct{}

func (unavailable) Name() string { return "gone" }
func (unavailable) Devices() ([]dropout.DeviceInfo, error) {
	return nil, &dropout.UnavailableError{Backend: "gone", Reason: "no such thing", Fix: "install it"}
}
func (unavailable) Open(dropout.Options) (dropout.Backend, error) {
	_, err := unavailable{}.Devices()
	return nil, err
}

func TestTorchMissing(t *testing.T) {
	r := runTorch(Config{Sizes: []int{16}, P: 0.5, Iters: 1, Warmup: 1, Python: []string{"/nonexistent/python3"}})
	if !strings.Contains(r.Err, "not importable") || !strings.Contains(r.Err, "/nonexistent/python3: not found") {
		t.Errorf("torch error %q", r.Err)
	}
	if !strings.Contains(torchScript, "torch.nn.functional") {
		t.Error("torch script not embedded")
	}
}

// BenchmarkForward measures float32 forward dropout (p=0.5, bit mask) on
// device-resident buffers of every available backend.
func BenchmarkForward(b *testing.B) {
	for _, st := range backends.Available() {
		if st.Err != nil {
			continue
		}
		be, err := backends.Open(st.Name, dropout.Options{})
		if err != nil {
			continue
		}
		for _, n := range []int{1 << 20, 16 << 20} {
			if st.Name == "reference" && n > 1<<20 {
				continue
			}
			b.Run(st.Name+"/"+FormatSize(n), func(b *testing.B) {
				x, _ := be.Alloc(dropout.Float32, n)
				y, _ := be.Alloc(dropout.Float32, n)
				m, _ := be.Alloc(dropout.Uint8, dropout.MaskBits.Bytes(n))
				defer x.Release()
				defer y.Release()
				defer m.Release()
				b.SetBytes(int64(BytesPerElement(dropout.MaskBits) * float64(n)))
				p := dropout.Params{P: 0.5, Seed: 1, Mask: dropout.MaskBits}
				for b.Loop() {
					if err := be.Forward(y, x, m, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		be.Close()
	}
}

// devBackend is a cpu backend whose buffers are not host buffers, as a GPU
// backend's are: the harness must measure it device-resident and host
// round trip separately.
type devBackend struct{ dropout.Backend }

type devBuf struct{ dropout.Buffer }

func unwrap(t dropout.Tensor) dropout.Tensor {
	if d, ok := t.(devBuf); ok {
		return d.Buffer
	}
	return t
}

func (d devBackend) Name() string { return "fakegpu" }
func (d devBackend) Device() dropout.DeviceInfo {
	return dropout.DeviceInfo{Backend: "fakegpu", Name: "Fake GPU", Kind: dropout.KindGPU}
}
func (d devBackend) Alloc(dt dropout.DType, n int) (dropout.Buffer, error) {
	b, err := d.Backend.Alloc(dt, n)
	return devBuf{b}, err
}
func (d devBackend) Forward(dst, x, mask dropout.Tensor, p dropout.Params) error {
	return d.Backend.Forward(unwrap(dst), unwrap(x), unwrap(mask), p)
}
func (d devBackend) Copy(dst, src dropout.Tensor) error {
	return d.Backend.Copy(unwrap(dst), unwrap(src))
}

type devDriver struct{}

func (devDriver) Name() string { return "fakegpu" }
func (devDriver) Devices() ([]dropout.DeviceInfo, error) {
	return []dropout.DeviceInfo{devBackend{}.Device()}, nil
}
func (devDriver) Open(dropout.Options) (dropout.Backend, error) {
	return devBackend{cpu.New(dropout.Options{})}, nil
}

func TestDeviceAndHostModes(t *testing.T) {
	rep, err := Run(Config{
		Registry: dropout.Registry{devDriver{}, cpu.Driver{}},
		Sizes:    []int{1 << 12},
		P:        0.5,
		Mask:     dropout.MaskBytes,
		Iters:    2,
	})
	if err != nil {
		t.Fatal(err)
	}
	var modes []string
	for _, r := range rep.Rows {
		modes = append(modes, r.Backend+":"+r.Mode)
		if r.Backend == "fakegpu" && (r.VsCPU <= 0 || r.Kind != "GPU") {
			t.Errorf("row %+v", r)
		}
	}
	if got := strings.Join(modes, ","); got != "fakegpu:device,fakegpu:host,cpu:host=device" {
		t.Errorf("modes %s", got)
	}
	if rep.BytesPerElt != 9 {
		t.Errorf("bytes per element %v with a byte mask", rep.BytesPerElt)
	}
}

// TestTorch runs the torch comparison for real where some python3 imports
// torch, and checks that it says so plainly where none does.
func TestTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("imports torch")
	}
	r := runTorch(Config{Sizes: []int{1 << 10, 1 << 12}, P: 0.5, Iters: 2, Warmup: 1})
	if r.Err != "" {
		if !strings.HasPrefix(r.Err, "not importable, not compared (") {
			t.Errorf("torch error %q", r.Err)
		}
		t.Logf("torch unavailable here: %s", r.Err)
		return
	}
	if r.Version == "" || r.Device == "" || len(r.Results) != 2 || r.Python == "" {
		t.Fatalf("torch result %+v", r)
	}
	for _, res := range r.Results {
		row := torchRow(r, res, Config{Iters: 2})
		if row.Seconds <= 0 || row.GBps <= 0 || row.CopyGBps <= 0 || row.Backend != "torch" {
			t.Errorf("torch row %+v", row)
		}
	}
}

// oomBackend fails above 1K elements, as a device out of memory does.
type oomBackend struct{ devBackend }

func (oomBackend) Name() string { return "oom" }
func (o oomBackend) Alloc(dt dropout.DType, n int) (dropout.Buffer, error) {
	if n > 1<<10 {
		return nil, dropout.ErrOutOfMemory
	}
	return o.devBackend.Alloc(dt, n)
}

type oomDriver struct{}

func (oomDriver) Name() string                           { return "oom" }
func (oomDriver) Devices() ([]dropout.DeviceInfo, error) { return devDriver{}.Devices() }
func (oomDriver) Open(dropout.Options) (dropout.Backend, error) {
	return oomBackend{devBackend{cpu.New(dropout.Options{})}}, nil
}

func TestFailedMeasurement(t *testing.T) {
	rep, err := Run(Config{Registry: dropout.Registry{oomDriver{}, cpu.Driver{}}, Sizes: []int{1 << 10, 1 << 12}, Iters: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], "oom at 4K: out of memory") || len(rep.Rows) != 4 {
		t.Errorf("errors %q, %d rows", rep.Errors, len(rep.Rows))
	}
	var tab bytes.Buffer
	rep.WriteTable(&tab)
	if !strings.Contains(tab.String(), "error: oom at 4K") {
		t.Errorf("table lacks the error:\n%s", tab.String())
	}
}

// capsDriver opens a cpu backend whose device states it takes no bit masks.
type capsDriver struct{}

func (capsDriver) Name() string { return "nobits" }
func (capsDriver) Devices() ([]dropout.DeviceInfo, error) {
	return []dropout.DeviceInfo{capsBackend{}.Device()}, nil
}
func (capsDriver) Open(dropout.Options) (dropout.Backend, error) {
	return capsBackend{cpu.New(dropout.Options{})}, nil
}

type capsBackend struct{ dropout.Backend }

func (capsBackend) Name() string { return "nobits" }
func (capsBackend) Device() dropout.DeviceInfo {
	return dropout.DeviceInfo{Backend: "nobits", Name: "no bits", Kind: dropout.KindCPU,
		Caps: dropout.Capabilities{DTypes: []dropout.DType{dropout.Float32}, MaskFormats: []dropout.MaskFormat{dropout.MaskNone}}}
}

// TestSkipByCapabilities: a device whose capabilities exclude the run's
// mask format is skipped with the reason, not measured into an error.
func TestSkipByCapabilities(t *testing.T) {
	rep, err := Run(Config{Registry: dropout.Registry{capsDriver{}, cpu.Driver{}}, Sizes: []int{1 << 10}, Iters: 1, Mask: dropout.MaskBits})
	if err != nil {
		t.Fatal(err)
	}
	skipped := false
	for _, n := range rep.Notes {
		skipped = skipped || strings.Contains(n, "nobits: skipped: the bits mask format is not supported")
	}
	for _, r := range rep.Rows {
		if r.Backend == "nobits" {
			t.Errorf("measured a device that cannot run the call: %+v", r)
		}
	}
	if !skipped || len(rep.Errors) != 0 {
		t.Errorf("notes %q, errors %q", rep.Notes, rep.Errors)
	}
}
