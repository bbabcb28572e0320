package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event is one webhook delivery, kept as received.
type Event struct {
	ID         int64           `json:"id"`
	Forge      string          `json:"forge"`
	DeliveryID string          `json:"delivery_id"` // unique per forge: X-GitHub-Delivery, Idempotency-Key, X-Gitlab-Event-UUID
	Kind       string          `json:"kind"`        // the forge's event name: "push", "pull_request", "Push Hook"
	Payload    json.RawMessage `json:"payload"`     // the request body, byte for byte
	Received   time.Time       `json:"received"`
	Processed  bool            `json:"processed"`
}

// CheckEvent reports ErrInvalid when e cannot be stored.
func CheckEvent(e Event) error {
	if e.Forge == "" || e.DeliveryID == "" {
		return fmt.Errorf("event needs a forge and a delivery id (got %q, %q): %w", e.Forge, e.DeliveryID, ErrInvalid)
	}
	return nil
}
