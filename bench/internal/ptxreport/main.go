package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"text/tabwriter"
)

// DefaultLibCLC is where Debian's libclc-15 puts the NVPTX builtins.
const DefaultLibCLC = "/usr/lib/clc/nvptx64--nvidiacl.bc"

func main() {
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ptxreport:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("ptxreport", flag.ContinueOnError)
	cl := fs.String("cl", "kernels/opencl/dropout.cl", "OpenCL C `file` to compile")
	in := fs.String("in", "", "read PTX from `file` (- for standard input) instead of compiling")
	clang := fs.String("clang", "clang-15", "clang `command`")
	libclc := fs.String("libclc", "auto", "NVPTX builtins: auto (use "+DefaultLibCLC+" when it exists), none, or a `.bc file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var ptx []byte
	var source string
	var err error
	switch *in {
	case "":
		var cmd []string
		if cmd, err = compileCommand(*clang, *cl, *libclc); err != nil {
			return err
		}
		source = strings.Join(cmd, " ")
		ptx, err = compile(cmd)
	case "-":
		source = "PTX from standard input"
		ptx, err = io.ReadAll(os.Stdin)
	default:
		source = "PTX from " + *in
		ptx, err = os.ReadFile(*in)
	}
	if err != nil {
		return err
	}
	ks, err := Parse(string(ptx))
	if err != nil {
		return err
	}
	return Write(w, source, ks)
}

// compileCommand is issue 11's clang command line, with libclc's builtins
// linked in when asked for or found.
func compileCommand(clang, cl, libclc string) ([]string, error) {
	cmd := []string{clang, "-x", "cl", "-cl-std=CL1.2", "-target", "nvptx64-nvidia-cuda", "-O3",
		"-Xclang", "-finclude-default-header"}
	switch libclc {
	case "none":
	case "auto":
		if _, err := os.Stat(DefaultLibCLC); err == nil {
			libclc = DefaultLibCLC
		} else {
			return nil, fmt.Errorf("%s: %v (install libclc-15, `make deps` does, or pass -libclc none to leave OpenCL builtins as calls)", DefaultLibCLC, err)
		}
		fallthrough
	default:
		if _, err := os.Stat(libclc); err != nil {
			return nil, fmt.Errorf("-libclc: %v", err)
		}
		// libclc's triple is nvptx64-unknown-nvidiacl: the link warns, harmlessly.
		cmd = append(cmd, "-Xclang", "-mlink-builtin-bitcode", "-Xclang", libclc, "-Wno-linker-warnings")
	}
	return append(cmd, "-S", cl, "-o", "-"), nil
}

func compile(cmd []string) ([]byte, error) {
	var out, errb bytes.Buffer
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		// The compiler's messages, without a crash's stack frames.
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") && len(lines) < 20 {
				lines = append(lines, l)
			}
		}
		msg := strings.Join(lines, "\n")
		if errors.Is(err, exec.ErrNotFound) {
			msg = "install clang-15 (`make deps` does)"
		}
		return nil, fmt.Errorf("%s: %v: %s", strings.Join(cmd, " "), err, msg)
	}
	return out.Bytes(), nil
}

// Write prints the table, one line per kernel in the file's order.
func Write(w io.Writer, source string, ks []Kernel) error {
	fmt.Fprintf(w, "# %s\n", source)
	fmt.Fprintln(w, "# hot path: one iteration of the best loop that stores elements, else the best entry-to-return path; best =")
	fmt.Fprintln(w, "# most elements stored, then one that loads, then fewest instructions; element = a global store lane of the")
	fmt.Fprintln(w, "# kernel's element width (from its name: f16/bf16/f32/f64); see `go doc ./bench/internal/ptxreport`")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KERNEL\tHOT PATH\tINSTR\tELEMS\tINSTR/ELEM\tLD 128\tST 128\tSTACK\tCALLS\tLOADS\tSTORES")
	for i := range ks {
		p := ks[i].HotPath()
		per := "-"
		if p.Elems > 0 {
			per = fmt.Sprintf("%.1f", p.PerElem())
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", ks[i].Name, p.Region, p.Insts, p.Elems, per,
			frac(p.Ld128, len(p.Loads)), frac(p.St128, len(p.Stores)), p.Local, len(p.Calls), counts(p.Loads), counts(p.Stores))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Calls left in the PTX hide what they do (builtins libclc lacks).
	for i := range ks {
		if c := ks[i].Calls(); len(c) > 0 {
			fmt.Fprintf(w, "# %s calls %s: loads, stores and instructions inside are not counted\n", ks[i].Name, strings.Join(c, ", "))
		}
	}
	return nil
}

func frac(k, n int) string {
	switch {
	case n == 0:
		return "-"
	case k == n:
		return "yes"
	case k == 0:
		return "no"
	}
	return fmt.Sprintf("%d/%d", k, n)
}

// counts writes ops as "ld.global.v4.f32 x2, ld.global.u8".
func counts(ops []string) string {
	if len(ops) == 0 {
		return "-"
	}
	n := map[string]int{}
	for _, o := range ops {
		n[o]++
	}
	keys := make([]string, 0, len(n))
	for o := range n {
		keys = append(keys, o)
	}
	sort.Strings(keys)
	for i, o := range keys {
		if n[o] > 1 {
			keys[i] = fmt.Sprintf("%s x%d", o, n[o])
		}
	}
	return strings.Join(keys, ", ")
}
