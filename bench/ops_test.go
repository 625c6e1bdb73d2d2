package bench

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
)

func TestParseOps(t *testing.T) {
	for s, want := range map[string]string{
		"forward": "", "": "", "all": "float16,bfloat16,alpha,fused", "fused,alpha,fused": "fused,alpha", "forward,float16": "float16",
	} {
		got, err := ParseOps(s)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("ParseOps(%q) = %q, %v; want %q", s, got, err, want)
		}
	}
	if _, err := ParseOps("fused,fft"); err == nil || !strings.Contains(err.Error(), `"fft"`) {
		t.Errorf("ParseOps of an unknown op: %v", err)
	}
}

// TestOps measures every op on cpu: a row each (two for fused), with the
// traffic each counts, the fraction of its floor, and the fused row's
// speed-up over the three passes.
func TestOps(t *testing.T) {
	rep, err := Run(Config{Registry: dropout.Registry{cpu.Driver{}}, Sizes: []int{1 << 12, 3000}, Iters: 2, Mask: dropout.MaskBits, P: 0.3, Ops: AllOps})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) > 0 {
		t.Fatal(rep.Errors)
	}
	bpe := map[string]float64{OpForward: 0, OpFloat16: 4.125, OpBFloat16: 4.125, OpAlpha: 8.125, OpFused: 12.125, OpPasses: 12.125}
	seen := map[string]int{}
	for _, r := range rep.Rows {
		seen[r.Op]++
		if r.BytesPerElt != bpe[r.Op] {
			t.Errorf("%s: %v bytes per element, want %v", r.OpName(), r.BytesPerElt, bpe[r.Op])
		}
		if r.GBps <= 0 || r.CopyGBps <= 0 || r.OfCopy != r.GBps/r.CopyGBps || r.VsCPU != 1 {
			t.Errorf("%s: %+v", r.OpName(), r)
		}
		if (r.Op == OpFused) != (r.VsPasses > 0) {
			t.Errorf("%s: speed-up over the passes %v", r.OpName(), r.VsPasses)
		}
	}
	for op := range bpe {
		if seen[op] != 2 {
			t.Errorf("%d rows of %q, want one per size", seen[op], op)
		}
	}
	var tab, csv bytes.Buffer
	rep.WriteTable(&tab)
	rep.WriteCSV(&csv)
	for _, s := range []string{"VS 3 PASSES", "3 passes", "bfloat16", "memory floor"} {
		if !strings.Contains(tab.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, tab.String())
		}
	}
	if !strings.Contains(csv.String(), ",fused,12.125,") {
		t.Errorf("csv:\n%s", csv.String())
	}
}

// TestOpsSkipByCapabilities: a device without the ops gets notes, no rows
// and no errors for them.
func TestOpsSkipByCapabilities(t *testing.T) {
	rep, err := Run(Config{Registry: dropout.Registry{capsDriver{}}, Sizes: []int{1 << 10}, Iters: 1, Ops: AllOps})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Rows {
		if r.Op != OpForward {
			t.Errorf("measured %s on a device without it", r.OpName())
		}
	}
	notes := strings.Join(rep.Notes, "\n")
	for _, s := range []string{"nobits: float16 skipped: float16 data is not supported", "nobits: alpha skipped: alpha dropout is not supported",
		"nobits: fused skipped: the fused bias+dropout+residual op is not supported"} {
		if !strings.Contains(notes, s) {
			t.Errorf("notes lack %q:\n%s", s, notes)
		}
	}
	if len(rep.Errors) != 0 {
		t.Error(rep.Errors)
	}
}
