package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/backends"
	"github.com/gpudropout/dropout/bench"
	"github.com/gpudropout/dropout/internal/memlimit"
	"github.com/gpudropout/dropout/internal/npy"
)

// registry returns the backends the command uses; tests replace it.
var registry = backends.Registry

// stdin is the command's standard input, read for an input named "-";
// tests replace it.
var stdin io.Reader = os.Stdin

// memLimit tells how much memory the command may still allocate; tests
// replace it.
var memLimit = memlimit.System

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

// newFlags returns a flag set for a subcommand whose usage (for -h) goes
// to stderr. Errors are returned, as one line, not printed.
func newFlags(name string, stderr io.Writer, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: dropout %s %s\n\nflags (-flag and --flag both work):\n", name, synopsis)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses args and rejects positional arguments. The usage is
// printed for -h only: a bad flag is one line of error.
func parse(fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return err
		}
		var bad error
		fs.VisitAll(func(f *flag.Flag) {
			if v, ok := f.Value.(interface{ bad() error }); ok && bad == nil {
				bad = v.bad()
			}
		})
		if bad != nil {
			return fmt.Errorf("%s: %w", fs.Name(), bad)
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
	Index    int      `json:"index"`
	Name     string   `json:"name"`
	Platform string   `json:"platform,omitempty"`
	Kind     string   `json:"kind"`
	Emulated bool     `json:"emulated"`
	Memory   int64    `json:"memory_bytes"`
	MaxAlloc int64    `json:"max_alloc_bytes"`
	Threads  int      `json:"threads,omitempty"`
	Caps     capsJSON `json:"capabilities"`
}

// capsJSON is a device's dropout.Capabilities in `devices --json`.
type capsJSON struct {
	DTypes      []string `json:"dtypes"`
	MaskFormats []string `json:"mask_formats"`
	NoiseShape  bool     `json:"noise_shape"`
	Alpha       bool     `json:"alpha"`
	Fused       bool     `json:"fused"`
	Regions     bool     `json:"regions"`
	MaxElements int64    `json:"max_elements,omitempty"`
	Foreign     bool     `json:"foreign_objects"`
}

func newCapsJSON(c dropout.Capabilities) capsJSON {
	j := capsJSON{DTypes: []string{}, MaskFormats: []string{}, NoiseShape: c.NoiseShape, Alpha: c.Alpha, Fused: c.Fused, Regions: c.Regions, MaxElements: c.MaxElements, Foreign: c.Foreign}
	for _, t := range c.DTypes {
		j.DTypes = append(j.DTypes, t.String())
	}
	for _, f := range c.MaskFormats {
		j.MaskFormats = append(j.MaskFormats, f.String())
	}
	return j
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
				Emulated: d.Emulated, Memory: d.Memory, MaxAlloc: d.MaxAlloc, Threads: d.Threads, Caps: newCapsJSON(d.Caps)})
		}
		out = append(out, b)
	}
	if *asJSON {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		return e.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKEND\tINDEX\tDEVICE\tKIND\tMEMORY\tMAX ALLOC\tCAPABILITIES\tNOTES")
	for _, b := range out {
		if !b.Available {
			note := "unavailable: " + b.Reason
			if b.Fix != "" {
				note += "; fix: " + b.Fix
			}
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t%s\n", b.Backend, note)
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
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", b.Backend, d.Index, d.Name, d.Kind, fmtBytes(d.Memory), fmtBytes(d.MaxAlloc), capsText(d.Caps), strings.Join(notes, ", "))
		}
	}
	return tw.Flush()
}

