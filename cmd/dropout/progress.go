package main

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

var termIsTerminal = term.IsTerminal

// bar is a progress bar on stderr when stderr is a terminal, and nothing
// otherwise (piped output gets no extra text). A nil *bar is valid.
type bar struct{ pb *progressbar.ProgressBar }

// newBar returns a bar of total steps, or nil when w is not a terminal.
func newBar(w io.Writer, total int, desc string) *bar {
	if !isTerminal(w) || total <= 0 {
		return nil
	}
	return &bar{pb: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)}
}

// step sets the bar to done steps and names the current one.
func (b *bar) step(done int, desc string) {
	if b == nil || b.pb == nil {
		return
	}
	b.pb.Describe(desc)
	b.pb.Set(done)
}

// finish clears the bar; finishing twice is harmless.
func (b *bar) finish() {
	if b == nil || b.pb == nil {
		return
	}
	b.pb.Finish()
	b.pb.Exit()
	b.pb = nil
}
