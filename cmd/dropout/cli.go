package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/backends"
	"github.com/gpudropout/dropout/bench"
	"github.com/gpudropout/dropout/internal/npy"
)

// registry returns the backends the command uses; tests replace it.
var registry = backends.Registry

const usage = `usage: dropout <command> [flags]

commands:
  devices   list every backend and device, and why missing ones are missing
  run       forward dropout of a .npy array
  backward  the gradient of a run, from a stored mask or regenerated
  verify    check backends against the reference and the statistics
  bench     measure throughput against copy bandwidth
  version   print the version

Run 'dropout <command> -h' for a command's flags.
`

// run is the whole command: it parses args, writes tables to stdout and
// diagnostics to stderr, and returns the error main prints.
func run(stdout, stderr io.Writer, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "devices":
		return cmdDevices(stdout, stderr, rest)
	case "run":
		return cmdRun(stdout, stderr, rest)
	case "backward":
		return cmdBackward(stdout, stderr, rest)
	case "verify":
		return cmdVerify(stdout, stderr, rest)
	case "bench":
		return cmdBench(stdout, stderr, rest)
	case "version":
		return cmdVersion(stdout, stderr, rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// newFlags returns a flag set for a subcommand whose errors go to stderr.
func newFlags(name string, stderr io.Writer, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: dropout %s %s\n\nflags (-flag and --flag both work):\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args and rejects positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// isSet reports whether the flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

func cmdVersion(stdout, stderr io.Writer, args []string) error {
	fs := newFlags("version", stderr, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	v, rev := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " " + s.Value[:12]
			}
		}
	}
	_, err := fmt.Fprintf(stdout, "dropout %s%s %s %s/%s\n", v, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}

// deviceJSON is a device in `devices --json`.
type deviceJSON struct {
	Index    int    `json:"index"`
	Name     string `json:"name"`
	Platform string `json:"platform,omitempty"`
	Kind     string `json:"kind"`
	Emulated bool   `json:"emulated"`
	Memory   int64  `json:"memory_bytes"`
	MaxAlloc int64  `json:"max_alloc_bytes"`
	Threads  int    `json:"threads,omitempty"`
}

// backendJSON is a backend in `devices --json`.
type backendJSON struct {
	Backend   string       `json:"backend"`
	Available bool         `json:"available"`
	Reason    string       `json:"reason,omitempty"`
	Fix       string       `json:"fix,omitempty"`
	Devices   []deviceJSON `json:"devices"`
}

func cmdDevices(stdout, stderr io.Writer, args []string) error {
	fs := newFlags("devices", stderr, "[--json]")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parse(fs, args); err != nil {
		return err
	}
	var out []backendJSON
	for _, st := range registry().Available() {
		b := backendJSON{Backend: st.Name, Available: st.Err == nil, Devices: []deviceJSON{}}
		if st.Err != nil {
			var ue *dropout.UnavailableError
			if errors.As(st.Err, &ue) {
				b.Reason, b.Fix = ue.Reason, ue.Fix
			} else {
				b.Reason = strings.TrimPrefix(st.Err.Error(), "dropout: ")
			}
		}
		for _, d := range st.Devices {
			b.Devices = append(b.Devices, deviceJSON{Index: d.Index, Name: d.Name, Platform: d.Platform, Kind: d.Kind.String(),
				Emulated: d.Emulated, Memory: d.Memory, MaxAlloc: d.MaxAlloc, Threads: d.Threads})
		}
		out = append(out, b)
	}
	if *asJSON {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		return e.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKEND\tINDEX\tDEVICE\tKIND\tMEMORY\tMAX ALLOC\tNOTES")
	for _, b := range out {
		if !b.Available {
			note := "unavailable: " + b.Reason
			if b.Fix != "" {
				note += "; fix: " + b.Fix
			}
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t%s\n", b.Backend, note)
			continue
		}
		for _, d := range b.Devices {
			var notes []string
			if d.Platform != "" {
				notes = append(notes, d.Platform)
			}
			if d.Emulated {
				notes = append(notes, "emulated on the CPU (use cpu instead)")
			}
			if d.Threads > 0 {
				notes = append(notes, strconv.Itoa(d.Threads)+" threads")
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", b.Backend, d.Index, d.Name, d.Kind, fmtBytes(d.Memory), fmtBytes(d.MaxAlloc), strings.Join(notes, ", "))
		}
	}
	return tw.Flush()
}

// fmtBytes writes a byte count in binary units, or "?" when unknown.
func fmtBytes(n int64) string {
	switch {
	case n <= 0:
		return "?"
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d B", n)
}

// parseShape parses "2,1,3" into a shape.
func parseShape(s string) ([]int, error) {
	s = strings.Trim(strings.TrimSpace(s), "()[]")
	if s == "" {
		return []int{}, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("bad axis %q", f)
		}
		out = append(out, d)
	}
	return out, nil
}

// checkNoise checks that noise broadcasts to the array's shape.
func checkNoise(path string, shape, noise []int) error {
	if len(noise) != len(shape) {
		return fmt.Errorf("%s: --noise-shape %s has %d axes, the array's shape %s has %d", path,
			npy.ShapeString(noise), len(noise), npy.ShapeString(shape), len(shape))
	}
	for i, d := range noise {
		if d != 1 && d != shape[i] {
			return fmt.Errorf("%s: --noise-shape %s does not fit the array's shape %s: axis %d is %d, want 1 or %d", path,
				npy.ShapeString(noise), npy.ShapeString(shape), i, d, shape[i])
		}
	}
	return nil
}

// parseSeed parses a decimal or 0x-prefixed uint64.
func parseSeed(name, s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("--%s %q: want an unsigned 64-bit integer", name, s)
	}
	return v, nil
}

// checkP rejects a drop probability outside [0, 1] before any work.
func checkP(p float64) error {
	if err := (dropout.Params{P: p}).Validate(0); err != nil {
		return fmt.Errorf("--p %v: must be in [0, 1]", p)
	}
	return nil
}

// openBackend opens the backend name on device.
func openBackend(name, device string) (dropout.Backend, error) {
	b, err := registry().Open(name, dropout.Options{Device: device})
	if err != nil {
		return nil, fmt.Errorf("backend %s: %s", name, bench.Reason(err))
	}
	return b, nil
}

// writeAtomic writes a non-array file (JSON, CSV, a plot) to path through
// a temporary file.
func writeAtomic(path string, f func(io.Writer) error) error {
	o, err := npy.Create(path)
	if err != nil {
		return err
	}
	if err := f(o.Raw()); err != nil {
		o.Abort()
		return fmt.Errorf("%s: %v", path, err)
	}
	return o.Commit()
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && termIsTerminal(int(f.Fd()))
}
