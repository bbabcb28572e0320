package forgetest

import (
	"context"
	"errors"
	"sync"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// Inbox is an in-memory forge.Inbox that dedupes by forge and delivery id, like the app's
// durable one must. Set Fail to make Put fail (the handler must then answer 503).
type Inbox struct {
	mu     sync.Mutex
	seen   map[string]bool
	events []*forge.Event
	Fail   error
}

var _ forge.Inbox = (*Inbox)(nil)

// NewInbox returns an empty Inbox.
func NewInbox() *Inbox { return &Inbox{seen: map[string]bool{}} }

// Put stores ev unless its delivery was stored before.
func (in *Inbox) Put(_ context.Context, ev *forge.Event) (bool, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.Fail != nil {
		return false, in.Fail
	}
	if ev.DeliveryID == "" {
		return false, errors.New("forgetest: event without delivery id")
	}
	key := string(ev.Forge) + "\x00" + ev.DeliveryID
	if in.seen[key] {
		return true, nil
	}
	in.seen[key] = true
	in.events = append(in.events, ev)
	return false, nil
}

// Events returns the stored events in order.
func (in *Inbox) Events() []*forge.Event {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]*forge.Event(nil), in.events...)
}
