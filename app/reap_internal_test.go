package app

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
}
