package bench

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/internal/memlimit"
)

type opened struct {
	b        dropout.Backend
	dev      dropout.DeviceInfo
	explicit bool // named in Config.Backends
	host     bool // Alloc returns host memory: one measurement mode
}

// runs reports whether o runs at size n under cfg.
func (o opened) runs(n int, cfg Config) bool {
	return !(o.b.Name() == "reference" && !o.explicit && n > cfg.RefMax)
}

// Select resolves Config.Backends against the registry: the drivers to
// run, whether each was named explicitly, and a note for each
// unavailable one. Unknown names are an error.
func Select(reg dropout.Registry, names []string) (run []string, explicit map[string]bool, notes []string, err error) {
	explicit = map[string]bool{}
	all := len(names) == 0
	for _, n := range names {
		if n == "all" {
			all = true
			continue
		}
		if _, err := reg.Lookup(n); err != nil {
			return nil, nil, nil, err
		}
		explicit[n] = true
	}
	for _, st := range reg.Available() {
		if !all && !explicit[st.Name] {
			continue
		}
		if st.Err != nil {
			notes = append(notes, fmt.Sprintf("%s unavailable: %s", st.Name, Reason(st.Err)))
			if !all {
				return nil, nil, notes, fmt.Errorf("backend %s is unavailable: %s", st.Name, Reason(st.Err))
			}
			continue
		}
		run = append(run, st.Name)
	}
	// Keep the user's order when the backends were listed.
	if !all {
		run = run[:0]
		for _, n := range names {
			if !slices.Contains(run, n) {
				run = append(run, n)
			}
		}
	}
	return run, explicit, notes, nil
}

// Reason is an unavailability error in a user's words: the
// UnavailableError's reason and fix, or the error itself.
func Reason(err error) string {
	var ue *dropout.UnavailableError
	if errors.As(err, &ue) {
		s := ue.Reason
		if ue.Fix != "" {
			s += " (" + ue.Fix + ")"
		}
		return s
	}
	return strings.TrimPrefix(err.Error(), "dropout: ")
}

