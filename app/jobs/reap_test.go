package jobs

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/apptest"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/kube"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
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

// fakeJobRemover holds sandboxes by job id and removes those the filter picks, as the
// Kubernetes executor's RemoveJobsOf does.
type fakeJobRemover struct {
	builder.Executor // never started here
	ids              []string
}

func (f *fakeJobRemover) RemoveJobsOf(_ context.Context, remove func(string) bool) (int, error) {
	var kept []string
	for _, id := range f.ids {
		if !remove(id) {
			kept = append(kept, id)
		}
	}
	n := len(f.ids) - len(kept)
	f.ids = kept
	return n, nil
}

// TestRemoveEndedJobs: the sandboxes of final and deleted jobs go; those of queued and running
// jobs stay for the worker that runs them next (it adopts them), and so does anything the
// store cannot vouch for.
func TestRemoveEndedJobs(t *testing.T) {
	ctx := context.Background()
	st, _ := apptest.Open(t, t.TempDir())
	repo, err := st.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "1", Owner: "alice", Name: "pkgs", DefaultBranch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.CreateBuild(ctx, store.Build{RepoID: repo.ID, CommitSHA: strings.Repeat("1", 40),
		Ref: store.Ref{Kind: store.RefBranch, Name: "main"}, Trigger: store.TriggerPush, Status: store.StatusRunning})
	if err != nil {
		t.Fatal(err)
	}
	statuses := []store.Status{store.StatusQueued, store.StatusRunning, store.StatusSuccess, store.StatusFailure,
		store.StatusCancelled, store.StatusTimedOut}
	var want []store.Job
	for _, s := range statuses {
		want = append(want, store.Job{BuildID: b.ID, Series: "24.10", Arch: "x86_64", Status: s})
	}
	js, err := st.CreateJobs(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeJobRemover{}
	keep := map[string]bool{"": true, "x": true, "0": true, "-3": true}
	for _, j := range js {
		id := strconv.FormatInt(j.ID, 10)
		f.ids = append(f.ids, id)
		keep[id] = j.Status.Pending()
	}
	deleted := strconv.FormatInt(js[len(js)-1].ID+100, 10) // never stored, or since deleted
	f.ids = append(f.ids, "", "x", "0", "-3", deleted)
	keep[deleted] = false
	w := &Worker{store: st, exec: f, log: slog.New(slog.DiscardHandler)}
	w.reapOrphans(ctx)
	var wantLeft []string
	for _, id := range append(idsOf(js), "", "x", "0", "-3", deleted) {
		if keep[id] {
			wantLeft = append(wantLeft, id)
		}
	}
	if strings.Join(f.ids, ",") != strings.Join(wantLeft, ",") {
		t.Fatalf("left %q, want %q", f.ids, wantLeft)
	}

	// A store that does not answer removes nothing.
	_ = st.Close()
	f.ids = append(f.ids, strconv.FormatInt(js[2].ID, 10))
	before := len(f.ids)
	w.reapOrphans(ctx)
	if len(f.ids) != before {
		t.Errorf("with the store away, removed %d", before-len(f.ids))
	}
}

func idsOf(js []store.Job) []string {
	var out []string
	for _, j := range js {
		out = append(out, strconv.FormatInt(j.ID, 10))
	}
	return out
}

// The Kubernetes executor is a jobRemover; the Docker executor's containers are reaped by
// worker process instead.
var _ jobRemover = (*kube.Executor)(nil)
