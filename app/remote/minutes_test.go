package remote

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/giturl"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

type recordingInbox struct {
	mu  sync.Mutex
	evs []*forge.Event
}

func (i *recordingInbox) Put(_ context.Context, ev *forge.Event) (bool, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.evs = append(i.evs, ev)
	return true, nil
}

// TestBuildMinutesQuota: once the repositories a user added built for their month's minutes,
// a poll that finds a new commit hands nothing on and says why and what to do; the same poll
// with minutes left (here: a higher bound) builds it. Last month's builds do not count, nor do
// an admin's repositories.
func TestBuildMinutesQuota(t *testing.T) {
	ctx := context.Background()
	gs := testenv.StartGitServerTLS(t)
	sha := gs.Commit(t, "alice/pkgs", "main", map[string]string{"Makefile": "x\n"})
	st := openStore(t)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	newR := func(minutes int, inbox forge.Inbox) *Remotes {
		r, err := New(Config{Policy: giturl.Policy{AllowPrivate: true}, TLS: gs.TLS, BuildMinutes: minutes, BaseURL: "https://ppa.example"},
			Deps{Store: st, Inbox: inbox, CacheDir: t.TempDir(), Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	in := &recordingInbox{}
	r := newR(30, in)
	a, err := r.Add(ctx, AddRequest{URL: gs.RepoURL("alice/pkgs"), AddedBy: "github:alice"})
	if err != nil {
		t.Fatal(err)
	}
	addBuild(t, st, a.Repo.ID, now.AddDate(0, -1, 0), 100*time.Minute)                // last month: not counted
	addBuild(t, st, a.Repo.ID, now.Add(-2*time.Hour), 20*time.Minute, 15*time.Minute) // this month: 35 minutes in two jobs
	if used, err := r.minutesUsed(ctx, "github:alice", now); err != nil || used != 35*time.Minute {
		t.Fatalf("alice used %v (%v), want 35m", used, err)
	}
	if used, _ := r.minutesUsed(ctx, "github:bob", now); used != 0 {
		t.Fatalf("bob used %v", used)
	}

	if err := r.Poll(ctx, a.Repo.ID); err != nil {
		t.Fatal(err)
	}
	rem, _ := st.Remote(ctx, a.Repo.ID)
	if len(in.evs) != 0 || rem.Refs != nil || rem.Failures != 0 ||
		!strings.Contains(rem.LastError, "35 of the 30 minutes") || !strings.Contains(rem.LastError, "from 2027-01-01") || !strings.Contains(rem.LastError, "ask the operator") {
		t.Fatalf("over the quota: %d events, refs %v, failures %d, error %q", len(in.evs), rem.Refs, rem.Failures, rem.LastError)
	}

	more := &recordingInbox{}
	if err := newR(60, more).Poll(ctx, a.Repo.ID); err != nil {
		t.Fatal(err)
	}
	rem, _ = st.Remote(ctx, a.Repo.ID)
	if len(more.evs) != 1 || more.evs[0].SHA != sha || rem.LastError != "" || rem.Refs["refs/heads/main"] != sha {
		t.Fatalf("with minutes left: events %v, remote %+v", more.evs, rem)
	}
	if msg, err := r.quotaRefusal(ctx, store.Remote{AddedBy: AddedByAdmin}); msg != "" || err != nil {
		t.Fatalf("an admin's repository: %q %v", msg, err)
	}
}

// addBuild stores a finished build of repoID made at created, with a job for each run time.
func addBuild(t *testing.T, st store.Store, repoID int64, created time.Time, ran ...time.Duration) {
	t.Helper()
	ctx := context.Background()
	b, err := st.CreateBuild(ctx, store.Build{RepoID: repoID, CommitSHA: "c0", Ref: store.Ref{Kind: store.RefBranch, Name: "main"},
		Trigger: store.TriggerPush, Status: store.StatusSuccess, Created: created})
	if err != nil {
		t.Fatal(err)
	}
	var jobs []store.Job
	for i, d := range ran {
		jobs = append(jobs, store.Job{BuildID: b.ID, Series: "24.10", Arch: []string{"x86_64", "mipsel_24kc"}[i], Status: store.StatusSuccess,
			Created: created, Started: created, Finished: created.Add(d)})
	}
	if _, err := st.CreateJobs(ctx, jobs); err != nil {
		t.Fatal(err)
	}
}

// TestBuildsByHandObeyTheQuota: the refusal the event stage asks before a build by hand
// (BuildRefusal) is the poller's: a repository by URL whose adder used up the month's minutes
// is refused with the minutes used, the limit, the day they come back and what to do; a
// repository with minutes left, an admin's and one of another forge are not.
func TestBuildsByHandObeyTheQuota(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	r, err := New(Config{BuildMinutes: 30}, Deps{Store: st, Inbox: &recordingInbox{}, CacheDir: t.TempDir(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	repoBy := func(forgeName, id, addedBy string, ran time.Duration) store.Repository {
		repo, err := st.PutRepository(ctx, store.Repository{Forge: forgeName, ForgeID: id, Owner: "o" + id, Name: "pkgs", CloneURL: "https://git.example.org/" + id + ".git"})
		if err != nil {
			t.Fatal(err)
		}
		if addedBy != "" {
			if _, err := st.PutRemote(ctx, store.Remote{RepoID: repo.ID, URL: repo.CloneURL, AddedBy: addedBy}); err != nil {
				t.Fatal(err)
			}
		}
		addBuild(t, st, repo.ID, now.Add(-time.Hour), ran)
		return repo
	}
	cases := []struct {
		name string
		repo store.Repository
		want []string // nil: not refused
	}{
		{"over", repoBy(store.ForgeGit, "1", "github:alice", 35*time.Minute),
			[]string{"github:alice added built for 35 of the 30 minutes", "from 2027-01-01", "ask the operator to raise the limit"}},
		{"within", repoBy(store.ForgeGit, "2", "github:bob", 29*time.Minute), nil},
		{"an admin's", repoBy(store.ForgeGit, "3", AddedByAdmin, 90*time.Minute), nil},
		{"another forge's", repoBy("github", "4", "", 90*time.Minute), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			why, err := r.BuildRefusal(ctx, c.repo)
			if err != nil {
				t.Fatal(err)
			}
			if c.want == nil && why != "" {
				t.Fatalf("refused: %q", why)
			}
			for _, w := range c.want {
				if !strings.Contains(why, w) {
					t.Errorf("refusal %q does not say %q", why, w)
				}
			}
		})
	}
}
