// Command dropout applies dropout to NumPy arrays on GPUs (OpenCL, Vulkan)
// and CPUs, checks devices against the reference, and benchmarks them.
//
// Usage:
//
//	dropout devices [--json]
//	dropout run --in X.npy --out Y.npy --p P [--seed S] [--offset O] [--backend auto|reference|cpu|opencl|vulkan]
//	            [--device N|NAME] [--mask-out M.npy] [--mask-format bits|bytes] [--noise-shape D0,D1,...]
//	            [--dtype bfloat16] [--alpha] [--bias B.npy] [--residual R.npy]
//	            [--global-shape G0,G1,... --start S0,S1,...] [--max-memory 1G]
//	dropout backward --grad DY.npy --out DX.npy --p P (--mask M.npy [--mask-format bits|bytes] | --seed S [--offset O])
//	            [--backend ...] [--device N|NAME] [--noise-shape D0,D1,...] [--dtype bfloat16] [--alpha]
//	            [--global-shape G0,G1,... --start S0,S1,...] [--max-memory 1G]
//	dropout verify [--backend all|NAME] [--json]
//	dropout bench [--backend all|LIST] [--sizes 1M,16M,64M] [--p 0.5] [--mask-format none|bits|bytes] [--iters N]
//	            [--ops forward|float16,bfloat16,alpha,fused|all] [--json FILE] [--csv FILE] [--plot FILE.png] [--compare torch]
//	dropout version
//
// Flags may be spelled -flag or --flag. Tables go to standard output,
// diagnostics to standard error; a progress bar appears on a terminal for
// long work. On any error the command prints one line to standard error,
// leaves no output file behind and exits with status 1.
//
// Outputs: a regular file (or a new one) is replaced atomically, through a
// temporary file in its directory, synced and renamed, keeping the mode of
// the file it replaces (a new file gets 0666 less the umask); a symbolic
// link is followed, and stays. Anything else (- for standard output, a
// FIFO, a device such as /dev/null) is written in place as a stream; then
// the summary goes to standard error. Inputs may be streams too (- for
// standard input, a pipe, a FIFO). Two outputs, or an output and an input,
// that are the same file are an error before anything is written. The
// memory that input, output and mask need is checked against --max-memory
// and the memory available (and the cgroup's limit) before anything is
// allocated: a file that does not fit is streamed, read, computed and
// written a chunk at a time in bounded memory (stream.go). Outputs keep the
// input's memory order (C or Fortran); masks are C order. An
// interrupt (SIGINT, SIGTERM, SIGHUP) removes the temporary files and exits
// with status 128 plus the signal's number.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gpudropout/dropout/internal/npy"
)

// exitSignals end the command, after removing its temporary files.
var exitSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

func main() {
	// An interrupted run leaves no output behind: remove the temporary files
	// of outputs not yet complete, then exit as a shell expects.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, exitSignals...)
	go func() {
		s := <-sig
		npy.RemoveTemps()
		fmt.Fprintln(os.Stderr, "dropout: interrupted:", s)
		code := 130
		if n, ok := s.(syscall.Signal); ok {
			code = 128 + int(n)
		}
		os.Exit(code)
	}()
	// A closed pipe on stdout is a write error (and the temporary files
	// are removed), not a silent death by SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	if err := run(os.Stdout, os.Stderr, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "dropout:", err)
		os.Exit(1)
	}
}
