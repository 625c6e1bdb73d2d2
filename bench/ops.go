package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/gpudropout/dropout"
)

// The operations beyond float32 dropout that Config.Ops adds rows for,
// each on device-resident buffers (host memory for CPU backends), each
// against its own floor:
//
//   - float16 and bfloat16: forward on 16-bit data, 4 bytes per element
//     (plus the mask), against the backend's Copy of 16-bit data (4 bytes
//     per element);
//   - alpha: float32 alpha dropout, 8 bytes per element, against Copy;
//   - fused: y = r + dropout(x + b), the fused op, whose memory floor is
//     12 bytes per element (read x and r, write y; the bias is one row),
//     at the bandwidth float32 Copy measures; and "3 passes", the same
//     result from three calls of the backend, each its own pass over
//     memory: the bias add (ForwardFused with the bias alone at p = 0),
//     dropout (Forward, in place) and the residual add (ForwardFused with
//     the residual alone at p = 0), which move 28 bytes per element. Both
//     rows count the fused op's 12 bytes per element, so that their GB/s
//     and fraction of the floor compare the same work; the fused row
//     carries its speed-up over the three passes.
const (
	OpForward  = ""         // float32 dropout, the plain rows
	OpFloat16  = "float16"  // forward on float16 data
	OpBFloat16 = "bfloat16" // forward on bfloat16 data
	OpAlpha    = "alpha"    // float32 alpha dropout
	OpFused    = "fused"    // the fused bias + dropout + residual op
	OpPasses   = "3 passes" // bias add, dropout, residual add as three calls
)

// AllOps are the operations Config.Ops may name, in the order they run.
var AllOps = []string{OpFloat16, OpBFloat16, OpAlpha, OpFused}

// ParseOps parses a comma-separated list of operations: "forward" (the
// plain rows, always measured), float16, bfloat16, alpha, fused, or all.
func ParseOps(s string) ([]string, error) {
	var out []string
	add := func(op string) {
		for _, o := range out {
			if o == op {
				return
			}
		}
		out = append(out, op)
	}
	for _, f := range strings.Split(s, ",") {
		switch f = strings.TrimSpace(f); f {
		case "", "forward":
		case "all":
			for _, op := range AllOps {
				add(op)
			}
		case OpFloat16, OpBFloat16, OpAlpha, OpFused:
			add(f)
		default:
			return nil, fmt.Errorf("unknown operation %q (want forward, float16, bfloat16, alpha, fused or all)", f)
		}
	}
	return out, nil
}

// opSteps is the number of progress steps the operations take on one
// backend at one size.
func opSteps(ops []string) int {
	return 2 * len(ops) // each op, and its copy (or its three passes)
}

// opsNeed is the host memory the operations need at size n beyond the
// plain rows' (the fused op's third buffer, the 16-bit host data).
func opsNeed(n int, ops []string) int64 {
	need := int64(0)
	for _, op := range ops {
		switch op {
		case OpFused:
			need = max(need, 4*int64(n)+4096*4)
		case OpFloat16, OpBFloat16:
			need = max(need, 2*int64(n))
		}
	}
	return need
}

