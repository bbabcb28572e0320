package storetest

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

var jobTests = []test{
	{"job/create defaults, read back in order", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		b := build(t, s, r.ID, mainRef, "abc")
		js := jobs(t, s, b.ID, "x86_64", "mipsel_24kc", "aarch64_cortex-a53")
		for _, j := range js {
			if j.ID == 0 || j.Status != store.StatusQueued || j.Created.IsZero() || j.BuildID != b.ID {
				t.Fatalf("created job lacks defaults: %+v", j)
			}
		}
		got, err := s.JobsOfBuild(c, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !equalIDs(jobIDs(got), jobIDs(js)) || got[1].Arch != "mipsel_24kc" || got[1].ContentKey != "key-mipsel_24kc" {
			t.Fatalf("JobsOfBuild = %+v, want %+v", got, js)
		}
		if none, err := s.JobsOfBuild(c, 999); err != nil || len(none) != 0 {
			t.Fatalf("JobsOfBuild(unknown) = %v, %v; want empty", none, err)
		}
	}},
	{"job/create is all or none", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		b := build(t, s, r.ID, mainRef, "abc")
		_, err := s.CreateJobs(c, []store.Job{{BuildID: b.ID, Series: "24.10", Arch: "x86_64"}, {BuildID: b.ID, Series: "24.10"}})
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("job without arch: %v, want ErrInvalid", err)
		}
		_, err = s.CreateJobs(c, []store.Job{{BuildID: b.ID, Series: "24.10", Arch: "x86_64"}, {BuildID: 999, Series: "24.10", Arch: "x86_64"}})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("job of unknown build: %v, want ErrNotFound", err)
		}
		if got, _ := s.JobsOfBuild(c, b.ID); len(got) != 0 {
			t.Fatalf("a refused CreateJobs stored %d jobs", len(got))
		}
	}},
	{"job/update round-trips every field and refuses on fn error", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		j := jobs(t, s, build(t, s, r.ID, mainRef, "abc").ID, "x86_64")[0]
		now := time.Now().UTC().Truncate(time.Millisecond)
		result := json.RawMessage(`{"packages":[{"name":"hello","version":"1.0-r1","ok":true}]}`)
		got, err := s.UpdateJob(c, j.ID, func(j *store.Job) error {
			j.Status, j.CheckRunID, j.Result, j.LogPath = store.StatusSuccess, "12345", result, "1/2.log"
			j.Started, j.Finished, j.Attempts, j.WorkerID, j.Image = now.Add(-time.Second), now, 2, "w1", "sdk:x86-64"
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.Job(c, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []store.Job{got, again} {
			if x.Status != store.StatusSuccess || x.CheckRunID != "12345" || x.LogPath != "1/2.log" || x.Attempts != 2 ||
				x.WorkerID != "w1" || x.Image != "sdk:x86-64" || !x.Finished.Equal(now) || !x.Started.Equal(now.Add(-time.Second)) ||
				!jsonEqual(x.Result, result) || x.BuildID != j.BuildID {
				t.Fatalf("job after update = %+v", x)
			}
		}
		done := errors.New("job already final")
		_, err = s.UpdateJob(c, j.ID, func(j *store.Job) error {
			if j.Status.Final() {
				return done
			}
			j.Status = store.StatusRunning
			return nil
		})
		if !errors.Is(err, done) {
			t.Fatalf("refused transition: %v", err)
		}
		if _, err := s.UpdateJob(c, 999, func(*store.Job) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateJob(999) = %v", err)
		}
		if _, err := s.Job(c, 999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Job(999) = %v", err)
		}
	}},
	{"job/concurrent updates do not lose writes", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		j := jobs(t, s, build(t, s, r.ID, mainRef, "abc").ID, "x86_64")[0]
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for range 20 {
			wg.Go(func() {
				_, err := s.UpdateJob(c, j.ID, func(j *store.Job) error { j.Attempts++; return nil })
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := s.Job(c, j.ID); got.Attempts != 20 {
			t.Fatalf("20 concurrent increments gave Attempts = %d", got.Attempts)
		}
	}},
	{"job/latest successful by content key", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		finish := func(j store.Job, st store.Status, at time.Time) {
			t.Helper()
			if _, err := s.UpdateJob(c, j.ID, func(j *store.Job) error { j.Status, j.Finished = st, at; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		base := time.Now().Add(-time.Hour)
		a := jobs(t, s, build(t, s, r.ID, mainRef, "1").ID, "x86_64")[0]
		b := jobs(t, s, build(t, s, r.ID, mainRef, "2").ID, "x86_64")[0]
		f := jobs(t, s, build(t, s, r.ID, mainRef, "3").ID, "x86_64")[0]
		q := jobs(t, s, build(t, s, r.ID, mainRef, "4").ID, "x86_64")[0]
		if _, err := s.LatestSuccessfulJob(c, "key-x86_64"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("before any success: %v, want ErrNotFound", err)
		}
		finish(b, store.StatusSuccess, base.Add(2*time.Minute))
		finish(a, store.StatusSuccess, base.Add(time.Minute)) // finished earlier, recorded later
		finish(f, store.StatusFailure, base.Add(3*time.Minute))
		_ = q // still queued
		got, err := s.LatestSuccessfulJob(c, "key-x86_64")
		if err != nil || got.ID != b.ID {
			t.Fatalf("LatestSuccessfulJob = %+v, %v; want job %d", got, err, b.ID)
		}
		if _, err := s.LatestSuccessfulJob(c, "key-other"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown key: %v", err)
		}
		// A success later undone (a rerun marks it failed) is no longer reused.
		finish(b, store.StatusFailure, base.Add(4*time.Minute))
		if got, err := s.LatestSuccessfulJob(c, "key-x86_64"); err != nil || got.ID != a.ID {
			t.Fatalf("after b failed: %+v, %v; want job %d", got, err, a.ID)
		}
	}},
	{"job/pending jobs of older builds on the same ref", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		other := repo(t, s, "github", "2", "a", "c")
		old := jobs(t, s, build(t, s, r.ID, mainRef, "1").ID, "x86_64", "mips_24kc", "arm")
		if _, err := s.UpdateJob(c, old[0].ID, func(j *store.Job) error { j.Status = store.StatusRunning; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateJob(c, old[2].ID, func(j *store.Job) error { j.Status = store.StatusSuccess; return nil }); err != nil {
			t.Fatal(err)
		}
		jobs(t, s, build(t, s, r.ID, devRef, "2").ID, "x86_64")      // other ref
		jobs(t, s, build(t, s, other.ID, mainRef, "3").ID, "x86_64") // other repository
		newer := build(t, s, r.ID, mainRef, "4")
		jobs(t, s, newer.ID, "x86_64")
		got, err := s.PendingJobsBefore(c, r.ID, mainRef, newer.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{old[0].ID, old[1].ID}; !equalIDs(jobIDs(got), want) {
			t.Fatalf("PendingJobsBefore = %v, want %v (running and queued of the old main build)", jobIDs(got), want)
		}
		for _, j := range got {
			if _, err := s.UpdateJob(c, j.ID, func(j *store.Job) error { j.Status = store.StatusCancelled; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := s.PendingJobsBefore(c, r.ID, mainRef, newer.ID); len(got) != 0 {
			t.Fatalf("cancelled jobs still pending: %v", jobIDs(got))
		}
	}},
	{"job/pending jobs of every repository, paged", func(t *testing.T, s store.Store) {
		c := ctx(t)
		a := repo(t, s, "github", "1", "a", "b")
		b := repo(t, s, "gitlab", "2", "c", "d")
		ja := jobs(t, s, build(t, s, a.ID, mainRef, "1").ID, "x86_64", "mips_24kc")
		jb := jobs(t, s, build(t, s, b.ID, tagRef, "2").ID, "x86_64", "arm")
		if _, err := s.UpdateJob(c, ja[1].ID, func(j *store.Job) error { j.Status = store.StatusFailure; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateJob(c, jb[0].ID, func(j *store.Job) error { j.Status = store.StatusRunning; return nil }); err != nil {
			t.Fatal(err)
		}
		got, err := s.PendingJobs(c, 0, 2)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{ja[0].ID, jb[0].ID}; !equalIDs(jobIDs(got), want) {
			t.Fatalf("PendingJobs page 1 = %v, want %v", jobIDs(got), want)
		}
		got, _ = s.PendingJobs(c, got[1].ID, 2)
		if want := []int64{jb[1].ID}; !equalIDs(jobIDs(got), want) {
			t.Fatalf("PendingJobs page 2 = %v, want %v", jobIDs(got), want)
		}
	}},
	{"job/expired logs beyond the newest builds per ref", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		var mainJobs, devJobs []store.Job
		for i := range 4 {
			mainJobs = append(mainJobs, jobs(t, s, build(t, s, r.ID, mainRef, "m").ID, "x86_64")...)
			if i < 2 {
				devJobs = append(devJobs, jobs(t, s, build(t, s, r.ID, devRef, "d").ID, "x86_64")...)
			}
		}
		for _, j := range append(append([]store.Job{}, mainJobs...), devJobs...) {
			if _, err := s.UpdateJob(c, j.ID, func(j *store.Job) error { j.LogPath = "log"; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		// An old job whose log was deleted already is not listed again.
		if _, err := s.UpdateJob(c, mainJobs[0].ID, func(j *store.Job) error { j.LogPath = ""; return nil }); err != nil {
			t.Fatal(err)
		}
		got, err := s.ExpiredLogs(c, r.ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{mainJobs[1].ID}; !equalIDs(jobIDs(got), want) {
			t.Fatalf("ExpiredLogs(keep 2) = %v, want %v", jobIDs(got), want)
		}
		got, _ = s.ExpiredLogs(c, r.ID, 1)
		if want := []int64{mainJobs[1].ID, mainJobs[2].ID, devJobs[0].ID}; !equalIDs(sorted(jobIDs(got)), sorted(want)) {
			t.Fatalf("ExpiredLogs(keep 1) = %v, want %v", jobIDs(got), want)
		}
	}},
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func sorted(xs []int64) []int64 {
	out := append([]int64(nil), xs...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
