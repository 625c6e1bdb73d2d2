package bench

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"

	"github.com/gpudropout/dropout"
)

//go:embed torch_bench.py
var torchScript string

type torchResult struct {
	Torch
	CUDA    bool
	Timer   string // "cuda events" or "host clock"
	Results []torchTime
}

// torchTime is one size's medians: Median and Copy as the script's timer
// measured them (CUDA events on CUDA), Wall the host's time for the same
// calls.
type torchTime struct {
	Size   int     `json:"size"`
	Median float64 `json:"median_s"`
	Copy   float64 `json:"copy_s"`
	Wall   float64 `json:"wall_s"`
}

// TorchBytesPerElement is the traffic counted for one float32 element of
// torch.nn.functional.dropout: on CUDA its fused kernel (native_dropout)
// reads x and writes y and a bool mask, 4 + 4 + 1 bytes, though F.dropout
// returns only y; on the CPU it stores no mask, and 8 bytes are counted (its
// unfused noise tensor moves more).
func TorchBytesPerElement(cuda bool) float64 {
	if cuda {
		return 9
	}
	return 8
}

// DefaultPython are the interpreters tried for torch, in order: the one on
// PATH, then the system's (where Debian's python3-torch installs).
var DefaultPython = []string{"python3", "/usr/bin/python3"}

// runTorch times torch.nn.functional.dropout at cfg's sizes with the first
// interpreter that imports torch; Err says why none did.
func runTorch(cfg Config) *torchResult {
	pythons := cfg.Python
	if len(pythons) == 0 {
		pythons = DefaultPython
	}
	arg, _ := json.Marshal(map[string]any{"sizes": cfg.Sizes, "p": cfg.P, "iters": cfg.Iters, "warmup": cfg.Warmup})
	var why []string
	for _, py := range pythons {
		path, err := exec.LookPath(py)
		if err != nil {
			why = append(why, py+": not found")
			continue
		}
		var out, errb bytes.Buffer
		cmd := exec.Command(path, "-c", torchScript, string(arg))
		cmd.Stdout, cmd.Stderr = &out, &errb
		err = cmd.Run()
		var r torchResult
		if jerr := json.Unmarshal(lastLine(out.Bytes()), &r); jerr != nil {
			msg := strings.TrimSpace(lastLineOf(errb.String()))
			if msg == "" && err != nil {
				msg = err.Error()
			}
			why = append(why, fmt.Sprintf("%s: %s", py, msg))
			continue
		}
		if r.Err != "" {
			why = append(why, fmt.Sprintf("%s: %s", py, r.Err))
			continue
		}
		r.Python = path
		r.Device = strings.TrimSpace(r.Device)
		return &r
	}
	return &torchResult{Torch: Torch{Err: "not importable, not compared (" + strings.Join(why, "; ") + ")"}}
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func lastLineOf(s string) string { return string(lastLine([]byte(s))) }

func torchRow(t *torchResult, r torchTime, cfg Config) Row {
	n := float64(r.Size)
	gb := TorchBytesPerElement(t.CUDA) * n / r.Median / 1e9
	cp := 8 * n / r.Copy / 1e9
	kind, mode := dropout.KindCPU.String(), ModeSame
	if t.CUDA {
		kind, mode = dropout.KindGPU.String(), ModeDevice
	}
	return Row{Backend: "torch", Device: t.Device, Kind: kind, Mode: mode, Size: r.Size, Iters: cfg.Iters,
		Seconds: r.Median, ElemsPerSec: n / r.Median, GBps: gb, CopyGBps: cp, OfCopy: gb / cp}
}

// torchNote says how torch was timed and counted, with the host's medians
// where CUDA events timed it.
func torchNote(t *torchResult) string {
	s := fmt.Sprintf("torch %s on %s (%s): torch.nn.functional.dropout, one call at a time, each waited for, median by %s; its GB/s counts %g bytes per element",
		t.Version, t.Device, t.Python, t.Timer, TorchBytesPerElement(t.CUDA))
	if t.CUDA {
		s += " (x read, y and its bool mask written)"
		var w []string
		for _, r := range t.Results {
			w = append(w, FormatSize(r.Size)+" "+fmtDur(r.Wall))
		}
		s += "; host-clock medians, launch and wait included: " + strings.Join(w, ", ")
	}
	return s
}