// capsText is a device's capabilities in the devices table.
func capsText(c capsJSON) string {
	s := strings.Join(c.DTypes, ",")
	if s == "" {
		s = "none"
	}
	if len(c.MaskFormats) < len(dropout.AllMaskFormats()) {
		s += " masks:" + strings.Join(c.MaskFormats, ",")
	}
	if c.NoiseShape {
		s += " noise-shape"
	}
	if c.Alpha {
		s += " alpha"
	}
	if c.Fused {
		s += " fused"
	}
	if c.Regions {
		s += " regions"
	}
	if c.Foreign {
		s += " foreign"
	}
	return s
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

// Numbers on the command line are plain: decimal digits (hex with 0x for
// seeds and offsets), no underscores, no octal, no hex floats.
var (
	decimalRE = regexp.MustCompile(`^[0-9]+$`)
	hexRE     = regexp.MustCompile(`^0[xX][0-9a-fA-F]+$`)
	intRE     = regexp.MustCompile(`^[+-]?[0-9]+$`)
	floatRE   = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
	// NaN and infinities parse, for the range check to reject them.
	specialRE = regexp.MustCompile(`^(?i)[+-]?(nan|inf|infinity)$`)
)

// floatFlag is a flag holding a decimal number.
type floatFlag struct {
	v    *float64
	name string
	err  error
}

func newFloat(fs *flag.FlagSet, name string, def float64, usage string) *float64 {
	v := def
	fs.Var(&floatFlag{v: &v, name: name}, name, usage)
	return &v
}

func (f *floatFlag) String() string {
	if f == nil || f.v == nil {
		return "0"
	}
	return strconv.FormatFloat(*f.v, 'g', -1, 64)
}

func (f *floatFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !floatRE.MatchString(s) && !specialRE.MatchString(s) {
		f.err = fmt.Errorf("--%s %q: want a decimal number", f.name, s)
		return f.err
	}
	*f.v = v
	return nil
}

func (f *floatFlag) bad() error { return f.err }

// intFlag is a flag holding a decimal integer.
type intFlag struct {
	v    *int
	name string
	err  error
}

func newInt(fs *flag.FlagSet, name string, def int, usage string) *int {
	v := def
	fs.Var(&intFlag{v: &v, name: name}, name, usage)
	return &v
}

func (f *intFlag) String() string {
	if f == nil || f.v == nil {
		return "0"
	}
	return strconv.Itoa(*f.v)
}

func (f *intFlag) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 0)
	if err != nil || !intRE.MatchString(s) {
		f.err = fmt.Errorf("--%s %q: want a decimal integer", f.name, s)
		return f.err
	}
	*f.v = int(v)
	return nil
}

func (f *intFlag) bad() error { return f.err }

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
		if err != nil || !decimalRE.MatchString(f) {
			return nil, fmt.Errorf("bad axis %q", f)
		}
		out = append(out, d)
	}
	return out, nil
}

// checkNoise checks that noise broadcasts to shape, which what names
// ("the array's shape", or "--global-shape" for a block's).
func checkNoise(path string, shape, noise []int, what string) error {
	if len(noise) != len(shape) {
		return fmt.Errorf("%s: --noise-shape %s has %d axes, %s %s has %d", path,
			npy.ShapeString(noise), len(noise), what, npy.ShapeString(shape), len(shape))
	}
	for i, d := range noise {
		if d != 1 && d != shape[i] {
			return fmt.Errorf("%s: --noise-shape %s does not fit %s %s: axis %d is %d, want 1 or %d", path,
				npy.ShapeString(noise), what, npy.ShapeString(shape), i, d, shape[i])
		}
	}
	return nil
}

// parseBytes parses a byte count such as 1G, 512M, 64MiB or 1000000 (K,
// M and G are powers of 1024, with or without "iB" or "B"), up to 1 TiB.
func parseBytes(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(s), "B"), "i")
	v, err := bench.ParseSizes(t)
	if err != nil || len(v) != 1 || strings.Contains(t, ",") || !sizeRE.MatchString(t) {
		return 0, errors.New("want a positive byte count such as 1G, 512M or 1048576")
	}
	return int64(v[0]), nil
}

