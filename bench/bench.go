// Package bench is the benchmark harness of dropout, used by `dropout
// bench` and by `go test -bench`.
//
// For every backend and size it measures the median time of a float32
// forward call over Config.Iters iterations after a warm-up, and derives
// elements/s, GB/s (8 bytes per element, 4 read and 4 written, plus the
// mask bytes: 1/8 for bits, 1 for bytes) and the fraction of the device's
// own copy bandwidth, measured with Backend.Copy on buffers of the same
// size (8 bytes per element). GPU backends are measured twice: on
// device-resident buffers from Backend.Alloc, and on host slices (the host
// round trip: upload, dropout, download). CPU backends compute on host
// memory, so the two are the same and are reported once, as "host=device".
// Speed-ups are against the reference and fast cpu backends at the same
// size. With Config.Torch, torch.nn.functional.dropout is timed on the same
// sizes in the same run through a python3 subprocess.
package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gpudropout/dropout"
)

// Config says what to measure.
type Config struct {
	// Registry holds the backends; Backends names the ones to run. An
	// empty Backends, or "all", means every available backend.
	Registry dropout.Registry
	Backends []string
	Options  dropout.Options // passed to every Open
	Sizes    []int           // elements
	P        float64
	Mask     dropout.MaskFormat
	Iters    int // timed iterations (default 10)
	Warmup   int // untimed iterations first (default 1)
	// RefMax caps the sizes the reference backend runs at when it was not
	// named explicitly (default 16M): it is the slow oracle.
	RefMax int
	Torch  bool // also time torch.nn.functional.dropout
	// Ops adds rows for other operations (AllOps: float16, bfloat16,
	// alpha, fused; see OpFused), on every backend whose device claims
	// them, at every size.
	Ops []string
	// Python lists the interpreters tried for Torch (default python3,
	// /usr/bin/python3).
	Python []string
	// Progress, if set, is called before each measurement with the number
	// done, the total and a description of the next one.
	Progress func(done, total int, desc string)
}

// Modes of a measurement.
const (
	ModeDevice = "device" // buffers from Backend.Alloc (GPU backends)
	ModeHost   = "host"   // host slices: the host round trip (GPU backends)
	ModeSame   = "host=device"
)

// Row is one measurement.
type Row struct {
	Backend     string  `json:"backend"`
	Device      string  `json:"device"`
	Kind        string  `json:"kind"`
	Mode        string  `json:"mode"`
	Op          string  `json:"op,omitempty"` // OpForward (""), or one of AllOps, or OpPasses
	Size        int     `json:"size"`
	Iters       int     `json:"iters"`
	Seconds     float64 `json:"median_s"`
	ElemsPerSec float64 `json:"elements_per_s"`
	GBps        float64 `json:"gb_per_s"`
	BytesPerElt float64 `json:"bytes_per_element,omitempty"` // the traffic GBps counts, where not the report's`
	CopyGBps    float64 `json:"copy_gb_per_s"`
	OfCopy      float64 `json:"fraction_of_copy"`
	VsReference float64 `json:"speedup_vs_reference,omitempty"`
	VsCPU       float64 `json:"speedup_vs_cpu,omitempty"`
	VsPasses    float64 `json:"speedup_vs_3_passes,omitempty"` // OpFused rows: the three passes' time over the fused op's
}

// OpName is the row's operation as tables print it.
func (r Row) OpName() string {
	if r.Op == OpForward {
		return "forward"
	}
	return r.Op
}

// Report is the outcome of Run.
type Report struct {
	P           float64  `json:"p"`
	Mask        string   `json:"mask"`
	Iters       int      `json:"iters"`
	Warmup      int      `json:"warmup"`
	Sizes       []int    `json:"sizes"`
	BytesPerElt float64  `json:"bytes_per_element"`
	Rows        []Row    `json:"rows"`
	Notes       []string `json:"notes"`
	Errors      []string `json:"errors,omitempty"` // measurements that failed
	Torch       *Torch   `json:"torch,omitempty"`
}

// Torch says how torch was run, or why not.
type Torch struct {
	Python  string `json:"python,omitempty"`
	Version string `json:"version,omitempty"`
	Device  string `json:"device,omitempty"`
	Err     string `json:"error,omitempty"`
}

// DefaultSizes are 1M, 16M and 64M elements.
var DefaultSizes = []int{1 << 20, 16 << 20, 64 << 20}

