package bench

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTorch points python3 at testdata/faketorch, a stand-in for torch
// whose device work advances a virtual clock, and returns the file its
// calls are logged to.
func fakeTorch(t *testing.T, cuda bool) (python, log string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("DROPOUT_REQUIRE_DEVICES") != "" {
			t.Fatal("python3 is required (make deps installs it)")
		}
		t.Skip("python3 not installed")
	}
	dir, err := filepath.Abs("testdata/faketorch")
	if err != nil {
		t.Fatal(err)
	}
	log = filepath.Join(t.TempDir(), "calls.log")
	t.Setenv("PYTHONPATH", dir)
	t.Setenv("FAKE_TORCH_LOG", log)
	c := "0"
	if cuda {
		c = "1"
	}
	t.Setenv("FAKE_TORCH_CUDA", c)
	return py, log
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

// TestTorchCUDAEvents: on CUDA, each timed call has its own pair of events
// and is waited for before the next; the median is of the per-call event
// times; the rows count 9 bytes per element.
func TestTorchCUDAEvents(t *testing.T) {
	py, log := fakeTorch(t, true)
	const iters = 5
	cfg := Config{Sizes: []int{1024, 4096}, P: 0.5, Iters: iters, Warmup: 1, Python: []string{py}}
	r := runTorch(cfg)
	if r.Err != "" {
		t.Fatal(r.Err)
	}
	if !r.CUDA || r.Timer != "cuda events" || r.Device != "cuda: Fake GPU" || r.Version != "0.0-fake" || len(r.Results) != 2 {
		t.Fatalf("torch result %+v", r)
	}
	for _, res := range r.Results {
		// The fake's durations: medians 3 and 6 ms per 1024 elements.
		scale := float64(res.Size) / 1024
		if !near(res.Median, 3e-3*scale) || !near(res.Copy, 6e-3*scale) || res.Wall <= 0 {
			t.Errorf("size %d: median %g s, copy %g s, wall %g s; want %g, %g and > 0", res.Size, res.Median, res.Copy, res.Wall, 3e-3*scale, 6e-3*scale)
		}
		row := torchRow(r, res, cfg)
		n := float64(res.Size)
		if row.Backend != "torch" || row.Mode != ModeDevice || !near(row.GBps, 9*n/res.Median/1e9) ||
			!near(row.CopyGBps, 8*n/res.Copy/1e9) || !near(row.ElemsPerSec, n/res.Median) {
			t.Errorf("row %+v: want 9 bytes per element for dropout, 8 for the copy", row)
		}
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	calls := strings.Join(strings.Fields(string(b)), " ")
	for _, op := range []string{"dropout", "copy"} {
		one := "record " + op + " record esync "
		if got := strings.Count(calls+" ", strings.Repeat(one, iters)); got != len(cfg.Sizes) {
			t.Errorf("%s: %d runs of %d event-bracketed, synchronised calls, want %d; calls: %s", op, got, iters, len(cfg.Sizes), calls)
		}
	}
	note := torchNote(r)
	for _, want := range []string{"cuda events", "9 bytes per element", "bool mask", "1K ", "4K "} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
}

// TestTorchCPU: without CUDA the host clock times each call and 8 bytes
// per element are counted.
func TestTorchCPU(t *testing.T) {
	py, _ := fakeTorch(t, false)
	cfg := Config{Sizes: []int{2048}, P: 0.5, Iters: 3, Warmup: 1, Python: []string{py}}
	r := runTorch(cfg)
	if r.Err != "" {
		t.Fatal(r.Err)
	}
	if r.CUDA || r.Timer != "host clock" || len(r.Results) != 1 {
		t.Fatalf("torch result %+v", r)
	}
	res := r.Results[0]
	row := torchRow(r, res, cfg)
	if res.Median <= 0 || row.Mode != ModeSame || !near(row.GBps, 8*2048/res.Median/1e9) {
		t.Errorf("row %+v from %+v: want 8 bytes per element, host=device", row, res)
	}
	if note := torchNote(r); !strings.Contains(note, "host clock") || !strings.Contains(note, "8 bytes per element") {
		t.Errorf("note %q", note)
	}
}

func TestTorchBytesPerElement(t *testing.T) {
	if TorchBytesPerElement(true) != 9 || TorchBytesPerElement(false) != 8 {
		t.Errorf("TorchBytesPerElement: %g on CUDA, %g on the CPU; want 9 and 8", TorchBytesPerElement(true), TorchBytesPerElement(false))
	}
}
