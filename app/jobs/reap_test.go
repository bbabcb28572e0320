package jobs

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

func TestDeadWorker(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no hostname:", err)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skip("cannot run true:", err)
	}
	dead := strconv.Itoa(gone.Process.Pid)
	cases := map[string]struct {
		id   string
		want bool
	}{
		"a process that ended":          {host + ":" + dead, true},
		"this process":                  {WorkerID(), false},
		"init, alive":                   {host + ":1", false},
		"another host":                  {host + "-other:" + dead, false},
		"no pid":                        {host, false},
		"not a number":                  {host + ":x", false},
		"zero would signal the group":   {host + ":0", false},
		"negative would signal a group": {host + ":-1", false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := deadWorker(host, c.id); got != c.want {
				t.Errorf("deadWorker(%q) = %v, want %v", c.id, got, c.want)
			}
		})
	}

	// The pid only counts in the PID namespace of the worker that made the container.
	ns := pidNamespace()
	for name, c := range map[string]struct {
		labels map[string]string
		want   bool
	}{
		"dead, same namespace":      {map[string]string{WorkerLabel: host + ":" + dead, workerPIDNSLabel: ns}, true},
		"dead, another namespace":   {map[string]string{WorkerLabel: host + ":" + dead, workerPIDNSLabel: "pid:[1]"}, false},
		"dead, namespace not known": {map[string]string{WorkerLabel: host + ":" + dead}, ns == ""},
		"alive, same namespace":     {map[string]string{WorkerLabel: WorkerID(), workerPIDNSLabel: ns}, false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := orphaned(host, ns, c.labels); got != c.want {
				t.Errorf("orphaned(%v) = %v, want %v", c.labels, got, c.want)
			}
		})
	}
}
