package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress draws a bar for long work on a terminal, and on anything else (CI logs) one line per
// quarter of each stage, so that logs stay readable.
type progress struct {
	w        io.Writer
	tty      bool
	stage    string
	lastPct  int
	lastDraw time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, lastPct: -1}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// Update reports done of total in a stage.
func (p *progress) Update(stage string, done, total int) {
	if total <= 0 {
		total = 1
	}
	pct := 100 * done / total
	if stage != p.stage {
		if p.tty && p.stage != "" {
			fmt.Fprintln(p.w)
		}
		p.stage, p.lastPct = stage, -1
	}
	if p.tty {
		if pct == p.lastPct || (time.Since(p.lastDraw) < 100*time.Millisecond && pct < 100) {
			return
		}
		const width = 30
		n := width * pct / 100
		fmt.Fprintf(p.w, "\r  %-26s [%s%s] %3d%%", stage, strings.Repeat("█", n), strings.Repeat(" ", width-n), pct)
		p.lastDraw = time.Now()
	} else if q := pct / 25; q != p.lastPct/25 || p.lastPct < 0 {
		fmt.Fprintf(p.w, "  %s: %d%%\n", stage, q*25)
	}
	p.lastPct = pct
}

// Done ends the last stage's line.
func (p *progress) Done() {
	if p.tty && p.stage != "" {
		fmt.Fprintln(p.w)
	}
	p.stage = ""
}
