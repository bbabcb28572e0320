package events

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// eventPoll is how often the loop looks for stored events it was not woken for: those of another
// replica that died, or of the previous run of this process.
const eventPoll = 2 * time.Second

// Run processes stored events until ctx ends: every event accepted by a webhook, including
// those accepted before a restart, is handled once and then marked processed.
func (s *Processor) Run(ctx context.Context) error {
	t := time.NewTicker(eventPoll)
	defer t.Stop()
	for {
		s.ProcessPending(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-t.C:
		}
	}
}

// ProcessPending handles every unprocessed event, oldest first. It returns when none is left or
// when the ones left are waiting to be retried.
func (s *Processor) ProcessPending(ctx context.Context) {
	for ctx.Err() == nil {
		evs, err := s.store.UnprocessedEvents(ctx, eventBatch)
		if err != nil {
			s.log.Error("reading unprocessed events; retrying", "err", err)
			return
		}
		progressed := false
		for _, e := range evs {
			if s.processStored(ctx, e) {
				progressed = true
			}
		}
		if !progressed {
			return
		}
	}
}

// eventGiveUp is how long an event whose work keeps failing for retry (the forge unreachable) is
// tried before it is dropped with an error in the log.
const eventGiveUp = time.Hour

// eventLockTTL bounds how long a replica that died while handling an event keeps others from it.
const eventLockTTL = 5 * time.Minute

// processStored handles one stored event once, even with several replicas: it takes the event's
// lock, checks that no one handled it meanwhile, and marks it processed. It reports whether the
// event is done (false: it waits for a retry, or another replica has it).
func (s *Processor) processStored(ctx context.Context, e store.Event) bool {
	if !s.retries.due(e.ID, s.now()) {
		return false // it waits for its next try; later events go ahead of it
	}
	log := s.log.With("delivery", e.DeliveryID, "forge", e.Forge, "event", e.ID)
	lctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	lk, err := s.locker.Lock(lctx, "event:"+strconv.FormatInt(e.ID, 10), eventLockTTL)
	cancel()
	if err != nil {
		return false // another replica handles it
	}
	defer lk.Unlock(context.WithoutCancel(ctx))
	// With several replicas (Redis mode) another may have handled it since it was read.
	if s.cfg.Shared {
		if done, err := s.eventDone(ctx, e.ID); err != nil || done {
			return done
		}
	}
	var ev *forge.Event
	err = nil
	if e.Kind != replayKind { // a guard left unmarked by a crash: nothing to do
		ev, err = decodeEvent(e)
		if err == nil {
			err = s.handle(ctx, ev, e.Received)
		}
	}
	if model.IsRetry(err) && ctx.Err() == nil {
		if s.now().Sub(e.Received) < eventGiveUp {
			// The forge or the store is unreachable: leave the event for a later round.
			next := s.retries.failed(e.ID, s.now())
			log.Warn("event will be retried", "at", next.Format(time.RFC3339), "err", err)
			return false
		}
		log.Error("event dropped: its work failed for an hour", "kind", e.Kind, "err", err)
	} else if err != nil {
		log.Error("event failed", "kind", e.Kind, "err", err)
	}
	if err := s.store.MarkEventProcessed(context.WithoutCancel(ctx), e.ID); err != nil {
		log.Error("marking event processed", "err", err)
		return false
	}
	s.retries.done(e.ID)
	return true
}

// eventBatch is how many unprocessed events are read at once: events waiting for a retry do not
// hold back newer ones unless this many wait.
const eventBatch = 500

// eventRetries remembers when events that failed for a passing reason are tried again: 10 s,
// then doubling to 5 minutes.
type eventRetries struct {
	mu   sync.Mutex
	next map[int64]retryState
}

type retryState struct {
	at    time.Time
	delay time.Duration
}

func (r *eventRetries) due(id int64, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.next[id]
	return !ok || !now.Before(st.at)
}

func (r *eventRetries) failed(id int64, now time.Time) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next == nil {
		r.next = map[int64]retryState{}
	}
	st := r.next[id]
	st.delay = min(max(2*st.delay, 10*time.Second), 5*time.Minute)
	st.at = now.Add(st.delay)
	r.next[id] = st
	return st.at
}

func (r *eventRetries) done(id int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.next, id)
}

// eventDone reports whether an event was marked processed (by another replica) since it was read.
func (s *Processor) eventDone(ctx context.Context, id int64) (bool, error) {
	evs, err := s.store.UnprocessedEvents(ctx, 1000)
	if err != nil {
		return false, err
	}
	for _, e := range evs {
		if e.ID == id {
			return false, nil
		}
	}
	return true, nil
}
