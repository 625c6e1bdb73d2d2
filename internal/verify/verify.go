// Package verify holds the checks a user runs to trust a backend on a
// device (`dropout verify`): agreement with the stream contract and, bit for
// bit, with the reference backend on random data over several sizes, drop
// probabilities, offsets and mask formats; backward from a stored and from a
// regenerated mask; noise shapes; device-resident buffers; the keep rate
// inside its binomial bound; and the seed document's mean-sum check (its
// 10-element example over 10,000 trials drawn from one Generator, and a large
// random tensor), with tolerances derived from the variance
// (dropouttest.Z standard deviations, about 4.9). Then, where the device's
// capabilities claim them (a check of a missing feature is reported as
// skipped, with the reason): float16 and bfloat16 data, alpha dropout (bit
// for bit, and its moments), the fused bias + dropout + residual op, and
// regions (random partitions reassembled against one global call).
package verify

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/dropouttest"
)

// Config sizes the checks. The zero value means Default.
type Config struct {
	Sizes   []int     // sizes of the bit-exact grid
	Large   int       // one large size checked at p = 0.5 (0: none)
	Ps      []float64 // drop probabilities of the grid
	Offsets []uint64  // stream offsets of the grid
	KeepN   int       // elements of each keep-rate check
	KeepPs  []float64 // drop probabilities of the keep-rate checks
	Trials  int       // trials of the seed document's example
	SumN    int       // elements of the large mean-sum check
}

// Default is the configuration `dropout verify` runs.
var Default = Config{
	Sizes:   []int{0, 1, 3, 5, 33, 1023, 1<<16 + 3},
	Large:   1<<20 + 3,
	Ps:      []float64{0, 1e-9, 0.1, 0.5, 0.9, 1},
	Offsets: []uint64{0, 6, 1<<32 - 3},
	KeepN:   1 << 22,
	KeepPs:  []float64{0.1, 0.5, 0.9},
	Trials:  10_000,
	SumN:    1 << 22,
}

// Result is one check on one backend.
type Result struct {
	Backend string        `json:"backend"`
	Device  string        `json:"device"`
	Check   string        `json:"check"`
	Pass    bool          `json:"pass"`
	Skipped bool          `json:"skipped,omitempty"` // the device lacks the feature: Detail says which`
	Detail  string        `json:"detail"`
	Time    time.Duration `json:"time_ns"`
}

type check struct {
	name string
	run  func(b dropout.Backend, c *Config) (detail string, err error)
}

// failure is an error that means the backend got something wrong (as
// opposed to a check that could not run).
type failure struct{ msg string }

func (f failure) Error() string { return f.msg }

func fail(format string, a ...any) error { return failure{fmt.Sprintf(format, a...)} }

var checks = []check{
	{"stream contract", contract},
	{"bit-exact forward vs reference", forward},
	{"bit-exact backward vs reference", backward},
	{"noise shape vs reference", noise},
	{"device buffers", buffers},
	{"keep rate (binomial bound)", keepRate},
	{"mean sum: seed example, 10,000 trials", meanSum},
	{"mean sum: large random tensor", meanSumLarge},
	{"float16 vs reference", sixteen(dropout.Float16)},
	{"bfloat16 vs reference", sixteen(dropout.BFloat16)},
	{"alpha dropout: vs reference, moments", alpha},
	{"fused bias+dropout+residual vs reference", fused},
	{"regions: blocks reassemble to one call", regions},
}

// Checks returns the names of the checks, in the order Run runs them.
func Checks() []string {
	s := make([]string, len(checks))
	for i, c := range checks {
		s[i] = c.name
	}
	return s
}

// Run runs every check on b and returns one Result per check. progress,
// if not nil, is called after each check.
func Run(b dropout.Backend, cfg Config, progress func(Result)) []Result {
	if cfg.Sizes == nil {
		cfg = Default
	}
	dev := b.Device()
	var out []Result
	for _, c := range checks {
		start := time.Now()
		detail, err := safe(c.run, b, &cfg)
		r := Result{Backend: b.Name(), Device: dev.Name, Check: c.name, Pass: err == nil, Detail: detail, Time: time.Since(start)}
		if why, ok := isSkip(err); ok {
			r.Pass, r.Skipped, r.Detail = true, true, "skipped: "+why
		} else if err != nil {
			var f failure
			if errors.As(err, &f) {
				r.Detail = f.msg
			} else {
				r.Detail = "error: " + err.Error()
			}
		}
		out = append(out, r)
		if progress != nil {
			progress(r)
		}
	}
	return out
}

