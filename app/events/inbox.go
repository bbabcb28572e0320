package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// inbox is the forge.Inbox of the service: a parsed event is stored in the store before the
// webhook is answered 202, and the event loop is woken to process it after the answer.
type inbox struct {
	store store.EventStore
	wake  func()
	log   *slog.Logger
	now   func() time.Time
}

var _ forge.Inbox = (*inbox)(nil)

func (in *inbox) Put(ctx context.Context, ev *forge.Event) (bool, error) {
	if ev.OlderThan(in.now(), model.ReplayWindow) {
		// The replay guard has forgotten deliveries this old: taking it would let a captured
		// body be replayed. Answered as a duplicate, so the forge does not send it again.
		in.log.Warn("delivery refused: sent longer ago than the replay guard remembers", "forge", ev.Forge,
			"delivery", ev.DeliveryID, "kind", ev.Kind, "sent_at", ev.SentAt, "window", model.ReplayWindow)
		return true, nil
	}
	// The neutral event is what is kept: it was parsed from the verified body, and a restarted
	// service processes it without parsing again.
	payload, err := json.Marshal(ev)
	if err != nil {
		return false, fmt.Errorf("encoding event: %w", err)
	}
	e := store.Event{Forge: string(ev.Forge), DeliveryID: ev.DeliveryID, Kind: string(ev.Kind), Payload: payload}
	var replay bool
	if ga, ok := in.store.(guardedAdder); ok && ev.BodySHA256 != "" {
		_, replay, err = ga.AddEventGuarded(ctx, e, replayGuard(ev))
	} else {
		var stored store.Event
		if stored, err = in.store.AddEvent(ctx, e); err == nil {
			replay = in.replayed(ctx, ev, stored)
		}
	}
	switch {
	case errors.Is(err, store.ErrDuplicate):
		return true, nil
	case err != nil:
		return false, err
	case replay:
		return true, nil
	}
	if in.wake != nil {
		in.wake()
	}
	return false, nil
}

// guardedAdder is a store that writes an event and its replay guard in one durable commit (the
// embedded store): a delivery then costs one shared fsync instead of three. replay reports that
// the guard was there before; the event is then stored as processed.
type guardedAdder interface {
	AddEventGuarded(ctx context.Context, e, guard store.Event) (stored store.Event, replay bool, err error)
}

// replayKind marks the records that guard against replays; they are no events to handle.
const replayKind = "replay-guard"

// replayGuard is the record that says a body was taken: the delivery id is not covered by
// GitHub's signature, so a captured delivery could be sent again under a new id to build an old
// commit once more. It is stored processed: there is nothing to handle in it.
func replayGuard(ev *forge.Event) store.Event {
	return store.Event{Forge: string(ev.Forge), DeliveryID: "body:" + ev.BodySHA256, Kind: replayKind, Processed: true}
}

// replayed reports whether the same request body was stored before under another delivery id,
// for stores without AddEventGuarded. The replay is then dropped. The real event is stored
// first, so a crash in between loses nothing.
func (in *inbox) replayed(ctx context.Context, ev *forge.Event, stored store.Event) bool {
	if ev.BodySHA256 == "" {
		return false // not from a webhook body (tests, internal events)
	}
	_, err := in.store.AddEvent(ctx, replayGuard(ev))
	if errors.Is(err, store.ErrDuplicate) {
		_ = in.store.MarkEventProcessed(ctx, stored.ID)
		return true
	}
	return false
}

// decodeEvent reads back what Put stored.
func decodeEvent(e store.Event) (*forge.Event, error) {
	var ev forge.Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return nil, fmt.Errorf("event %d (%s delivery %s) is not a stored forge event: %w", e.ID, e.Forge, e.DeliveryID, err)
	}
	return &ev, nil
}
