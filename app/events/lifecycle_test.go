package events

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
)

func TestClosedPullRequestFeedGoesAfterItsTime(t *testing.T) {
	h := newHarnessTTL(t, 24*time.Hour)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	h.clock = func() time.Time { return now }
	closed := func(delivery string, kind forge.Kind) *forge.Event {
		return &forge.Event{Forge: forge.GitHub, DeliveryID: delivery, Kind: kind, Repo: testRepo,
			SHA: sha1, Pull: &forge.Pull{Number: 9}}
	}
	h.deliver(t, closed("c1", forge.KindPullClosed))
	ctx := context.Background()
	if n, err := h.janitor.RemoveExpiredPRFeeds(ctx); err != nil || n != 0 {
		t.Fatalf("removed %d (%v) right after closing", n, err)
	}
	now = now.Add(25 * time.Hour)
	if n, err := h.janitor.RemoveExpiredPRFeeds(ctx); err != nil || n != 1 {
		t.Fatalf("removed %d (%v) after the TTL, want 1", n, err)
	}
	if len(h.feeds.Removed) != 1 || h.feeds.Removed[0] != "Alice/pkgs 9" {
		t.Fatalf("removed feeds %v", h.feeds.Removed)
	}
	// Reopened within the TTL: the feed stays.
	h.deliver(t, closed("c2", forge.KindPullClosed))
	h.deliver(t, closed("c3", forge.KindPullReopened))
	now = now.Add(48 * time.Hour)
	if n, _ := h.janitor.RemoveExpiredPRFeeds(ctx); n != 0 {
		t.Fatalf("a reopened pull request's feed was removed")
	}
}

func TestLongQueueSaysThePosition(t *testing.T) {
	h := newHarness(t)
	h.svc.cfg.QueueLimit = 3
	h.deliver(t, push("d1", "main", sha1)) // 5 jobs: the queue is over its limit from the 4th
	checks, _, _ := h.forge.Snapshot()
	if len(checks) != 5 {
		t.Fatalf("checks %d", len(checks))
	}
	if checks[0].Title != "queued" || !strings.Contains(checks[4].Title, "position 5") {
		t.Fatalf("titles %q … %q", checks[0].Title, checks[4].Title)
	}
}

func TestRenamedRepositoryTakesItsFeedsAlong(t *testing.T) {
	h := newHarness(t)
	h.deliver(t, &forge.Event{Forge: forge.GitHub, DeliveryID: "i1", Kind: forge.KindInstalled, Repos: []forge.Repo{testRepo}})
	oldDir := filepath.Join(h.data, "feeds", "alice", "pkgs", "main", "24.10", "x86_64")
	if err := os.MkdirAll(oldDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(oldDir, "Packages"), []byte("Package: a\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ev := push("d1", "feature", sha1) // any event of the repository under its new name
	ev.Repo.Owner, ev.Repo.Name = "corp", "router-pkgs"
	h.deliver(t, ev)
	if _, err := os.Stat(filepath.Join(h.data, "feeds", "alice", "pkgs")); !os.IsNotExist(err) {
		t.Fatalf("feeds stayed at the old path: %v", err)
	}
	if _, err := os.Stat(filepath.Join(h.data, "feeds", "corp", "router-pkgs", "main", "24.10", "x86_64", "Packages")); err != nil {
		t.Fatalf("feeds not at the new path: %v", err)
	}
}

// lookupForge is a forge whose webhooks cannot be trusted for the repository (GitLab).
type lookupForge struct {
	*forgetest.Forge
	canonical forge.Repo
}

func (l lookupForge) LookupRepo(_ context.Context, r forge.Repo) (forge.Repo, error) {
	c := l.canonical
	c.ID = r.ID
	return c, nil
}

func TestForgedRepositoryDetailsAreReplacedByTheForgesOwn(t *testing.T) {
	h := newHarness(t)
	canonical := testRepo
	canonical.CloneURL, canonical.Private = "https://example.org/alice/pkgs.git", true
	h.svc.forges[forge.GitHub] = lookupForge{Forge: h.forge, canonical: canonical}
	ev := push("d1", "main", sha1)
	ev.Repo.CloneURL, ev.Repo.Private = "https://evil.example/other.git", false
	h.deliver(t, ev)
	repo, err := h.svc.store.RepositoryByPath(context.Background(), "alice", "pkgs")
	if err != nil {
		t.Fatal(err)
	}
	if repo.CloneURL != canonical.CloneURL || !repo.Private {
		t.Fatalf("stored %+v: the delivery's clone URL and visibility were trusted", repo)
	}
}

// refForge says which refs exist, as GitLab's API does.
type refForge struct {
	*forgetest.Forge
	live map[string]bool
}

func (f refForge) RefExists(_ context.Context, _ forge.Repo, ref string) (bool, error) {
	return f.live[ref], nil
}

// A deletion delivered for a branch that still exists (a forged GitLab delivery: the token is
// shared) keeps the feeds; a real deletion removes them.
func TestDeletionOfALiveRefIsIgnored(t *testing.T) {
	h := newHarness(t)
	h.svc.forges[forge.GitHub] = refForge{Forge: h.forge, live: map[string]bool{"refs/heads/main": true}}
	del := func(delivery, branch string) *forge.Event {
		return &forge.Event{Forge: forge.GitHub, DeliveryID: delivery, Kind: forge.KindBranchDeleted, Repo: testRepo, Ref: "refs/heads/" + branch}
	}
	h.deliver(t, del("d1", "main"))
	if len(h.feeds.Removed) != 0 {
		t.Fatalf("a live branch's feeds were removed: %v", h.feeds.Removed)
	}
	h.deliver(t, del("d2", "gone"))
	if len(h.feeds.Removed) != 1 {
		t.Fatalf("a deleted branch's feeds stayed: %v", h.feeds.Removed)
	}
}
