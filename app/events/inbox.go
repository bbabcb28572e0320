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
	stored, err := in.store.AddEvent(ctx, store.Event{
		Forge: string(ev.Forge), DeliveryID: ev.DeliveryID, Kind: string(ev.Kind), Payload: payload,
	})
	switch {
	case errors.Is(err, store.ErrDuplicate):
		return true, nil
	case err != nil:
		return false, err
	}
	if in.replayed(ctx, ev, stored) {
		return true, nil
	}
	if in.wake != nil {
		in.wake()
	}
	return false, nil
}

// replayKind marks the records that guard against replays; they are no events to handle.
const replayKind = "replay-guard"

// replayed reports whether the same request body was stored before under another delivery id: the delivery id is not covered by GitHub's signature, so a captured delivery could be
// sent again under a new id to build an old commit once more. The replay is then dropped. The
// real event is stored first, so a crash in between loses nothing.
func (in *inbox) replayed(ctx context.Context, ev *forge.Event, stored store.Event) bool {
	if ev.BodySHA256 == "" {
		return false // not from a webhook body (tests, internal events)
	}
	guard, err := in.store.AddEvent(ctx, store.Event{Forge: string(ev.Forge), DeliveryID: "body:" + ev.BodySHA256, Kind: replayKind})
	if errors.Is(err, store.ErrDuplicate) {
		_ = in.store.MarkEventProcessed(ctx, stored.ID)
		return true
	}
	if err == nil {
		_ = in.store.MarkEventProcessed(ctx, guard.ID)
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
