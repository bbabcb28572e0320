package upkeep

import (
	"context"
	"strconv"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// A crash between creating a build's jobs and queueing them must not lose the jobs, and a job
// leased by a worker of the stopped process must run again at once.
func TestReconcileQueuesPendingJobsAndReleasesLeases(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	repo, err := h.svc.store.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "1", Owner: "a", Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.svc.store.CreateBuild(ctx, store.Build{RepoID: repo.ID, CommitSHA: sha1, Ref: store.Ref{Kind: store.RefBranch, Name: "main"},
		Trigger: store.TriggerPush, Status: store.StatusQueued})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := h.svc.store.CreateJobs(ctx, []store.Job{{BuildID: b.ID, Series: "24.10", Arch: "x86_64"}, {BuildID: b.ID, Series: "24.10", Arch: "mips_24kc"}, {BuildID: b.ID, Series: "23.05", Arch: "x86_64", Status: store.StatusSuccess}})
	if err != nil {
		t.Fatal(err)
	}
	// Only the first was queued before the "crash", and a worker held it.
	if err := h.queue.Enqueue(ctx, strconv.FormatInt(jobs[0].ID, 10), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.queue.Dequeue(ctx, "dead-worker"); err != nil {
		t.Fatal(err)
	}
	if n := h.queued(t); n != 0 {
		t.Fatalf("queue has %d waiting", n)
	}
	n, err := h.svc.Reconcile(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || h.queued(t) != 2 {
		t.Fatalf("reconcile queued %d, queue has %d waiting; want the two pending jobs", n, h.queued(t))
	}
	// Running it again changes nothing.
	if _, err := h.svc.Reconcile(ctx, true); err != nil || h.queued(t) != 2 {
		t.Fatalf("second reconcile: %v, %d waiting", err, h.queued(t))
	}
}
