package kubeapi

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestLeaseReleasedOnShutdownIsNoError: the line controller-runtime's manager logs when a
// leader's clean shutdown releases the lease comes out at INFO, through the loggers the
// manager derives (names, values); every other error, a lost lease with another message
// included, stays an ERROR.
func TestLeaseReleasedOnShutdownIsNoError(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		msg       string
		wantLevel string
		wantMsg   string
	}{
		{"released on shutdown", errors.New(leaderLostMsg), stopEngagedMsg, "INFO", "leader election lease released on shutdown"},
		{"another error after the stop", errors.New("cache sync timed out"), stopEngagedMsg, "ERROR", stopEngagedMsg},
		{"lease lost while running", errors.New(leaderLostMsg), "problem running manager", "ERROR", "problem running manager"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			log := managerLogger(slog.NewTextHandler(&out, nil)).WithName("manager").WithValues("controller", "build")
			log.Error(c.err, c.msg)
			line := out.String()
			if !strings.Contains(line, "level="+c.wantLevel) || !strings.Contains(line, c.wantMsg) || !strings.Contains(line, "controller=build") {
				t.Fatalf("logged %q, want level %s with %q and the logger's values", line, c.wantLevel, c.wantMsg)
			}
		})
	}
}