// safe runs a check, turning a panic in a backend into a failure.
func safe(f func(dropout.Backend, *Config) (string, error), b dropout.Backend, c *Config) (detail string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f(b, c)
}

// contract checks the backend's output and masks against the stream
// contract evaluated directly (dropout.Word, Threshold, Scale32), without
// going through the reference backend.
func contract(b dropout.Backend, c *Config) (string, error) {
	cases := 0
	for _, n := range []int{1, 4, 5, 37, 1000} {
		x := dropouttest.Data(dropout.Float32, n, uint64(n)).(dropout.Float32s)
		for _, p := range c.Ps {
			for _, off := range c.Offsets {
				pr := dropout.Params{P: p, Seed: 0x9e3779b97f4a7c15, Offset: off, Mask: dropout.MaskBits}
				y := make(dropout.Float32s, n)
				m := dropouttest.NewMask(dropout.MaskBits, n).(dropout.Bytes)
				if err := b.Forward(y, x, m, pr); err != nil {
					return "", err
				}
				t, s := dropout.Threshold(p), dropout.Scale32(p)
				for j := range n {
					keep := uint64(dropout.Word(pr.Seed, off+uint64(j))) >= t
					want := float32(0)
					if keep {
						want = x[j] * s
					}
					if got := m[j/8]>>(j%8)&1 == 1; got != keep {
						return "", fail("n=%d p=%v offset=%d: mask bit %d is %v, the contract says %v", n, p, off, j, got, keep)
					}
					if math.Float32bits(y[j]) != math.Float32bits(want) && !(y[j] != y[j] && want != want) {
						return "", fail("n=%d p=%v offset=%d: element %d is %v, the contract says %v", n, p, off, j, y[j], want)
					}
				}
				cases++
			}
		}
	}
	return fmt.Sprintf("%d cases match Philox4x32-10 words, threshold and scale", cases), nil
}

// compare is dropouttest.CompareForward, with a difference as a failure.
func compare(b dropout.Backend, x dropout.Tensor, p dropout.Params) error {
	err := dropouttest.CompareForward(b, x, p)
	if errors.Is(err, dropouttest.ErrMismatch) {
		return fail("%v", err)
	}
	return err
}

var formats = []dropout.MaskFormat{dropout.MaskNone, dropout.MaskBits, dropout.MaskBytes}

func isRef(b dropout.Backend) bool { return b.Name() == "reference" }

// typeNames names the grid's types as the verify table always has:
// "float32/64" for both.
func typeNames(dts []dropout.DType) string {
	if len(dts) == 2 {
		return "float32/64"
	}
	if len(dts) == 1 {
		return dts[0].String()
	}
	return "no types"
}

// dataTypes returns the data types of the grid (float32, float64) that the
// device supports, by its capabilities, and a note naming those skipped
// and why ("" when none is).
func dataTypes(b dropout.Backend) ([]dropout.DType, string) {
	caps := b.Device().Caps
	var run []dropout.DType
	note := ""
	for _, dt := range []dropout.DType{dropout.Float32, dropout.Float64} {
		if ok, why := caps.Supports(dt, dropout.MaskNone, false, false); ok {
			run = append(run, dt)
		} else {
			note += "; skipped: " + why
		}
	}
	return run, note
}

func forward(b dropout.Backend, c *Config) (string, error) {
	if isRef(b) {
		return "is the reference (checked against the stream contract)", nil
	}
	cases := 0
	dts, note := dataTypes(b)
	for _, dt := range dts {
		for _, n := range c.Sizes {
			x := dropouttest.Data(dt, n, uint64(n)+1)
			for _, p := range c.Ps {
				for _, off := range c.Offsets {
					for _, f := range formats {
						if err := compare(b, x, dropout.Params{P: p, Seed: 0x5eed + uint64(n), Offset: off, Mask: f}); err != nil {
							return "", err
						}
						cases++
					}
				}
			}
		}
		if c.Large > 0 {
			x := dropouttest.Data(dt, c.Large, 7)
			for _, f := range formats {
				if err := compare(b, x, dropout.Params{P: 0.5, Seed: 1<<32 + 7, Offset: 1<<32 + 3, Mask: f}); err != nil {
					return "", err
				}
				cases++
			}
		}
	}
	largest := c.Large
	for _, n := range c.Sizes {
		largest = max(largest, n)
	}
	return fmt.Sprintf("%d cases equal (%s, n up to %d, %d p, %d offsets, 3 mask formats)%s", cases, typeNames(dts), largest, len(c.Ps), len(c.Offsets), note), nil
}

