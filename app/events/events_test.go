package events

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

const (
	sha1 = "1111111111111111111111111111111111111111"
	sha2 = "2222222222222222222222222222222222222222"
)

var testRepo = forge.Repo{Forge: forge.GitHub, ID: 42, Owner: "Alice", Name: "pkgs", DefaultBranch: "main",
	CloneURL: "https://example.org/alice/pkgs.git"}

func push(delivery, branch, sha string) *forge.Event {
	return &forge.Event{Forge: forge.GitHub, DeliveryID: delivery, Kind: forge.KindPush, Repo: testRepo,
		Ref: "refs/heads/" + branch, SHA: sha, Actor: forge.User{Login: "alice"}}
}

// deliver stores ev through the inbox, as the webhook handler does, and processes it.
func (h *harness) deliver(t *testing.T, ev *forge.Event) {
	t.Helper()
	dup, err := h.svc.Inbox().Put(context.Background(), ev)
	if err != nil || dup {
		t.Fatalf("inbox: dup %v err %v", dup, err)
	}
	h.svc.ProcessPending(context.Background())
}

func (h *harness) builds(t *testing.T) []store.Build {
	t.Helper()
	repo, err := h.svc.store.RepositoryByPath(context.Background(), "alice", "PKGS")
	if err != nil {
		t.Fatal(err)
	}
	bs, err := h.svc.store.ListBuilds(context.Background(), store.BuildQuery{RepoID: repo.ID})
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func (h *harness) jobs(t *testing.T, buildID int64) []store.Job {
	t.Helper()
	js, err := h.svc.store.JobsOfBuild(context.Background(), buildID)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestPushToDefaultBranchQueuesOneJobPerCell(t *testing.T) {
	h := newHarness(t)
	h.deliver(t, push("d1", "main", sha1))

	bs := h.builds(t)
	if len(bs) != 1 || bs[0].Ref != (store.Ref{Kind: store.RefBranch, Name: "main"}) || bs[0].CommitSHA != sha1 || bs[0].Status != store.StatusQueued {
		t.Fatalf("builds: %+v", bs)
	}
	jobs := h.jobs(t, bs[0].ID)
	if len(jobs) != 5 {
		t.Fatalf("default matrix is 1 series (25.12) × 5 archs, got %d jobs", len(jobs))
	}
	if got := h.queued(t); got != 5 {
		t.Fatalf("queued %d", got)
	}
	checks, _, _ := h.forge.Snapshot()
	if len(checks) != 5 {
		t.Fatalf("want 5 queued checks, got %d", len(checks))
	}
	for i, c := range checks {
		j := jobs[i]
		if c.State != forge.CheckQueued || c.Name != "openwrt-ppa: 25.12/"+j.Arch || c.SHA != sha1 {
			t.Errorf("check %d: %+v", i, c)
		}
		if want := "https://ppa.example.org/Alice/pkgs/main/25.12/" + j.Arch + "/"; c.FeedURL != want {
			t.Errorf("feed URL %q, want %q", c.FeedURL, want)
		}
		if j.CheckRunID == "" {
			t.Errorf("job %d did not keep its check id", j.ID)
		}
		if !strings.HasPrefix(j.Image, "ghcr.io/openwrt/sdk:"+j.Arch+"-25.12.") {
			t.Errorf("job image %q", j.Image)
		}
	}
}

func TestEventsThatDoNotBuild(t *testing.T) {
	cases := []struct {
		name string
		ev   *forge.Event
	}{
		{"other branch without branches glob", push("d1", "feature", sha1)},
		{"ping", &forge.Event{Forge: forge.GitHub, DeliveryID: "d2", Kind: forge.KindPing, Repo: testRepo}},
		{"fork pull request", &forge.Event{Forge: forge.GitHub, DeliveryID: "d3", Kind: forge.KindPullUpdated, Repo: testRepo,
			SHA: sha1, Pull: &forge.Pull{Number: 3, FromFork: true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.deliver(t, tc.ev)
			if q := h.queued(t); q != 0 {
				t.Fatalf("queued %v", q)
			}
			if evs, _ := h.svc.store.UnprocessedEvents(context.Background(), 10); len(evs) != 0 {
				t.Fatalf("event left unprocessed: %+v", evs)
			}
		})
	}
}

func TestConfigDrivesMatrixAndBranches(t *testing.T) {
	h := newHarness(t)
	h.forge.Files[sha1+":.openwrt-ppa.yml"] = []byte("series: [23.05, \"24.10\", 25.12]\narchs: [x86_64]\nbranches: [\"release/*\"]\n")
	h.deliver(t, push("d1", "release/1.x", sha1))
	bs := h.builds(t)
	if len(bs) != 1 {
		t.Fatalf("builds %+v", bs)
	}
	jobs := h.jobs(t, bs[0].ID)
	got := map[string]store.Status{}
	for _, j := range jobs {
		got[j.Series+"/"+j.Arch] = j.Status
	}
	want := map[string]store.Status{"23.05/x86_64": store.StatusQueued, "24.10/x86_64": store.StatusQueued, "25.12/x86_64": store.StatusQueued}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s (all: %v)", k, got[k], v, got)
		}
	}
	checks, _, _ := h.forge.Snapshot()
	var apk *forge.Check
	for i := range checks {
		if checks[i].Name == "openwrt-ppa: 25.12/x86_64" {
			apk = &checks[i]
		}
		if strings.Contains(checks[i].FeedURL, "/release~1.x/") == false && checks[i].FeedURL != "" {
			t.Errorf("feed URL %q does not map the branch's / to ~", checks[i].FeedURL)
		}
	}
	// 25.12 builds apk feeds: its job is queued like the others, never failed at once.
	if apk == nil || apk.State != forge.CheckQueued {
		t.Fatalf("the apk series must be queued like the others: %+v", apk)
	}
}

func TestConfigMistakeIsReportedWithItsLine(t *testing.T) {
	h := newHarness(t)
	h.forge.Files[sha1+":.openwrt-ppa.yml"] = []byte("series: [\"24.10\"]\narchz: [x86_64]\n")
	h.deliver(t, push("d1", "main", sha1))
	if q := h.queued(t); q != 0 {
		t.Fatalf("a broken config must not build; queued %v", q)
	}
	checks, _, _ := h.forge.Snapshot()
	if len(checks) != 1 || checks[0].State != forge.CheckFailure || !strings.Contains(checks[0].Summary, ".openwrt-ppa.yml:2") {
		t.Fatalf("checks %+v", checks)
	}
}

func TestNewerPushCancelsOlderQueuedJobs(t *testing.T) {
	h := newHarness(t)
	h.deliver(t, push("d1", "main", sha1))
	h.deliver(t, push("d2", "main", sha2))
	bs := h.builds(t) // newest first
	if len(bs) != 2 {
		t.Fatalf("builds %+v", bs)
	}
	for _, j := range h.jobs(t, bs[1].ID) {
		if j.Status != store.StatusCancelled {
			t.Errorf("old job %d is %s, want cancelled", j.ID, j.Status)
		}
	}
	old, _ := h.svc.store.Build(context.Background(), bs[1].ID)
	if old.Status != store.StatusCancelled {
		t.Errorf("old build is %s", old.Status)
	}
	for _, j := range h.jobs(t, bs[0].ID) {
		if j.Status != store.StatusQueued {
			t.Errorf("new job %d is %s", j.ID, j.Status)
		}
	}
}

func TestRebuildCommentNeedsWriteAccess(t *testing.T) {
	comment := func(delivery, login string, kind forge.Kind) *forge.Event {
		return &forge.Event{Forge: forge.GitHub, DeliveryID: delivery, Kind: kind, Repo: testRepo,
			Actor: forge.User{Login: login}, Pull: &forge.Pull{Number: 7}, Comment: &forge.CommentRef{ID: 99, PullNumber: 7}}
	}
	h := newHarness(t)
	h.forge.Writers["maintainer"] = true
	h.forge.Pulls[7] = forge.Pull{Number: 7, HeadSHA: sha2, FromFork: true}

	h.deliver(t, comment("c1", "stranger", forge.KindRebuild))
	if q := h.queued(t); q != 0 {
		t.Fatalf("an outsider's /rebuild queued %v", q)
	}
	_, replies, reacts := h.forge.Snapshot()
	if len(replies) != 1 || !strings.HasPrefix(replies[0], "@stranger, only people with write access") || !slices.Contains(h.forge.Calls(), "Reply #7") {
		t.Fatalf("replies %q, calls %q: want one polite reply on pull request 7", replies, h.forge.Calls())
	}
	if len(reacts) != 1 || reacts[0] != forge.ReactionConfused {
		t.Fatalf("reactions %v", reacts)
	}

	h.deliver(t, comment("c2", "maintainer", forge.KindRebuild))
	bs := h.builds(t)
	if len(bs) != 1 || bs[0].Ref != store.PRRef(7) || bs[0].CommitSHA != sha2 || !bs[0].Forced || bs[0].Trigger != store.TriggerComment {
		t.Fatalf("builds %+v", bs)
	}
	if q := h.queued(t); q != 5 {
		t.Fatalf("queued %v", q)
	}
	checks, _, _ := h.forge.Snapshot()
	if !strings.Contains(checks[0].FeedURL, "/Alice/pkgs/-/pr/7/25.12/") {
		t.Fatalf("PR feed URL %q", checks[0].FeedURL)
	}
}

func TestRedeliveryIsStoredOnce(t *testing.T) {
	h := newHarness(t)
	ev := push("same", "main", sha1)
	in := h.svc.Inbox()
	if dup, err := in.Put(context.Background(), ev); dup || err != nil {
		t.Fatal(dup, err)
	}
	if dup, err := in.Put(context.Background(), ev); !dup || err != nil {
		t.Fatalf("second delivery: dup %v err %v", dup, err)
	}
	h.svc.ProcessPending(context.Background())
	if len(h.builds(t)) != 1 {
		t.Fatal("a redelivered event built twice")
	}
}

func TestBranchDeletionRemovesItsFeeds(t *testing.T) {
	h := newHarness(t)
	h.deliver(t, &forge.Event{Forge: forge.GitHub, DeliveryID: "d", Kind: forge.KindBranchDeleted, Repo: testRepo, Ref: "refs/heads/old/x"})
	if len(h.feeds.Removed) != 1 || h.feeds.Removed[0] != "Alice/pkgs old/x" {
		t.Fatalf("removed %v", h.feeds.Removed)
	}
}

func TestUninstallDisablesRepository(t *testing.T) {
	h := newHarness(t)
	h.deliver(t, &forge.Event{Forge: forge.GitHub, DeliveryID: "i1", Kind: forge.KindInstalled, Installation: 5, Repos: []forge.Repo{testRepo}})
	h.deliver(t, &forge.Event{Forge: forge.GitHub, DeliveryID: "i2", Kind: forge.KindUninstalled, Installation: 5, Repos: []forge.Repo{testRepo}})
	h.deliver(t, push("d1", "main", sha1))
	if q := h.queued(t); q != 0 {
		t.Fatalf("a disabled repository built: %v", q)
	}
	r, err := h.svc.store.RepositoryByPath(context.Background(), "alice", "pkgs")
	if err != nil || !r.Disabled || r.InstallationID != 5 {
		t.Fatalf("repo %+v err %v", r, err)
	}
}

func TestReservedOwnerIsRefusedWithAReason(t *testing.T) {
	h := newHarness(t)
	ev := push("d1", "main", sha1)
	ev.Repo.Owner = "api"
	h.deliver(t, ev)
	checks, _, _ := h.forge.Snapshot()
	if len(checks) != 1 || checks[0].State != forge.CheckFailure || !strings.Contains(checks[0].Summary, "keeps for its own pages") {
		t.Fatalf("checks %+v", checks)
	}
}

func TestUnreachableForgeLeavesTheEventForLaterWithoutSpinning(t *testing.T) {
	h := newHarness(t)
	h.forge.SetReadErr(errors.New("GitHub is down"))
	done := make(chan struct{})
	go func() {
		h.deliver(t, push("d1", "main", sha1)) // returns: the event waits for its retry
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ProcessPending spins on an event it must retry")
	}
	ctx := context.Background()
	if evs, _ := h.svc.store.UnprocessedEvents(ctx, 10); len(evs) != 1 {
		t.Fatalf("the event must wait for a retry, unprocessed: %d", len(evs))
	}
	h.forge.SetReadErr(nil)
	// It waits for its retry time; a newer event goes ahead meanwhile.
	h.deliver(t, &forge.Event{Forge: forge.GitHub, DeliveryID: "d2", Kind: forge.KindInstalled, Repos: []forge.Repo{testRepo}})
	if evs, _ := h.svc.store.UnprocessedEvents(ctx, 10); len(evs) != 1 || evs[0].DeliveryID != "d1" || h.queued(t) != 0 {
		t.Fatalf("before its retry time: %d unprocessed, %d queued; want only d1 waiting", len(evs), h.queued(t))
	}
	h.clock = func() time.Time { return time.Now().Add(11 * time.Second) }
	h.svc.ProcessPending(ctx)
	if evs, _ := h.svc.store.UnprocessedEvents(ctx, 10); len(evs) != 0 || h.queued(t) != 5 {
		t.Fatalf("after the forge came back: %d unprocessed, %d queued", len(evs), h.queued(t))
	}
}

func TestEventThatFailsForAnHourIsDropped(t *testing.T) {
	h := newHarness(t)
	h.forge.SetReadErr(errors.New("GitHub is down"))
	h.clock = func() time.Time { return time.Now().Add(2 * time.Hour) }
	h.deliver(t, push("d1", "main", sha1))
	if evs, _ := h.svc.store.UnprocessedEvents(context.Background(), 10); len(evs) != 0 {
		t.Fatal("an event failing for over an hour must be dropped, not retried forever")
	}
}

// A captured delivery sent again under a new delivery id (which GitHub's signature does not
// cover) is answered as seen and not built again; a different delivery still is.
func TestReplayUnderANewDeliveryIDIsDropped(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	in := h.svc.Inbox()
	first := push("d1", "main", sha1)
	first.BodySHA256 = "same-body" // as the webhook handler sets it
	if dup, err := in.Put(ctx, first); dup || err != nil {
		t.Fatal(dup, err)
	}
	replay := *first
	replay.DeliveryID = "d-replayed"
	if dup, err := in.Put(ctx, &replay); !dup || err != nil {
		t.Fatalf("replay: dup %v err %v", dup, err)
	}
	other := push("d3", "main", sha2)
	other.BodySHA256 = "other-body"
	if dup, err := in.Put(ctx, other); dup || err != nil {
		t.Fatalf("a new push was taken for a replay: %v %v", dup, err)
	}
	h.svc.ProcessPending(ctx)
	if bs := h.builds(t); len(bs) != 2 {
		t.Fatalf("%d builds, want 2 (the replay dropped)", len(bs))
	}
	if evs, _ := h.svc.store.UnprocessedEvents(ctx, 10); len(evs) != 0 {
		t.Fatalf("left unprocessed: %+v", evs)
	}
}

// An older push whose event is retried after a newer push was built does not roll the branch
// back to the older commit.
func TestRetriedOlderPushDoesNotReplaceANewerBuild(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	in := h.svc.Inbox()
	h.forge.SetReadErr(errors.New("down"))
	if _, err := in.Put(ctx, push("old", "main", sha1)); err != nil {
		t.Fatal(err)
	}
	h.svc.ProcessPending(ctx) // fails: waits for a retry
	h.forge.SetReadErr(nil)
	time.Sleep(5 * time.Millisecond) // the newer push arrives later
	h.deliver(t, push("new", "main", sha2))
	h.clock = func() time.Time { return time.Now().Add(time.Minute) }
	h.svc.ProcessPending(ctx)
	bs := h.builds(t)
	if len(bs) != 1 || bs[0].CommitSHA != sha2 {
		t.Fatalf("builds %+v: the retried older push must not build", bs)
	}
	for _, j := range h.jobs(t, bs[0].ID) {
		if j.Status != store.StatusQueued {
			t.Fatalf("the newer build's job %d is %s", j.ID, j.Status)
		}
	}
}
