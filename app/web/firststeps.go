package web

import (
	"log/slog"
	"strings"
)

// FirstStep is one way to get a first repository built. A service with no repository shows
// every way on its home page, and serve prints them in its start-up log: a new operator's
// first question is what to do next, and the answer depends on settings only the service knows.
//
// app fills Options.FirstSteps from its configuration (app/firststeps.go); a new way (adding a
// repository by its URL) is one more entry there, and the page and the log line show it as is.
type FirstStep struct {
	// Key names the way in the log line (github_app, gitlab_webhook, local_build).
	Key string
	// Title says what to do, in a few words.
	Title string
	// Ready: this service is already configured for it, only the forge side is left.
	Ready bool
	// Text says how, in a sentence or two; Lines are the exact settings, URLs and commands it
	// names, in the order to use them.
	Text  string
	Lines []string
}

// LogFirstSteps writes the ways to a first repository as one log line, one attribute per way.
func LogFirstSteps(log *slog.Logger, steps []FirstStep) {
	attrs := make([]any, 0, 2*len(steps))
	for _, s := range steps {
		state := "to set up"
		if s.Ready {
			state = "ready"
		}
		attrs = append(attrs, s.Key, s.Title+" ("+state+"): "+s.Text+" "+strings.Join(s.Lines, "; "))
	}
	log.Info("no repository is built here yet; ways to build a first one", attrs...)
}
