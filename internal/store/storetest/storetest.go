// Package storetest is the conformance suite every store.Store implementation passes, so the
// embedded and the Redis store behave the same to the service.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Opener gives each test a fresh, empty store; the suite closes it.
type Opener func(t *testing.T) store.Store

type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// Run runs the whole suite against the stores open makes.
func Run(t *testing.T, open Opener) {
	var all []test
	all = append(all, repositoryTests...)
	all = append(all, eventTests...)
	all = append(all, buildTests...)
	all = append(all, jobTests...)
	all = append(all, keyTests...)
	all = append(all, checkRunTests...)
	all = append(all, webhookSecretTests...)
	all = append(all, remoteTests...)
	all = append(all, repoConfigTests...)
	for _, tc := range all {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.run(t, s)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// repo registers a repository the test needs and fails the test if it cannot.
func repo(t *testing.T, s store.Store, forge, id, owner, name string) store.Repository {
	t.Helper()
	r, err := s.PutRepository(ctx(t), store.Repository{Forge: forge, ForgeID: id, Owner: owner, Name: name, DefaultBranch: "main"})
	if err != nil {
		t.Fatalf("PutRepository(%s/%s): %v", owner, name, err)
	}
	return r
}

func build(t *testing.T, s store.Store, repoID int64, ref store.Ref, sha string) store.Build {
	t.Helper()
	b, err := s.CreateBuild(ctx(t), store.Build{RepoID: repoID, CommitSHA: sha, Ref: ref, Trigger: store.TriggerPush, Status: store.StatusQueued})
	if err != nil {
		t.Fatalf("CreateBuild(%v): %v", ref, err)
	}
	return b
}

func jobs(t *testing.T, s store.Store, buildID int64, archs ...string) []store.Job {
	t.Helper()
	var js []store.Job
	for _, a := range archs {
		js = append(js, store.Job{BuildID: buildID, Series: "24.10", Arch: a, ContentKey: "key-" + a})
	}
	out, err := s.CreateJobs(ctx(t), js)
	if err != nil {
		t.Fatalf("CreateJobs: %v", err)
	}
	return out
}

func ids[T any](xs []T, id func(T) int64) []int64 {
	out := make([]int64, 0, len(xs))
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func buildIDs(bs []store.Build) []int64 { return ids(bs, func(b store.Build) int64 { return b.ID }) }
func jobIDs(js []store.Job) []int64     { return ids(js, func(j store.Job) int64 { return j.ID }) }

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
