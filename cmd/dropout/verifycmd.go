package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/bench"
	"github.com/gpudropout/dropout/internal/verify"
)

// verifyConfig sizes `dropout verify`; tests make it smaller.
var verifyConfig = verify.Default

// verifyBackend is one backend in `verify --json`.
type verifyBackend struct {
	Backend   string          `json:"backend"`
	Available bool            `json:"available"`
	Reason    string          `json:"reason,omitempty"`
	Device    string          `json:"device,omitempty"`
	Results   []verify.Result `json:"results"`
}

func cmdVerify(stdout, stderr io.Writer, args []string) error {
	fs := newFlags("verify", stderr, "[--backend all|NAME] [--json]")
	name := fs.String("backend", "all", "`backend` to check: all (every available one) or a name")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parse(fs, args); err != nil {
		return err
	}
	reg := registry()
	var names []string
	if *name != "all" {
		names = []string{*name}
	}
	run, _, _, err := bench.Select(reg, names)
	if err != nil {
		return fmt.Errorf("verify: %s", bench.Reason(err))
	}
	var out []verifyBackend
	for _, st := range reg.Available() {
		if *name != "all" && st.Name != *name {
			continue
		}
		vb := verifyBackend{Backend: st.Name, Available: st.Err == nil, Results: []verify.Result{}}
		if st.Err != nil {
			vb.Reason = bench.Reason(st.Err)
		}
		out = append(out, vb)
	}
	total := len(run) * len(verify.Checks())
	pb := newBar(stderr, total, "verify")
	done, failed := 0, 0
	for i := range out {
		vb := &out[i]
		if !vb.Available {
			continue
		}
		b, err := reg.Open(vb.Backend, dropout.Options{})
		if err != nil {
			vb.Available, vb.Reason = false, "cannot open: "+bench.Reason(err)
			if *name != "all" {
				pb.finish()
				return fmt.Errorf("verify: %s: %s", vb.Backend, vb.Reason)
			}
			continue
		}
		d := b.Device()
		vb.Device = d.Name
		pb.step(done, "verify "+vb.Backend)
		vb.Results = verify.Run(b, verifyConfig, func(r verify.Result) {
			done++
			pb.step(done, "verify "+vb.Backend+": "+r.Check)
		})
		b.Close()
		for _, r := range vb.Results {
			if !r.Pass {
				failed++
			}
		}
	}
	pb.finish()
	if *asJSON {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		if err := e.Encode(map[string]any{"pass": failed == 0, "failed": failed, "backends": out}); err != nil {
			return err
		}
	} else {
		writeVerifyTable(stdout, out)
	}
	if failed > 0 {
		return fmt.Errorf("verify: %d check(s) failed", failed)
	}
	return nil
}

func writeVerifyTable(w io.Writer, out []verifyBackend) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKEND\tCHECK\tRESULT\tTIME\tDETAIL")
	for _, vb := range out {
		if !vb.Available {
			fmt.Fprintf(tw, "%s\t-\tunavailable\t-\t%s\n", vb.Backend, vb.Reason)
			continue
		}
		for _, r := range vb.Results {
			res := "ok"
			switch {
			case !r.Pass:
				res = "FAIL"
			case r.Skipped:
				res = "skip"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Backend, r.Check, res, r.Time.Round(time.Millisecond), oneLine(r.Detail))
		}
	}
	tw.Flush()
	var devs []string
	for _, vb := range out {
		if vb.Available {
			devs = append(devs, vb.Backend+" on "+vb.Device)
		}
	}
	if len(devs) > 0 {
		fmt.Fprintf(w, "devices: %s\n", strings.Join(devs, "; "))
	}
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