func backward(b dropout.Backend, c *Config) (string, error) {
	cases := 0
	dts, note := dataTypes(b)
	for _, dt := range dts {
		for _, n := range c.Sizes {
			dy := dropouttest.Data(dt, n, 99)
			for _, p := range []float64{0, 0.1, 0.5, 1} {
				base := dropout.Params{P: p, Seed: 42, Offset: c.Offsets[len(c.Offsets)-1]}
				want := dropouttest.Zeros(dt, n)
				if err := cpu.NewReference().Backward(want, dy, nil, base); err != nil {
					return "", err
				}
				got := dropouttest.Zeros(dt, n)
				if err := b.Backward(got, dy, nil, base); err != nil {
					return "", err
				}
				if err := dropouttest.Equal(got, want); err != nil {
					return "", fail("%v n=%d p=%v regenerated: %v", dt, n, p, err)
				}
				cases++
				for _, f := range []dropout.MaskFormat{dropout.MaskBits, dropout.MaskBytes} {
					pm := base
					pm.Mask = f
					mask := dropouttest.NewMask(f, n)
					if err := b.Forward(dropouttest.Zeros(dt, n), dy, mask, pm); err != nil {
						return "", err
					}
					got := dropouttest.Zeros(dt, n)
					if err := b.Backward(got, dy, mask, pm); err != nil {
						return "", err
					}
					if err := dropouttest.Equal(got, want); err != nil {
						return "", fail("%v n=%d p=%v from a %v mask: %v", dt, n, p, f, err)
					}
					cases++
				}
			}
		}
	}
	return fmt.Sprintf("%d cases equal (regenerated and from bits/bytes masks)%s", cases, note), nil
}

func noise(b dropout.Backend, c *Config) (string, error) {
	cases := 0
	for _, tc := range []struct{ shape, noise []int }{
		{[]int{4, 33, 5}, []int{4, 1, 5}},
		{[]int{8, 16, 7, 7}, []int{8, 16, 1, 1}},
		{[]int{3, 1000}, []int{1, 1000}},
		{[]int{2, 3, 4}, []int{1, 1, 1}},
	} {
		n := 1
		for _, d := range tc.shape {
			n *= d
		}
		x := dropouttest.Data(dropout.Float32, n, 3)
		for _, f := range formats {
			p := dropout.Params{P: 0.3, Seed: 11, Offset: 5, Mask: f, Shape: tc.shape, NoiseShape: tc.noise}
			if isRef(b) {
				// Check the broadcast directly: element i uses mask element MaskIndex(i).
				if err := noiseDirect(x.(dropout.Float32s), p); err != nil {
					return "", err
				}
			} else if err := compare(b, x, p); err != nil {
				return "", err
			}
			cases++
		}
	}
	return fmt.Sprintf("%d cases equal (4 noise shapes, 3 mask formats)", cases), nil
}

func noiseDirect(x dropout.Float32s, p dropout.Params) error {
	y := make(dropout.Float32s, len(x))
	if err := cpu.NewReference().Forward(y, x, dropouttest.NewMask(p.Mask, p.MaskLen(len(x))), p); err != nil {
		return err
	}
	pl, err := driver.NewPlan(y, x, dropouttest.NewMask(p.Mask, p.MaskLen(len(x))), p)
	if err != nil {
		return err
	}
	for i := range x {
		j := uint64(pl.MaskIndex(i))
		want := float32(0)
		if dropout.Keep(p.Seed, p.Offset, j, p.P) {
			want = x[i] * pl.Scale32
		}
		if math.Float32bits(y[i]) != math.Float32bits(want) && !(y[i] != y[i] && want != want) {
			return fail("shape %v noise %v: element %d is %v, want %v", p.Shape, p.NoiseShape, i, y[i], want)
		}
	}
	return nil
}

