package install

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Progress receives what install does. Implementations print it for people.
type Progress interface {
	// Step says a step starts, e.g. "Upgrading release epks-addons".
	Step(msg string)
	// StepDone ends the current step; err is nil on success.
	StepDone(err error)
	// Components reports the readiness of every component after each poll.
	Components(statuses []ComponentStatus, elapsed time.Duration)
}

// Printer prints progress to a writer: one line per step and one line per
// component when it becomes ready. On a terminal it redraws a live view of all
// components instead, like kind's status lines.
type Printer struct {
	w    io.Writer
	live bool

	mu       sync.Mutex
	step     string
	reported map[string]bool
	drawn    int
	frame    int
}

// NewPrinter returns a Printer writing to w. The live view is used when w is
// a terminal.
func NewPrinter(w io.Writer) *Printer {
	live := false
	if f, ok := w.(*os.File); ok {
		live = term.IsTerminal(int(f.Fd()))
	}
	return &Printer{w: w, live: live, reported: map[string]bool{}}
}

// Step implements Progress.
func (p *Printer) Step(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.step = msg
	fmt.Fprintf(p.w, " • %s ...\n", msg)
}

// StepDone implements Progress.
func (p *Printer) StepDone(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		fmt.Fprintf(p.w, " ✗ %s\n", p.step)
		return
	}
	fmt.Fprintf(p.w, " ✓ %s\n", p.step)
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// Components implements Progress.
func (p *Printer) Components(statuses []ComponentStatus, elapsed time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		p.redraw(statuses, elapsed)
		return
	}
	for _, s := range statuses {
		if s.Ready && !p.reported[s.Name] {
			p.reported[s.Name] = true
			fmt.Fprintf(p.w, "   ✓ %-28s ready after %s (%s)\n", s.Name, elapsed.Round(time.Second), s.Summary())
		}
	}
}

// redraw replaces the lines it drew last time with the current state.
func (p *Printer) redraw(statuses []ComponentStatus, elapsed time.Duration) {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	p.frame++
	for _, s := range statuses {
		mark := spinner[p.frame%len(spinner)]
		switch {
		case s.Ready:
			mark = "✓"
		case s.Failed:
			mark = "✗"
		}
		fmt.Fprintf(&b, "\x1b[2K   %s %-28s %s\n", mark, s.Name, s.Summary())
	}
	fmt.Fprintf(&b, "\x1b[2K   %s elapsed\n", elapsed.Round(time.Second))
	p.drawn = len(statuses) + 1
	io.WriteString(p.w, b.String())
}

// Discard is a Progress that prints nothing.
type Discard struct{}

// Step implements Progress.
func (Discard) Step(string) {}

// StepDone implements Progress.
func (Discard) StepDone(error) {}

// Components implements Progress.
func (Discard) Components([]ComponentStatus, time.Duration) {}
