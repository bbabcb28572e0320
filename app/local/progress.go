package local

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

func reportJob(w io.Writer, r builder.Result, took time.Duration) {
	fmt.Fprintf(w, "    %s: %s (%s)\n", r.Job.Name(), r.Message, took.Round(100*time.Millisecond))
	for _, p := range r.Packages {
		switch p.Status {
		case builder.PackageBuilt:
			fmt.Fprintf(w, "    built   %s\n", p.Name)
		case builder.PackageSkipped:
			fmt.Fprintf(w, "    skipped %s: %s\n", p.Name, p.Reason)
		case builder.PackageFailed:
			fmt.Fprintf(w, "    FAILED  %s: %s\n", p.Name, p.Reason)
			for _, l := range lastN(p.Log, 15) {
				fmt.Fprintf(w, "      | %s\n", l)
			}
		}
	}
	for _, r := range r.Refused {
		fmt.Fprintf(w, "    not collected: %s\n", r)
	}
}

func lastN(l []string, n int) []string {
	if len(l) > n {
		return l[len(l)-n:]
	}
	return l
}

// progressSink shows the driver's markers as progress and, with -v, the whole log.
type progressSink struct {
	mu    sync.Mutex
	w     io.Writer
	log   io.Writer
	start time.Time
}

func newProgressSink(w, log io.Writer, start time.Time) *progressSink {
	return &progressSink{w: w, log: log, start: start}
}

func (s *progressSink) Line(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log != nil {
		fmt.Fprintln(s.log, line)
	}
	if msg, ok := strings.CutPrefix(line, "::openwrt-ppa:: "); ok && s.log == nil {
		fmt.Fprintf(s.w, "    %6s  %s\n", time.Since(s.start).Round(time.Second), msg)
	}
}
