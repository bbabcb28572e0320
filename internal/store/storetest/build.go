package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

var (
	mainRef = store.Ref{Kind: store.RefBranch, Name: "main"}
	devRef  = store.Ref{Kind: store.RefBranch, Name: "release/1"}
	tagRef  = store.Ref{Kind: store.RefTag, Name: "v1.0"}
)

var buildTests = []test{
	{"build/create and read back", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		in := store.Build{RepoID: r.ID, CommitSHA: "abc", Ref: store.PRRef(12), Trigger: store.TriggerComment, Actor: "alice", Forced: true, Status: store.StatusQueued, DeliveryID: "d1"}
		b, err := s.CreateBuild(c, in)
		if err != nil {
			t.Fatal(err)
		}
		if b.ID == 0 || b.Created.IsZero() {
			t.Fatalf("created build lacks id or created: %+v", b)
		}
		got, err := s.Build(c, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		in.ID, in.Created = b.ID, b.Created
		if !sameBuild(got, in) || got.Ref.PRNumber() != 12 {
			t.Fatalf("Build() = %+v, want %+v", got, in)
		}
		b2 := build(t, s, r.ID, mainRef, "def")
		if b2.ID <= b.ID {
			t.Fatalf("build ids do not increase: %d then %d", b.ID, b2.ID)
		}
	}},
	{"build/refused when invalid or repository missing", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		for name, b := range map[string]store.Build{
			"bad kind":    {RepoID: r.ID, CommitSHA: "a", Ref: store.Ref{Kind: "head", Name: "x"}, Trigger: store.TriggerPush, Status: store.StatusQueued},
			"pr not num":  {RepoID: r.ID, CommitSHA: "a", Ref: store.Ref{Kind: store.RefPR, Name: "feature"}, Trigger: store.TriggerPush, Status: store.StatusQueued},
			"no trigger":  {RepoID: r.ID, CommitSHA: "a", Ref: mainRef, Status: store.StatusQueued},
			"bad status":  {RepoID: r.ID, CommitSHA: "a", Ref: mainRef, Trigger: store.TriggerPush, Status: "done"},
			"no sha":      {RepoID: r.ID, Ref: mainRef, Trigger: store.TriggerPush, Status: store.StatusQueued},
			"empty named": {RepoID: r.ID, CommitSHA: "a", Ref: store.Ref{Kind: store.RefTag}, Trigger: store.TriggerTag, Status: store.StatusQueued},
		} {
			if _, err := s.CreateBuild(c, b); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s: CreateBuild = %v, want ErrInvalid", name, err)
			}
		}
		if _, err := s.CreateBuild(c, store.Build{RepoID: 999, CommitSHA: "a", Ref: mainRef, Trigger: store.TriggerPush, Status: store.StatusQueued}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown repository: %v, want ErrNotFound", err)
		}
		if _, err := s.Build(c, 999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Build(999) = %v", err)
		}
	}},
	{"build/update changes fields, keeps identity, aborts on fn error", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		b := build(t, s, r.ID, mainRef, "abc")
		started := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
		got, err := s.UpdateBuild(c, b.ID, func(b *store.Build) error {
			b.Status, b.Started = store.StatusRunning, started
			b.ID, b.RepoID, b.Ref = 77, 77, tagRef // ignored
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != b.ID || got.RepoID != r.ID || got.Ref != mainRef || got.Status != store.StatusRunning || !got.Started.Equal(started) {
			t.Fatalf("UpdateBuild returned %+v", got)
		}
		stop := errors.New("already finished")
		if _, err := s.UpdateBuild(c, b.ID, func(b *store.Build) error { b.Status = store.StatusFailure; return stop }); !errors.Is(err, stop) {
			t.Fatalf("fn error not returned: %v", err)
		}
		if again, _ := s.Build(c, b.ID); again.Status != store.StatusRunning || !again.Started.Equal(started) {
			t.Fatalf("aborted update was written, or the update was lost: %+v", again)
		}
		if _, err := s.UpdateBuild(c, 999, func(*store.Build) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateBuild(999) = %v", err)
		}
		if _, err := s.UpdateBuild(c, b.ID, func(b *store.Build) error { b.Status = "nope"; return nil }); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("update to a bad status = %v, want ErrInvalid", err)
		}
	}},
	{"build/latest per ref", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		other := repo(t, s, "github", "2", "a", "c")
		build(t, s, r.ID, mainRef, "1")
		m2 := build(t, s, r.ID, mainRef, "2")
		d1 := build(t, s, r.ID, devRef, "3")
		p1 := build(t, s, r.ID, store.PRRef(5), "4")
		t1 := build(t, s, r.ID, tagRef, "5")
		build(t, s, other.ID, mainRef, "6")
		got, err := s.LatestBuild(c, r.ID, mainRef)
		if err != nil || got.ID != m2.ID {
			t.Fatalf("LatestBuild(main) = %+v, %v; want build %d", got, err, m2.ID)
		}
		if _, err := s.LatestBuild(c, r.ID, store.Ref{Kind: store.RefBranch, Name: "gone"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("LatestBuild(unbuilt) = %v", err)
		}
		all, err := s.LatestBuilds(c, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{t1.ID, p1.ID, d1.ID, m2.ID}; !equalIDs(buildIDs(all), want) {
			t.Fatalf("LatestBuilds = %v, want %v", buildIDs(all), want)
		}
	}},
	{"build/list filters and pages newest first", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		var bs []store.Build
		for i, ref := range []store.Ref{mainRef, devRef, mainRef, tagRef, mainRef} {
			bs = append(bs, build(t, s, r.ID, ref, string(rune('a'+i))))
		}
		if _, err := s.UpdateBuild(c, bs[2].ID, func(b *store.Build) error { b.Status = store.StatusSuccess; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateBuild(c, store.Build{RepoID: r.ID, CommitSHA: "z", Ref: mainRef, Trigger: store.TriggerAPI, Status: store.StatusQueued}); err != nil {
			t.Fatal(err)
		}
		id := func(i int) int64 { return bs[i].ID }
		for name, tc := range map[string]struct {
			q    store.BuildQuery
			want []int64
		}{
			"all":          {store.BuildQuery{RepoID: r.ID, Trigger: store.TriggerPush}, []int64{id(4), id(3), id(2), id(1), id(0)}},
			"main":         {store.BuildQuery{RepoID: r.ID, Ref: mainRef, Trigger: store.TriggerPush}, []int64{id(4), id(2), id(0)}},
			"branches":     {store.BuildQuery{RepoID: r.ID, Ref: store.Ref{Kind: store.RefBranch}, Trigger: store.TriggerPush}, []int64{id(4), id(2), id(1), id(0)}},
			"success":      {store.BuildQuery{RepoID: r.ID, Status: store.StatusSuccess}, []int64{id(2)}},
			"page 1":       {store.BuildQuery{RepoID: r.ID, Trigger: store.TriggerPush, Limit: 2}, []int64{id(4), id(3)}},
			"page 2":       {store.BuildQuery{RepoID: r.ID, Trigger: store.TriggerPush, Limit: 2, Before: id(3)}, []int64{id(2), id(1)}},
			"page 2, main": {store.BuildQuery{RepoID: r.ID, Ref: mainRef, Trigger: store.TriggerPush, Limit: 1, Before: id(4)}, []int64{id(2)}},
		} {
			got, err := s.ListBuilds(c, tc.q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !equalIDs(buildIDs(got), tc.want) {
				t.Errorf("%s: ListBuilds = %v, want %v", name, buildIDs(got), tc.want)
			}
		}
	}},
}

func sameBuild(a, b store.Build) bool {
	return a.ID == b.ID && a.RepoID == b.RepoID && a.CommitSHA == b.CommitSHA && a.Ref == b.Ref &&
		a.Trigger == b.Trigger && a.Actor == b.Actor && a.Forced == b.Forced && a.Status == b.Status &&
		a.Created.Equal(b.Created) && a.Started.Equal(b.Started) && a.Finished.Equal(b.Finished) &&
		a.DeliveryID == b.DeliveryID
}