// measureOps measures cfg.Ops on one backend at one size. An operation
// the device does not claim is skipped with a note.
func measureOps(o opened, x dropout.Float32s, cfg Config, next func(string)) (rows []Row, notes []string, err error) {
	b, n := o.b, len(x)
	caps := o.dev.Caps
	notes = append(notes, "ops: float16 and bfloat16 rows count 4 bytes per element (plus the mask) against the backend's Copy of 16-bit data; "+
		"alpha 8 bytes against float32 Copy; fused and 3 passes both count the fused op's 12 bytes per element (read x and r, write y; plus the mask), "+
		"so OF COPY is the fraction of its memory floor at float32 Copy's bandwidth; 3 passes are the bias add (ForwardFused, bias alone, p=0), "+
		"dropout (Forward in place) and the residual add (ForwardFused, residual alone, p=0), 28 bytes per element in all")
	for _, op := range cfg.Ops {
		step := func(what string) { next(fmt.Sprintf("%s %s %s", b.Name(), what, FormatSize(n))) }
		var r []Row
		var why string
		switch op {
		case OpFloat16, OpBFloat16:
			dt := dropout.Float16
			if op == OpBFloat16 {
				dt = dropout.BFloat16
			}
			if ok, w := caps.Supports(dt, cfg.Mask, false, false); !ok {
				why = w
				break
			}
			r, err = measureForward(o, op, halfData(dt, n), false, 4+maskShare(cfg.Mask), cfg, step)
		case OpAlpha:
			if ok, w := caps.Supports(dropout.Float32, cfg.Mask, false, true); !ok {
				why = w
				break
			}
			r, err = measureForward(o, op, x, true, BytesPerElement(cfg.Mask), cfg, step)
		case OpFused:
			if _, ok := b.(dropout.Fuser); !ok || !caps.Fused {
				why = "the fused bias+dropout+residual op is not supported"
				break
			}
			r, err = measureFused(o, x, cfg, step)
		}
		if why != "" {
			next(b.Name() + " " + op + " skipped")
			next(b.Name() + " " + op + " skipped")
			notes = append(notes, fmt.Sprintf("%s: %s skipped: %s", b.Name(), op, why))
			continue
		}
		if err != nil {
			return rows, notes, fmt.Errorf("%s: %w", op, err)
		}
		rows = append(rows, r...)
	}
	return rows, notes, nil
}

// buffers allocates k buffers of n elements of dt on b.
func buffers(b dropout.Backend, dt dropout.DType, n, k int) ([]dropout.Buffer, func(), error) {
	var bs []dropout.Buffer
	release := func() {
		for _, x := range bs {
			x.Release()
		}
	}
	for range k {
		x, err := b.Alloc(dt, n)
		if err != nil {
			release()
			return nil, nil, err
		}
		bs = append(bs, x)
	}
	return bs, release, nil
}

// maskBuffer allocates the mask buffer of a call over n elements, or
// returns nil for MaskNone.
func maskBuffer(b dropout.Backend, f dropout.MaskFormat, n int) (dropout.Tensor, func(), error) {
	if f == dropout.MaskNone {
		return nil, func() {}, nil
	}
	m, err := b.Alloc(dropout.Uint8, f.Bytes(n))
	if err != nil {
		return nil, nil, err
	}
	return m, func() { m.Release() }, nil
}

// opRow builds a row of op: bpe bytes per element in d, against a copy
// bandwidth of copyGBps.
func opRow(o opened, op string, n int, cfg Config, d time.Duration, bpe, copyGBps float64) Row {
	kind := o.dev.Kind.String()
	if o.dev.Emulated {
		kind += " (emulated)"
	}
	mode := ModeDevice
	if o.host {
		mode = ModeSame
	}
	s := d.Seconds()
	gb := bpe * float64(n) / s / 1e9
	return Row{Backend: o.b.Name(), Device: o.dev.Name, Kind: kind, Mode: mode, Op: op, Size: n, Iters: cfg.Iters, Seconds: s,
		ElemsPerSec: float64(n) / s, GBps: gb, BytesPerElt: bpe, CopyGBps: copyGBps, OfCopy: gb / copyGBps}
}

func maskShare(f dropout.MaskFormat) float64 { return BytesPerElement(f) - 8 }

// measureForward times Forward on data (a host tensor, written to a device
// buffer), alpha dropout when alpha is set, and Copy of the same type; the
// row counts bpe bytes per element, Copy twice the element size.
func measureForward(o opened, op string, data dropout.Tensor, alpha bool, bpe float64, cfg Config, step func(string)) ([]Row, error) {
	b, n, dt := o.b, data.Len(), data.DType()
	bs, release, err := buffers(b, dt, n, 2)
	if err != nil {
		return nil, err
	}
	defer release()
	m, mrel, err := maskBuffer(b, cfg.Mask, n)
	if err != nil {
		return nil, err
	}
	defer mrel()
	if err := bs[0].Write(data); err != nil {
		return nil, err
	}
	p := dropout.Params{P: cfg.P, Seed: 0x5eed, Mask: cfg.Mask, Alpha: alpha}
	step(op)
	fwd, err := Time(cfg.Iters, cfg.Warmup, func() error { return b.Forward(bs[1], bs[0], m, p) })
	if err != nil {
		return nil, err
	}
	step(op + " copy")
	cp, err := Time(cfg.Iters, cfg.Warmup, func() error { return b.Copy(bs[1], bs[0]) })
	if err != nil {
		return nil, err
	}
	copyGBps := 2 * float64(dt.Size()*n) / cp.Seconds() / 1e9
	return []Row{opRow(o, op, n, cfg, fwd, bpe, copyGBps)}, nil
}

