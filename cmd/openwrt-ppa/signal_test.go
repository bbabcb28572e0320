package main

import "testing"

// TestStopsBySignal: serve and worker are stopped by SIGTERM as a matter of course (an init
// system, a pod's termination) and exit 0 after a clean shutdown; a build stopped by a signal
// exits 128+signal, as shells do.
func TestStopsBySignal(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"serve", "--data", "d"}, true},
		{[]string{"worker"}, true},
		{[]string{"build", "."}, false},
		{[]string{"keys", "export"}, false},
		{nil, false},
	} {
		if got := stopsBySignal(tc.args); got != tc.want {
			t.Errorf("stopsBySignal(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