// ParseSizes parses a list such as "1M,16M,64M" (K = 2^10, M = 2^20,
// G = 2^30) or plain numbers.
func ParseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		mul := 1
		switch f[len(f)-1] {
		case 'k', 'K':
			mul = 1 << 10
		case 'm', 'M':
			mul = 1 << 20
		case 'g', 'G':
			mul = 1 << 30
		}
		num := f
		if mul != 1 {
			num = f[:len(f)-1]
		}
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 || v > (1<<40)/mul {
			return nil, fmt.Errorf("bad size %q (want a positive count such as 1M, 16M or 4096)", f)
		}
		out = append(out, v*mul)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no sizes in %q", s)
	}
	return out, nil
}

// FormatSize writes n as 16M, 4K or a plain number.
func FormatSize(n int) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.Itoa(n>>30) + "G"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "M"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "K"
	}
	return strconv.Itoa(n)
}

// BytesPerElement is the traffic of one float32 element: 4 read, 4
// written, and the mask's share.
func BytesPerElement(f dropout.MaskFormat) float64 {
	switch f {
	case dropout.MaskBits:
		return 8 + 1.0/8
	case dropout.MaskBytes:
		return 9
	}
	return 8
}

// Median returns the median of ds (the mean of the middle two for an even
// count).
func Median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Time runs f warmup times, then iters times, and returns the median of
// the timed runs.
func Time(iters, warmup int, f func() error) (time.Duration, error) {
	for range warmup {
		if err := f(); err != nil {
			return 0, err
		}
	}
	ds := make([]time.Duration, iters)
	for i := range ds {
		t := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ds[i] = time.Since(t)
	}
	return Median(ds), nil
}

// WriteTable writes the report as an aligned table, then its notes.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	ops := false
	for _, row := range r.Rows {
		ops = ops || row.Op != OpForward
	}
	if ops {
		fmt.Fprintf(tw, "BACKEND\tDEVICE\tMODE\tOP\tSIZE\tMEDIAN\tELEM/S\tGB/S\tCOPY GB/S\tOF COPY\tVS REF\tVS CPU\tVS 3 PASSES\n")
	} else {
		fmt.Fprintf(tw, "BACKEND\tDEVICE\tMODE\tSIZE\tMEDIAN\tELEM/S\tGB/S\tCOPY GB/S\tOF COPY\tVS REF\tVS CPU\n")
	}
	for _, row := range r.Rows {
		op, passes := "", ""
		if ops {
			op, passes = row.OpName()+"\t", "\t"+fmtX(row.VsPasses)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\t%s\t%s\t%.2f\t%.2f\t%.0f%%\t%s\t%s%s\n",
			row.Backend, row.Device, row.Mode, op, FormatSize(row.Size), fmtDur(row.Seconds), fmtRate(row.ElemsPerSec),
			row.GBps, row.CopyGBps, 100*row.OfCopy, fmtX(row.VsReference), fmtX(row.VsCPU), passes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		if _, err := fmt.Fprintf(w, "note: %s\n", n); err != nil {
			return err
		}
	}
	for _, e := range r.Errors {
		if _, err := fmt.Fprintf(w, "error: %s\n", e); err != nil {
			return err
		}
	}
	return nil
}

func fmtDur(s float64) string {
	d := time.Duration(s * 1e9)
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.3fs", s)
	case d >= time.Millisecond:
		return fmt.Sprintf("%.3fms", s*1e3)
	}
	return fmt.Sprintf("%.1fµs", s*1e6)
}

func fmtRate(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fK", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func fmtX(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v)
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// WriteCSV writes one line per row, with a header line.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"backend", "device", "kind", "mode", "size", "iters", "median_s", "elements_per_s", "gb_per_s",
		"copy_gb_per_s", "fraction_of_copy", "speedup_vs_reference", "speedup_vs_cpu", "op", "bytes_per_element", "speedup_vs_3_passes"})
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, row := range r.Rows {
		cw.Write([]string{row.Backend, row.Device, row.Kind, row.Mode, strconv.Itoa(row.Size), strconv.Itoa(row.Iters),
			g(row.Seconds), g(row.ElemsPerSec), g(row.GBps), g(row.CopyGBps), g(row.OfCopy), g(row.VsReference), g(row.VsCPU),
			row.OpName(), g(row.BytesPerElt), g(row.VsPasses)})
	}
	cw.Flush()
	return cw.Error()
}