// Run measures what cfg asks for.
func Run(cfg Config) (*Report, error) {
	if cfg.Iters <= 0 {
		cfg.Iters = 10
	}
	if cfg.Warmup < 0 {
		cfg.Warmup = 0
	} else if cfg.Warmup == 0 {
		cfg.Warmup = 1
	}
	if cfg.RefMax == 0 {
		cfg.RefMax = 16 << 20
	}
	if len(cfg.Sizes) == 0 {
		cfg.Sizes = DefaultSizes
	}
	if err := (dropout.Params{P: cfg.P, Mask: cfg.Mask}).Validate(0); err != nil {
		return nil, err
	}
	names, explicit, notes, err := Select(cfg.Registry, cfg.Backends)
	if err != nil {
		return nil, err
	}
	rep := &Report{P: cfg.P, Mask: cfg.Mask.String(), Iters: cfg.Iters, Warmup: cfg.Warmup, Sizes: cfg.Sizes,
		BytesPerElt: BytesPerElement(cfg.Mask), Notes: notes}
	var bs []opened
	defer func() {
		for _, o := range bs {
			o.b.Close()
		}
	}()
	for _, n := range names {
		b, err := cfg.Registry.Open(n, cfg.Options)
		if err != nil {
			if explicit[n] {
				return nil, fmt.Errorf("open %s: %w", n, err)
			}
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: cannot open: %s", n, Reason(err)))
			continue
		}
		o := opened{b: b, dev: b.Device(), explicit: explicit[n]}
		if ok, why := o.dev.Caps.Supports(dropout.Float32, cfg.Mask, false, false); !ok && len(o.dev.Caps.DTypes) > 0 {
			// A device that cannot run the benchmark's calls is skipped,
			// with the reason (a backend that states no capabilities is
			// measured and reports its own errors).
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: skipped: %s", n, why))
			b.Close()
			continue
		}
		if probe, err := b.Alloc(dropout.Float32, 1); err == nil {
			o.host = driver.IsHostBuffer(probe)
			probe.Release()
		}
		bs = append(bs, o)
	}
	// Every size's host memory is checked before anything is allocated:
	// a size that does not fit fails the run at once, with both numbers,
	// instead of the kernel killing it minutes later.
	lim := memLimit()
	for _, n := range cfg.Sizes {
		if err := lim.Check(dropout.ErrOutOfMemory, fmt.Sprintf("size %s (float32 input, output and mask buffers in host memory)", FormatSize(n)), hostNeed(n, cfg, bs)); err != nil {
			return nil, err
		}
	}
	total, done := 0, 0
	for _, n := range cfg.Sizes {
		for _, o := range bs {
			if o.runs(n, cfg) {
				total += 2 + opSteps(cfg.Ops)
				if !o.host {
					total++
				}
			}
		}
	}
	step := func(desc string) {
		if cfg.Progress != nil {
			cfg.Progress(done, total, desc)
		}
		done++
	}
	var torch *torchResult
	if cfg.Torch {
		total++
		step("torch (python3 subprocess)")
		torch = runTorch(cfg)
		rep.Torch = &torch.Torch
		if torch.Err != "" {
			rep.Notes = append(rep.Notes, "torch: "+torch.Err)
		} else {
			rep.Notes = append(rep.Notes, torchNote(torch))
		}
	}
	var skipped []string
	for _, n := range cfg.Sizes {
		x := make(dropout.Float32s, n)
		for i := range x {
			x[i] = float32(i%1024)/512 - 1
		}
		for _, o := range bs {
			if !o.runs(n, cfg) {
				skipped = append(skipped, FormatSize(n))
				continue
			}
			rows, err := measure(o, x, cfg, step)
			if err != nil {
				// Keep measuring the others; the report carries the failure.
				rep.Errors = append(rep.Errors, fmt.Sprintf("%s at %s: %s", o.b.Name(), FormatSize(n), Reason(err)))
				continue
			}
			rep.Rows = append(rep.Rows, rows...)
			if len(cfg.Ops) > 0 {
				rows, notes, err := measureOps(o, x, cfg, step)
				rep.Rows = append(rep.Rows, rows...)
				rep.Notes = appendNew(rep.Notes, notes...)
				if err != nil {
					rep.Errors = append(rep.Errors, fmt.Sprintf("%s at %s: %s", o.b.Name(), FormatSize(n), Reason(err)))
				}
			}
		}
		x = nil
		if torch != nil && torch.Err == "" {
			for _, t := range torch.Results {
				if t.Size == n {
					rep.Rows = append(rep.Rows, torchRow(torch, t, cfg))
				}
			}
		}
	}
	if len(skipped) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("reference skipped at %s: it is the slow oracle (name it in --backend to run it at every size)",
			strings.Join(skipped, ", ")))
	}
	if cfg.Progress != nil {
		cfg.Progress(total, total, "done")
	}
	speedups(rep.Rows)
	for _, o := range bs {
		if o.host {
			rep.Notes = append(rep.Notes, "CPU backends compute in host memory: device-resident and host round trip are the same measurement (mode host=device)")
			break
		}
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("GB/s counts %g bytes per element (4 read + 4 written + mask %s); copy GB/s is the backend's own Copy of the same size (8 bytes per element); median of %d iterations after %d warm-up",
		BytesPerElement(cfg.Mask), cfg.Mask, cfg.Iters, cfg.Warmup))
	return rep, nil
}

// memLimit tells how much host memory the benchmark may allocate.
var memLimit = memlimit.System

