package verify

import (
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
)

var small = Config{
	Sizes:   []int{0, 1, 5, 33, 1023},
	Large:   1<<12 + 3,
	Ps:      []float64{0, 0.1, 0.5, 1},
	Offsets: []uint64{0, 1<<32 - 3},
	KeepN:   1 << 18,
	KeepPs:  []float64{0.5},
	Trials:  10_000,
	SumN:    1 << 18,
}

func TestGoodBackends(t *testing.T) {
	for _, b := range []dropout.Backend{cpu.NewReference(), cpu.New(dropout.Options{})} {
		rs := Run(b, small, nil)
		if len(rs) != len(Checks()) {
			t.Fatalf("%d results, want %d", len(rs), len(Checks()))
		}
		for _, r := range rs {
			if !r.Pass || r.Detail == "" || r.Backend != b.Name() {
				t.Errorf("%s: %s: %v %s", r.Backend, r.Check, r.Pass, r.Detail)
			}
		}
	}
}

// offByOne flips the keep decision of one element in every forward call of
// 1000 or more elements, and scales everything by 1.3 when scale is set.
type broken struct {
	dropout.Backend
	scale bool
	p     float64
}

func (b broken) Name() string { return "broken" }

func (b broken) Forward(dst, x, mask dropout.Tensor, p dropout.Params) error {
	p.P += b.p
	if err := b.Backend.Forward(dst, x, mask, p); err != nil {
		return err
	}
	if y, ok := dst.(dropout.Float32s); ok {
		if len(y) >= 1000 {
			y[len(y)/2] = 12345
		}
		if b.scale {
			for i := range y {
				y[i] *= 1.3
			}
		}
	}
	return nil
}

func TestBrokenBackends(t *testing.T) {
	fails := func(b dropout.Backend) map[string]string {
		m := map[string]string{}
		for _, r := range Run(b, small, nil) {
			if !r.Pass {
				m[r.Check] = r.Detail
			}
		}
		return m
	}
	f := fails(broken{Backend: cpu.New(dropout.Options{})})
	for _, c := range []string{"stream contract", "bit-exact forward vs reference"} {
		if _, ok := f[c]; !ok {
			t.Errorf("%q passed a backend that corrupts an element", c)
		}
	}
	f = fails(broken{Backend: cpu.New(dropout.Options{}), scale: true})
	if d, ok := f["mean sum: seed example, 10,000 trials"]; !ok || !strings.Contains(d, "trials") {
		t.Errorf("the seed example passed a backend that scales by 1.3: %q", d)
	}
	f = fails(broken{Backend: cpu.New(dropout.Options{}), p: 0.01})
	if _, ok := f["keep rate (binomial bound)"]; !ok {
		t.Error("the keep rate passed a backend that drops 1% too many")
	}
}

// f32Only is a cpu backend whose device states float32 only, and refuses
// float64 as such a device would.
type f32Only struct{ dropout.Backend }

func (f32Only) Device() dropout.DeviceInfo {
	return dropout.DeviceInfo{Backend: "cpu", Name: "f32", Kind: dropout.KindCPU,
		Caps: dropout.Capabilities{DTypes: []dropout.DType{dropout.Float32}, MaskFormats: dropout.AllMaskFormats(), NoiseShape: true}}
}

func (b f32Only) Forward(dst, x, mask dropout.Tensor, p dropout.Params) error {
	if x.DType() != dropout.Float32 {
		return dropout.ErrDType
	}
	return b.Backend.Forward(dst, x, mask, p)
}

// TestCapabilitiesSkip: verify runs the types a device has and names the
// ones it skips, instead of failing on them.
func TestCapabilitiesSkip(t *testing.T) {
	for _, r := range Run(f32Only{cpu.New(dropout.Options{})}, small, nil) {
		if !r.Pass {
			t.Errorf("%s: %s", r.Check, r.Detail)
		}
		if strings.HasPrefix(r.Check, "bit-exact") && !strings.Contains(r.Detail, "skipped: float64 data is not supported") {
			t.Errorf("%s: %q does not name the skipped type", r.Check, r.Detail)
		}
	}
}

// TestNewChecksSkip: a device without 16-bit types, alpha, the fused op
// or regions has those checks skipped, each with its reason.
func TestNewChecksSkip(t *testing.T) {
	want := map[string]string{
		"float16 vs reference":                     "skipped: float16 data is not supported",
		"bfloat16 vs reference":                    "skipped: bfloat16 data is not supported",
		"alpha dropout: vs reference, moments":     "skipped: alpha dropout is not supported",
		"fused bias+dropout+residual vs reference": "skipped: the fused bias+dropout+residual op is not supported",
		"regions: blocks reassemble to one call":   "skipped: regions",
	}
	for _, r := range Run(f32Only{cpu.New(dropout.Options{})}, small, nil) {
		if w, ok := want[r.Check]; ok {
			delete(want, r.Check)
			if !r.Pass || !r.Skipped || !strings.HasPrefix(r.Detail, w) {
				t.Errorf("%s: pass=%v skipped=%v %q, want %q", r.Check, r.Pass, r.Skipped, r.Detail, w)
			}
		} else if r.Skipped {
			t.Errorf("%s skipped: %s", r.Check, r.Detail)
		}
	}
	for c := range want {
		t.Errorf("no check %q", c)
	}
}

// wrong16 corrupts one element of 16-bit and fused outputs, and shifts
// region calls by one element.
type wrong struct {
	dropout.Backend
}

func (w wrong) Name() string { return "wrong" }

func corrupt(t dropout.Tensor) {
	switch y := t.(type) {
	case dropout.Float16s:
		if len(y) > 30 {
			y[30] ^= 0x0400
		}
	case dropout.BFloat16s:
		if len(y) > 30 {
			y[30] ^= 0x0080
		}
	case dropout.Float32s:
		if len(y) > 30 {
			y[30] = 7
		}
	}
}

func (w wrong) Forward(dst, x, mask dropout.Tensor, p dropout.Params) error {
	if p.Global != nil && p.Start[0] > 0 {
		p.Start = append([]int{p.Start[0] - 1}, p.Start[1:]...)
	}
	if err := w.Backend.Forward(dst, x, mask, p); err != nil {
		return err
	}
	if dt := x.DType(); dt == dropout.Float16 || dt == dropout.BFloat16 || p.Alpha {
		corrupt(dst)
	}
	return nil
}

func (w wrong) ForwardFused(dst, x, bias, residual, mask dropout.Tensor, p dropout.Params) error {
	if err := dropout.ForwardFused(w.Backend, dst, x, bias, residual, mask, p); err != nil {
		return err
	}
	corrupt(dst)
	return nil
}

// TestNewChecksCatchWrongBackends: each new check fails a backend wrong
// in its feature.
func TestNewChecksCatchWrongBackends(t *testing.T) {
	failed := map[string]string{}
	for _, r := range Run(wrong{cpu.New(dropout.Options{})}, small, nil) {
		if !r.Pass {
			failed[r.Check] = r.Detail
		}
	}
	for _, c := range []string{"float16 vs reference", "bfloat16 vs reference", "alpha dropout: vs reference, moments",
		"fused bias+dropout+residual vs reference", "regions: blocks reassemble to one call"} {
		if _, ok := failed[c]; !ok {
			t.Errorf("%q passed a wrong backend", c)
		}
	}
}
