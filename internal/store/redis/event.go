package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Keys: event:<id> (JSON); event:delivery (hash forge\x00deliveryID → id, the dedupe);
// events:unprocessed and events:processed (sorted sets by received time, member a zero-padded
// id so that equal times keep insertion order).

// addEvent claims the delivery and stores the event in one step: a crash can never leave a
// delivery marked as seen without its event.
var addEvent = goredis.NewScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
return 1`)

// eventRecord is an event as stored: the payload as bytes (base64 in the JSON), because it is
// kept byte for byte and need not be JSON at all (a form-encoded delivery).
type eventRecord struct {
	store.Event
	Payload []byte `json:"payload"`
}

func toRecord(e store.Event) eventRecord { return eventRecord{Event: e, Payload: e.Payload} }

func fromRecord(r eventRecord) store.Event {
	e := r.Event
	e.Payload = r.Payload
	return e
}

func eventMember(id int64) string { return fmt.Sprintf("%020d", id) }

func (s *Store) eventZset(processed bool) string {
	if processed {
		return s.key("events", "processed")
	}
	return s.key("events", "unprocessed")
}

// AddEvent implements store.Store.
func (s *Store) AddEvent(ctx context.Context, e store.Event) (store.Event, error) {
	if err := store.CheckEvent(e); err != nil {
		return store.Event{}, err
	}
	if e.Received.IsZero() {
		e.Received = now()
	}
	e.Received = e.Received.UTC()
	n, err := s.c.Incr(ctx, s.key("seq", "event")).Result()
	if err != nil {
		return store.Event{}, fmt.Errorf("numbering %s delivery %s: %w", e.Forge, e.DeliveryID, err)
	}
	e.ID = n
	added, err := addEvent.Run(ctx, s.c,
		[]string{s.key("event", "delivery"), s.key("event", e.ID), s.eventZset(e.Processed)},
		forgeField(e.Forge, e.DeliveryID), e.ID, mustJSON(toRecord(e)), score(e.Received), eventMember(e.ID)).Int()
	if err != nil {
		return store.Event{}, fmt.Errorf("storing %s delivery %s: %w", e.Forge, e.DeliveryID, err)
	}
	if added == 0 {
		return store.Event{}, fmt.Errorf("%s delivery %s: %w", e.Forge, e.DeliveryID, store.ErrDuplicate)
	}
	return e, nil
}

// MarkEventProcessed implements store.Store.
func (s *Store) MarkEventProcessed(ctx context.Context, id int64) error {
	k := s.key("event", id)
	return s.atomic(ctx, func(tx *goredis.Tx) error {
		r, err := getJSON[eventRecord](ctx, tx, k, fmt.Sprintf("event %d", id))
		if err != nil || r.Processed {
			return err
		}
		e := fromRecord(r)
		e.Processed = true
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Set(ctx, k, mustJSON(toRecord(e)), 0)
			p.ZRem(ctx, s.eventZset(false), eventMember(id))
			p.ZAdd(ctx, s.eventZset(true), goredis.Z{Score: score(e.Received), Member: eventMember(id)})
			return nil
		})
		if err != nil {
			return fmt.Errorf("marking event %d processed: %w", id, err)
		}
		return nil
	}, k)
}

// UnprocessedEvents implements store.Store.
func (s *Store) UnprocessedEvents(ctx context.Context, limit int) ([]store.Event, error) {
	members, err := s.c.ZRange(ctx, s.eventZset(false), 0, int64(store.Limit(limit))-1).Result()
	if err != nil {
		return nil, fmt.Errorf("listing unprocessed events: %w", err)
	}
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = s.key("event", id(m))
	}
	return events(ctx, s, keys)
}

func events(ctx context.Context, s *Store, keys []string) ([]store.Event, error) {
	rs, err := mgetJSON[eventRecord](ctx, s.c, keys)
	if err != nil {
		return nil, err
	}
	out := make([]store.Event, len(rs))
	for i, r := range rs {
		out[i] = fromRecord(r)
	}
	return out, nil
}

// PruneEvents implements store.Store.
func (s *Store) PruneEvents(ctx context.Context, receivedBefore time.Time) (int, error) {
	pruned := 0
	for {
		members, err := s.c.ZRangeByScore(ctx, s.eventZset(true), &goredis.ZRangeBy{
			Min: "-inf", Max: fmt.Sprintf("(%d", receivedBefore.UnixMilli()), Count: 500,
		}).Result()
		if err != nil {
			return pruned, fmt.Errorf("listing events to prune: %w", err)
		}
		if len(members) == 0 {
			return pruned, nil
		}
		keys := make([]string, len(members))
		for i, m := range members {
			keys[i] = s.key("event", id(m))
		}
		evs, err := events(ctx, s, keys)
		if err != nil {
			return pruned, err
		}
		_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			for _, e := range evs {
				p.HDel(ctx, s.key("event", "delivery"), forgeField(e.Forge, e.DeliveryID))
			}
			p.Del(ctx, keys...)
			p.ZRem(ctx, s.eventZset(true), toAny(members)...)
			return nil
		})
		if err != nil {
			return pruned, fmt.Errorf("pruning events: %w", err)
		}
		pruned += len(members)
	}
}

func toAny[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