// parseSeed parses a decimal or 0x-prefixed hexadecimal uint64. Leading
// zeros are refused: 010 could mean 8 (octal) or 10.
func parseSeed(name, s string) (uint64, error) {
	var v uint64
	var err error
	switch {
	case hexRE.MatchString(s):
		v, err = strconv.ParseUint(s[2:], 16, 64)
	case decimalRE.MatchString(s) && (s == "0" || s[0] != '0'):
		v, err = strconv.ParseUint(s, 10, 64)
	default:
		err = errors.New("syntax")
	}
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

// writeAtomic writes a non-array file (JSON, CSV, a plot) to path, "-"
// for stdout: a regular file through a temporary file, as every output.
func writeAtomic(stdout io.Writer, path string, f func(io.Writer) error) error {
	o, err := createOutput(stdout, path)
	if err != nil {
		return err
	}
	if err := f(o.Raw()); err != nil {
		o.Abort()
		return fmt.Errorf("%s: %v", path, err)
	}
	return o.Commit()
}

// stdName is how messages name "-".
const (
	stdinName  = "standard input"
	stdoutName = "standard output"
)

// createOutput starts writing the output path: "-" is stdout.
func createOutput(stdout io.Writer, path string) (*npy.File, error) {
	if path == "-" {
		return npy.NewStream(stdout, stdoutName), nil
	}
	return npy.Create(path)
}

// openInput opens the .npy input path and reads its header: "-" is stdin.
func openInput(path string) (*npy.Input, error) {
	if path == "-" {
		return npy.OpenReader(stdin, stdinName)
	}
	return npy.Open(path)
}

// namedPath is a file named by a flag.
type namedPath struct{ flag, path string }

// fileID identifies a file for checkPaths: "-" is the command's stdout
// (for an output) or stdin (an input), a file where they are files.
type fileID struct {
	id     npy.ID
	pseudo string // "-" that is not a file: stdout or stdin
}

func identify(p namedPath, output bool, stdout io.Writer) (fileID, error) {
	if p.path != "-" {
		id, err := npy.IDOf(p.path)
		return fileID{id: id}, err
	}
	std, pseudo := any(stdin), "stdin"
	if output {
		std, pseudo = stdout, "stdout"
	}
	if f, ok := std.(*os.File); ok {
		if id, err := npy.FileID(f); err == nil {
			return fileID{id: id}, nil
		}
	}
	return fileID{pseudo: pseudo}, nil
}

func (a fileID) same(b fileID) bool {
	if a.pseudo != "" || b.pseudo != "" {
		return a.pseudo == b.pseudo
	}
	return a.id.Same(b.id)
}

// checkPaths fails, before anything is read or written, when two outputs,
// or an output and an input, are the same file (through links, or the
// same device and inode), or when two inputs both read stdin.
func checkPaths(stdout io.Writer, ins, outs []namedPath) error {
	type entry struct {
		namedPath
		output bool
		id     fileID
	}
	var seen []entry
	add := func(p namedPath, output bool) error {
		if p.path == "" {
			return nil
		}
		id, err := identify(p, output, stdout)
		if err != nil {
			return err
		}
		for _, q := range seen {
			if !id.same(q.id) {
				continue
			}
			switch {
			case output: // outputs come first: q is an output too
				return fmt.Errorf("%s %s is %w as %s %s", p.flag, p.path, npy.ErrSameFile, q.flag, q.path)
			case q.output:
				return fmt.Errorf("%s %s is %w as %s %s (an output may not replace an input)", q.flag, q.path, npy.ErrSameFile, p.flag, p.path)
			case p.path == "-" && q.path == "-":
				return fmt.Errorf("%s - and %s - both read standard input", q.flag, p.flag)
			}
		}
		seen = append(seen, entry{p, output, id})
		return nil
	}
	for _, p := range outs {
		if err := add(p, true); err != nil {
			return err
		}
	}
	for _, p := range ins {
		if err := add(p, false); err != nil {
			return err
		}
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && termIsTerminal(int(f.Fd()))
}
