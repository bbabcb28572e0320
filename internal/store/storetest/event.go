package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

var eventTests = []test{
	{"event/stored once per forge and delivery id", func(t *testing.T, s store.Store) {
		c := ctx(t)
		payload := json.RawMessage(`{"ref":"refs/heads/main","n":1}`)
		e, err := s.AddEvent(c, store.Event{Forge: "github", DeliveryID: "d1", Kind: "push", Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		if e.ID == 0 || e.Received.IsZero() {
			t.Fatalf("stored event lacks id or received time: %+v", e)
		}
		if _, err := s.AddEvent(c, store.Event{Forge: "github", DeliveryID: "d1", Kind: "push", Payload: payload}); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("redelivery = %v, want ErrDuplicate", err)
		}
		if _, err := s.AddEvent(c, store.Event{Forge: "gitlab", DeliveryID: "d1", Kind: "Push Hook", Payload: payload}); err != nil {
			t.Fatalf("same delivery id on another forge refused: %v", err)
		}
		if _, err := s.AddEvent(c, store.Event{Forge: "github", Kind: "push"}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("no delivery id = %v, want ErrInvalid", err)
		}
		un, err := s.UnprocessedEvents(c, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(un) != 2 || un[0].ID != e.ID || string(un[0].Payload) != string(payload) || un[0].Kind != "push" {
			t.Fatalf("UnprocessedEvents = %+v, want d1 first with its payload byte for byte", un)
		}
	}},
	{"event/payload kept byte for byte, JSON or not", func(t *testing.T, s store.Store) {
		c := ctx(t)
		for i, p := range []string{"{\n  \"zen\": \"Keep it logically awesome.\"\n}\n", "payload=%7B%22a%22%3A1%7D", ""} {
			e, err := s.AddEvent(c, store.Event{Forge: "github", DeliveryID: fmt.Sprint("p", i), Kind: "ping", Payload: json.RawMessage(p)})
			if err != nil {
				t.Fatalf("payload %q: %v", p, err)
			}
			if err := s.MarkEventProcessed(c, e.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.AddEvent(c, store.Event{Forge: "github", DeliveryID: "last", Kind: "push", Payload: json.RawMessage("{ \"a\" : 1 }")}); err != nil {
			t.Fatal(err)
		}
		un, err := s.UnprocessedEvents(c, 10)
		if err != nil || len(un) != 1 || string(un[0].Payload) != `{ "a" : 1 }` {
			t.Fatalf("UnprocessedEvents = %+v, %v; want the payload with its spaces", un, err)
		}
	}},
	{"event/processed ones are not returned, and prune keeps unprocessed", func(t *testing.T, s store.Store) {
		c := ctx(t)
		old := time.Now().Add(-48 * time.Hour)
		var evs []store.Event
		for i, d := range []string{"a", "b", "c"} {
			e, err := s.AddEvent(c, store.Event{Forge: "github", DeliveryID: d, Kind: "push", Payload: json.RawMessage(`{}`), Received: old.Add(time.Duration(i) * time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, e)
		}
		for _, e := range evs[:2] {
			if err := s.MarkEventProcessed(c, e.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.MarkEventProcessed(c, evs[0].ID); err != nil {
			t.Fatalf("marking twice: %v", err)
		}
		if err := s.MarkEventProcessed(c, 999999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("MarkEventProcessed(unknown) = %v, want ErrNotFound", err)
		}
		un, err := s.UnprocessedEvents(c, 10)
		if err != nil || len(un) != 1 || un[0].DeliveryID != "c" {
			t.Fatalf("UnprocessedEvents = %+v, %v; want only c", un, err)
		}
		n, err := s.PruneEvents(c, time.Now().Add(-time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("PruneEvents = %d, %v; want 2", n, err)
		}
		// A pruned delivery is forgotten; the unprocessed one is still a duplicate.
		if _, err := s.AddEvent(c, store.Event{Forge: "github", DeliveryID: "a", Kind: "push"}); err != nil {
			t.Fatalf("re-adding a pruned delivery: %v", err)
		}
		if _, err := s.AddEvent(c, store.Event{Forge: "github", DeliveryID: "c", Kind: "push"}); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("unprocessed c was pruned: %v", err)
		}
	}},
	{"event/unprocessed oldest first, limited", func(t *testing.T, s store.Store) {
		c := ctx(t)
		base := time.Now().Add(-time.Hour)
		// Added out of order: received times, not insertion, decide.
		for _, e := range []struct {
			id string
			at time.Duration
		}{{"x3", 3 * time.Second}, {"x1", time.Second}, {"x2", 2 * time.Second}} {
			if _, err := s.AddEvent(c, store.Event{Forge: "github", DeliveryID: e.id, Kind: "push", Received: base.Add(e.at)}); err != nil {
				t.Fatal(err)
			}
		}
		un, err := s.UnprocessedEvents(c, 2)
		if err != nil || len(un) != 2 || un[0].DeliveryID != "x1" || un[1].DeliveryID != "x2" {
			t.Fatalf("UnprocessedEvents(2) = %+v, %v; want x1, x2", un, err)
		}
	}},
}