// hostNeed is the host memory measuring size n takes at its peak: the
// input slice, and for the backend that needs the most, its buffers when
// they are host memory (CPU backends, emulated devices) or else the host
// round trip's output and mask slices.
func hostNeed(n int, cfg Config, bs []opened) int64 {
	elems, mask := int64(n), int64(cfg.Mask.Bytes(n))
	most := int64(0)
	for _, o := range bs {
		if !o.runs(n, cfg) {
			continue
		}
		need := 4*elems + mask // device buffers; then host y and mask
		if o.host || o.dev.Kind == dropout.KindCPU || o.dev.Emulated {
			// The buffers (x, y and the mask) are host memory, even
			// where a driver calls them device memory.
			need = 8*elems + mask
		}
		most = max(most, need)
	}
	return 4*elems + most + opsNeed(n, cfg.Ops)
}

// measure times forward and copy on one backend at one size.
func measure(o opened, x dropout.Float32s, cfg Config, next func(string)) ([]Row, error) {
	b, n := o.b, len(x)
	p := dropout.Params{P: cfg.P, Seed: 0x5eed, Mask: cfg.Mask}
	mb := cfg.Mask.Bytes(n)
	step := func(mode string) { next(fmt.Sprintf("%s %s %s", b.Name(), mode, FormatSize(n))) }
	bx, err := b.Alloc(dropout.Float32, n)
	if err != nil {
		return nil, err
	}
	defer bx.Release()
	by, err := b.Alloc(dropout.Float32, n)
	if err != nil {
		return nil, err
	}
	defer by.Release()
	var bm dropout.Buffer
	var bmT dropout.Tensor
	if cfg.Mask != dropout.MaskNone {
		if bm, err = b.Alloc(dropout.Uint8, mb); err != nil {
			return nil, err
		}
		defer bm.Release()
		bmT = bm
	}
	if err := bx.Write(x); err != nil {
		return nil, err
	}
	host := driver.IsHostBuffer(bx)
	mode := ModeDevice
	if host {
		mode = ModeSame
	}
	step(mode)
	fwd, err := Time(cfg.Iters, cfg.Warmup, func() error { return b.Forward(by, bx, bmT, p) })
	if err != nil {
		return nil, err
	}
	step("copy")
	cp, err := Time(cfg.Iters, cfg.Warmup, func() error { return b.Copy(by, bx) })
	if err != nil {
		return nil, err
	}
	copyGBps := 8 * float64(n) / cp.Seconds() / 1e9
	kind := o.dev.Kind.String()
	if o.dev.Emulated {
		kind += " (emulated)"
	}
	mk := func(mode string, d time.Duration) Row {
		s := d.Seconds()
		gb := BytesPerElement(cfg.Mask) * float64(n) / s / 1e9
		return Row{Backend: b.Name(), Device: o.dev.Name, Kind: kind, Mode: mode, Size: n, Iters: cfg.Iters, Seconds: s,
			ElemsPerSec: float64(n) / s, GBps: gb, CopyGBps: copyGBps, OfCopy: gb / copyGBps}
	}
	rows := []Row{mk(mode, fwd)}
	if !host {
		// The host round trip: host slices in and out.
		bx.Release()
		by.Release()
		y := make(dropout.Float32s, n)
		var m dropout.Tensor
		if cfg.Mask != dropout.MaskNone {
			m = make(dropout.Bytes, mb)
		}
		step(ModeHost)
		d, err := Time(cfg.Iters, cfg.Warmup, func() error { return b.Forward(y, x, m, p) })
		if err != nil {
			return nil, err
		}
		rows = append(rows, mk(ModeHost, d))
	}
	return rows, nil
}

// speedups fills VsReference and VsCPU: the reference's (and cpu's) time
// at the same size over the row's time.
func speedups(rows []Row) {
	base := func(name string, n int, op string) float64 {
		for _, r := range rows {
			if r.Backend == name && r.Size == n && r.Op == op {
				return r.Seconds
			}
		}
		return 0
	}
	for i := range rows {
		r := &rows[i]
		if t := base("reference", r.Size, r.Op); t > 0 {
			r.VsReference = t / r.Seconds
		}
		if t := base("cpu", r.Size, r.Op); t > 0 {
			r.VsCPU = t / r.Seconds
		}
	}
}