// halfData returns n 16-bit values of type dt between 0.5 and 1.
func halfData(dt dropout.DType, n int) dropout.Tensor {
	h := make([]uint16, n)
	for i := range h {
		if dt == dropout.Float16 {
			h[i] = 0x3800 + uint16(i%1024)
		} else {
			h[i] = 0x3f00 + uint16(i%128)
		}
	}
	if dt == dropout.BFloat16 {
		return dropout.BFloat16s(h)
	}
	return dropout.Float16s(h)
}

// fusedShape is the shape the fused rows use: rows of 1024 (a hidden
// size) where n allows, else one column.
func fusedShape(n int) []int {
	if n%1024 == 0 {
		return []int{n / 1024, 1024}
	}
	return []int{n, 1}
}

func measureFused(o opened, x dropout.Float32s, cfg Config, step func(string)) ([]Row, error) {
	b, n := o.b, len(x)
	bs, release, err := buffers(b, dropout.Float32, n, 3)
	if err != nil {
		return nil, err
	}
	defer release()
	bx, br, by := bs[0], bs[1], bs[2]
	m, mrel, err := maskBuffer(b, cfg.Mask, n)
	if err != nil {
		return nil, err
	}
	defer mrel()
	shape := fusedShape(n)
	bias, err := b.Alloc(dropout.Float32, shape[1])
	if err != nil {
		return nil, err
	}
	defer bias.Release()
	hb := make(dropout.Float32s, shape[1])
	for i := range hb {
		hb[i] = float32(i%7) / 8
	}
	if err := bias.Write(hb); err != nil {
		return nil, err
	}
	if err := bx.Write(x); err != nil {
		return nil, err
	}
	if err := br.Write(x); err != nil {
		return nil, err
	}
	p := dropout.Params{P: cfg.P, Seed: 0x5eed, Mask: cfg.Mask, Shape: shape}
	add := dropout.Params{Shape: shape} // p = 0: the adds alone
	step("fused")
	fused, err := Time(cfg.Iters, cfg.Warmup, func() error { return dropout.ForwardFused(b, by, bx, bias, br, m, p) })
	if err != nil {
		return nil, err
	}
	step("3 passes")
	passes, err := Time(cfg.Iters, cfg.Warmup, func() error {
		if err := dropout.ForwardFused(b, by, bx, bias, nil, nil, add); err != nil {
			return err
		}
		if err := b.Forward(by, by, m, p); err != nil {
			return err
		}
		return dropout.ForwardFused(b, by, by, nil, br, nil, add)
	})
	if err != nil {
		return nil, err
	}
	cp, err := Time(cfg.Iters, cfg.Warmup, func() error { return b.Copy(by, bx) })
	if err != nil {
		return nil, err
	}
	copyGBps := 8 * float64(n) / cp.Seconds() / 1e9
	bpe := 12 + maskShare(cfg.Mask)
	f := opRow(o, OpFused, n, cfg, fused, bpe, copyGBps)
	f.VsPasses = passes.Seconds() / fused.Seconds()
	return []Row{f, opRow(o, OpPasses, n, cfg, passes, bpe, copyGBps)}, nil
}

// appendNew appends the notes not already in list.
func appendNew(list []string, notes ...string) []string {
	for _, n := range notes {
		dup := false
		for _, l := range list {
			dup = dup || l == n
		}
		if !dup {
			list = append(list, n)
		}
	}
	return list
}
