package events

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// confirming is the fake forge with a Confirm that answers as told.
type confirming struct {
	*forgetest.Forge
	confirm func(forge.Event) (forge.Event, error)
}

func (c confirming) Confirm(_ context.Context, ev forge.Event) (forge.Event, error) {
	return c.confirm(ev)
}

// TestConfirmerDecidesBeforeBuilding: on a forge that confirms deliveries, what is built is what
// its API says; a delivery it contradicts is dropped, and one it could not check is retried.
func TestConfirmerDecidesBeforeBuilding(t *testing.T) {
	cases := []struct {
		name      string
		confirm   func(forge.Event) (forge.Event, error)
		wantRetry bool
		wantSHA   string // "" for no build
	}{
		{"contradicted", func(forge.Event) (forge.Event, error) {
			return forge.Event{}, &forge.UnconfirmedError{What: "head", Delivered: sha1, Forge: sha2}
		}, false, ""},
		{"forge down", func(forge.Event) (forge.Event, error) { return forge.Event{}, errors.New("502") }, true, ""},
		{"corrected", func(ev forge.Event) (forge.Event, error) { ev.SHA = sha2; return ev, nil }, false, sha2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.forge.Files[sha1+":.openwrt-ppa.yml"] = []byte("archs: [x86_64]\n")
			h.forge.Files[sha2+":.openwrt-ppa.yml"] = []byte("archs: [x86_64]\n")
			h.svc.forges[forge.GitHub] = confirming{Forge: h.forge, confirm: c.confirm}
			err := h.svc.Handle(context.Background(), push("d", "main", sha1))
			if model.IsRetry(err) != c.wantRetry || !c.wantRetry && err != nil {
				t.Fatalf("Handle: %v, want retry %v", err, c.wantRetry)
			}
			var shas []string
			if repo, err := h.svc.store.RepositoryByPath(context.Background(), "alice", "pkgs"); err == nil {
				bs, _ := h.svc.store.ListBuilds(context.Background(), store.BuildQuery{RepoID: repo.ID})
				for _, b := range bs {
					shas = append(shas, b.CommitSHA)
				}
			}
			if c.wantSHA == "" && len(shas) > 0 || c.wantSHA != "" && (len(shas) != 1 || shas[0] != c.wantSHA) {
				t.Fatalf("built %q, want %q", shas, c.wantSHA)
			}
		})
	}
}

// TestInboxRefusesDeliveriesOlderThanTheReplayGuard: a delivery that says it was sent before
// the window the replay guard remembers is not stored (a captured body replayed after its id
// was pruned); one inside the window is.
func TestInboxRefusesDeliveriesOlderThanTheReplayGuard(t *testing.T) {
	h := newHarness(t)
	now := h.clock()
	for _, c := range []struct {
		age    time.Duration
		stored bool
	}{{model.ReplayWindow + time.Hour, false}, {model.ReplayWindow - time.Hour, true}, {0, true}} {
		ev := push(fmt.Sprintf("age-%s", c.age), "main", sha1)
		ev.BodySHA256 = fmt.Sprintf("%064x", c.age)
		if c.age > 0 {
			ev.SentAt = now.Add(-c.age)
		}
		dup, err := h.svc.Inbox().Put(context.Background(), ev)
		evs, _ := h.svc.store.UnprocessedEvents(context.Background(), 10)
		found := false
		for _, e := range evs {
			found = found || e.DeliveryID == ev.DeliveryID
		}
		if err != nil || dup == c.stored || found != c.stored {
			t.Errorf("sent %s ago: duplicate %v, stored %v (%v); want stored %v", c.age, dup, found, err, c.stored)
		}
	}
}
