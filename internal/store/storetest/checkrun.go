package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

var checkRunTests = []test{
	{"checkrun/first claim wins, later ones read it", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		j := jobs(t, s, build(t, s, r.ID, mainRef, "abc").ID, "x86_64")[0]
		if got, err := store.ClaimCheckRun(c, s, j.ID, "101"); err != nil || got != "101" {
			t.Fatalf("first claim = %q, %v; want 101", got, err)
		}
		if got, err := store.ClaimCheckRun(c, s, j.ID, "202"); err != nil || got != "101" {
			t.Fatalf("second claim = %q, %v; want the first's 101", got, err)
		}
		if stored, _ := s.Job(c, j.ID); stored.CheckRunID != "101" {
			t.Fatalf("stored %q", stored.CheckRunID)
		}
		if _, err := store.ClaimCheckRun(c, s, 999, "1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("claim for an unknown job: %v, want ErrNotFound", err)
		}
		if _, err := store.ClaimCheckRun(c, s, j.ID, ""); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("empty claim: %v, want ErrInvalid", err)
		}
	}},
	{"checkrun/concurrent reporters agree on one", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		j := jobs(t, s, build(t, s, r.ID, mainRef, "abc").ID, "x86_64")[0]
		const n = 16
		got := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got[i], errs[i] = store.ClaimCheckRun(c, s, j.ID, fmt.Sprint("run-", i)) })
		}
		wg.Wait()
		winners := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("claim %d: %v", i, errs[i])
			}
			if got[i] != got[0] {
				t.Fatalf("claims disagree: %q and %q", got[0], got[i])
			}
			if got[i] == fmt.Sprint("run-", i) {
				winners++
			}
		}
		if winners != 1 {
			t.Fatalf("%d claimers think they won, want 1", winners)
		}
	}},
}