func buffers(b dropout.Backend, c *Config) (string, error) {
	n := 1<<16 + 3
	x := dropouttest.Data(dropout.Float32, n, 5)
	p := dropout.Params{P: 0.25, Seed: 77, Offset: 1<<32 - 1, Mask: dropout.MaskBits}
	want := make(dropout.Float32s, n)
	wm := make(dropout.Bytes, p.Mask.Bytes(n))
	if err := cpu.NewReference().Forward(want, x, wm, p); err != nil {
		return "", err
	}
	bx, err := b.Alloc(dropout.Float32, n)
	if err != nil {
		return "", err
	}
	defer bx.Release()
	by, err := b.Alloc(dropout.Float32, n)
	if err != nil {
		return "", err
	}
	defer by.Release()
	bm, err := b.Alloc(dropout.Uint8, p.Mask.Bytes(n))
	if err != nil {
		return "", err
	}
	defer bm.Release()
	if err := bx.Write(x); err != nil {
		return "", err
	}
	if err := b.Forward(by, bx, bm, p); err != nil {
		return "", err
	}
	got := make(dropout.Float32s, n)
	gm := make(dropout.Bytes, len(wm))
	if err := by.Read(got); err != nil {
		return "", err
	}
	if err := bm.Read(gm); err != nil {
		return "", err
	}
	if err := dropouttest.Equal(got, want); err != nil {
		return "", fail("forward on buffers: %v", err)
	}
	if err := dropouttest.Equal(gm, wm); err != nil {
		return "", fail("mask buffer: %v", err)
	}
	// Copy, the bandwidth ceiling of the benchmarks, copies.
	if err := b.Copy(bx, by); err != nil {
		return "", err
	}
	if err := bx.Read(got); err != nil {
		return "", err
	}
	if err := dropouttest.Equal(got, want); err != nil {
		return "", fail("Copy: %v", err)
	}
	// Backward from the mask buffer, in place.
	if err := b.Backward(by, by, bm, p); err != nil {
		return "", err
	}
	if err := by.Read(got); err != nil {
		return "", err
	}
	for i := range got {
		w := float32(0)
		if wm[i/8]>>(i%8)&1 == 1 {
			w = want[i] * dropout.Scale32(p.P)
		}
		if math.Float32bits(got[i]) != math.Float32bits(w) && !(got[i] != got[i] && w != w) {
			return "", fail("backward on buffers: element %d is %v, want %v", i, got[i], w)
		}
	}
	return fmt.Sprintf("Alloc/Write/Forward/Copy/Backward/Read on %d elements equal", n), nil
}

func keepRate(b dropout.Backend, c *Config) (string, error) {
	var detail string
	for i, p := range c.KeepPs {
		ch, err := dropouttest.KeepRate(b, p, c.KeepN, 0x5eed+uint64(i))
		if err != nil {
			return "", err
		}
		if !ch.Pass {
			return "", fail("%v", ch)
		}
		if detail != "" {
			detail += "; "
		}
		detail += fmt.Sprintf("p=%v: %.0f kept, want %.0f ± %.0f", p, ch.Got, ch.Want, ch.Tol)
	}
	return fmt.Sprintf("n=%d, %s (%.1fσ)", c.KeepN, detail, dropouttest.Z()), nil
}

func meanSum(b dropout.Backend, c *Config) (string, error) {
	ch, err := dropouttest.MeanSum(b, dropouttest.SeedExample, 0.2, c.Trials, 2024)
	if err != nil {
		return "", err
	}
	var sum float64
	for _, v := range dropouttest.SeedExample {
		sum += float64(v)
	}
	d := fmt.Sprintf("p=0.2, %d trials: mean sum %.4f, initial sum %.4f, want %.4f ± %.4f (%.1fσ)",
		c.Trials, ch.Got, sum, ch.Want, ch.Tol, dropouttest.Z())
	if !ch.Pass {
		return "", fail("%s", d)
	}
	return d, nil
}

func meanSumLarge(b dropout.Backend, c *Config) (string, error) {
	ch, err := dropouttest.MeanSumLarge(b, c.SumN, 0.2, 99)
	if err != nil {
		return "", err
	}
	d := fmt.Sprintf("n=%d, p=0.2: sum %.1f, want %.1f ± %.1f (%.1fσ)", c.SumN, ch.Got, ch.Want, ch.Tol, dropouttest.Z())
	if !ch.Pass {
		return "", fail("%s", d)
	}
	return d, nil
}
