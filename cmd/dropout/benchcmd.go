package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/bench"
)

func cmdBench(stdout, stderr io.Writer, args []string) error {
	fs := newFlags("bench", stderr, "[--backend all|LIST] [--sizes 1M,16M,64M] [flags]")
	backend := fs.String("backend", "all", "`backends`: all (every available one) or a comma-separated list")
	sizes := fs.String("sizes", "1M,16M,64M", "`sizes` in elements (K = 2^10, M = 2^20, G = 2^30)")
	p := newFloat(fs, "p", 0.5, "drop `probability`")
	mf := fs.String("mask-format", "none", "mask stored by each call: none, bits or bytes")
	iters := newInt(fs, "iters", 10, "timed `iterations` per measurement (after one warm-up)")
	jsonOut := fs.String("json", "", "also write the results as JSON to `file` (- for standard output)")
	csvOut := fs.String("csv", "", "also write the results as CSV to `file` (- for standard output)")
	plotOut := fs.String("plot", "", "draw throughput against size to `file` (.png, .svg or .pdf; - for standard output, as PNG)")
	compare := fs.String("compare", "", "also time `torch`.nn.functional.dropout (python3 with torch)")
	ops := fs.String("ops", "forward", "`operations`: forward (float32 dropout, always), float16, bfloat16, alpha, fused (with the three separate passes it replaces), or all")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg := bench.Config{Registry: registry(), P: *p, Iters: *iters}
	for _, f := range strings.Split(*sizes, ",") {
		if f = strings.TrimSpace(f); f != "" && !sizeRE.MatchString(f) {
			return fmt.Errorf("bench: --sizes: bad size %q (want a positive count such as 1M, 16M or 4096)", f)
		}
	}
	var err error
	if cfg.Ops, err = bench.ParseOps(*ops); err != nil {
		return fmt.Errorf("bench: --ops: %v", err)
	}
	if cfg.Sizes, err = bench.ParseSizes(*sizes); err != nil {
		return fmt.Errorf("bench: --sizes: %v", err)
	}
	if err := checkP(*p); err != nil {
		return fmt.Errorf("bench: %v", err)
	}
	if cfg.Mask, err = dropout.ParseMaskFormat(*mf); err != nil {
		return fmt.Errorf("bench: --mask-format %q: want none, bits or bytes", *mf)
	}
	if *iters <= 0 {
		return fmt.Errorf("bench: --iters %d: want at least 1", *iters)
	}
	switch *compare {
	case "":
	case "torch":
		cfg.Torch = true
	default:
		return fmt.Errorf("bench: --compare %q: only torch is supported", *compare)
	}
	if *plotOut != "" && *plotOut != "-" {
		if _, err := plotFormat(*plotOut); err != nil {
			return fmt.Errorf("bench: --plot %s: %v", *plotOut, err)
		}
	}
	if err := checkPaths(stdout, nil, []namedPath{{"--json", *jsonOut}, {"--csv", *csvOut}, {"--plot", *plotOut}}); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	// The table goes to stderr when stdout carries a file.
	table := infoWriter(stdout, stderr, *jsonOut, *csvOut, *plotOut)
	for _, b := range strings.Split(*backend, ",") {
		if b = strings.TrimSpace(b); b != "" {
			cfg.Backends = append(cfg.Backends, b)
		}
	}
	var pb *bar
	cfg.Progress = func(done, total int, desc string) {
		if pb == nil && done == 0 {
			pb = newBar(stderr, total, "bench")
		}
		pb.step(done, "bench "+desc)
	}
	rep, err := bench.Run(cfg)
	pb.finish()
	if err != nil {
		return fmt.Errorf("bench: %s", bench.Reason(err))
	}
	if len(rep.Rows) == 0 {
		if len(rep.Errors) > 0 {
			return fmt.Errorf("bench: nothing measured: %s", rep.Errors[0])
		}
		return errors.New("bench: no backend could be measured")
	}
	if err := rep.WriteTable(table); err != nil {
		return err
	}
	if *jsonOut != "" {
		if err := writeAtomic(stdout, *jsonOut, rep.WriteJSON); err != nil {
			return fmt.Errorf("bench: %v", err)
		}
		fmt.Fprintf(stderr, "dropout: wrote %s\n", *jsonOut)
	}
	if *csvOut != "" {
		if err := writeAtomic(stdout, *csvOut, rep.WriteCSV); err != nil {
			return fmt.Errorf("bench: %v", err)
		}
		fmt.Fprintf(stderr, "dropout: wrote %s\n", *csvOut)
	}
	if *plotOut != "" {
		f, err := plotFormat(*plotOut)
		if err != nil {
			f = "png"
		}
		if err := writeAtomic(stdout, *plotOut, func(w io.Writer) error { return rep.WritePlot(w, f) }); err != nil {
			return fmt.Errorf("bench: %v", err)
		}
		fmt.Fprintf(stderr, "dropout: wrote %s\n", *plotOut)
	}
	if len(rep.Errors) > 0 {
		return fmt.Errorf("bench: %d measurement(s) failed, first: %s", len(rep.Errors), rep.Errors[0])
	}
	return nil
}

// sizeRE is a size for --sizes: digits and an optional K, M or G.
var sizeRE = regexp.MustCompile(`^[0-9]+[kKmMgG]?$`)

// plotFormat returns the image format of a plot file from its extension.
func plotFormat(path string) (string, error) {
	switch e := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), ".")); e {
	case "png", "svg", "pdf", "eps", "jpg", "jpeg", "tif", "tiff":
		return e, nil
	}
	return "", errors.New("want a .png, .svg or .pdf file")
}
