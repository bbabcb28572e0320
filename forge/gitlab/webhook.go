package gitlab

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// Headers GitLab sends with every delivery.
const (
	HeaderEvent       = "X-Gitlab-Event"
	HeaderToken       = "X-Gitlab-Token"
	HeaderEventUUID   = "X-Gitlab-Event-UUID"
	HeaderIdempotency = "Idempotency-Key" // the same on every retry of one delivery (GitLab 17.4+)
)

// Webhook verifies and parses GitLab project webhook deliveries. It does no I/O.
type Webhook struct {
	tokenSum [sha256.Size]byte
}

var _ forge.WebhookParser = (*Webhook)(nil)

// NewWebhook returns a parser checking X-Gitlab-Token against the webhook's secret token.
func NewWebhook(token []byte) (*Webhook, error) {
	if len(token) == 0 {
		return nil, errors.New("gitlab: empty webhook token: set OPENWRT_PPA_GITLAB_WEBHOOK_SECRET to the webhook's secret token")
	}
	return &Webhook{tokenSum: sha256.Sum256(token)}, nil
}

// Verify compares X-Gitlab-Token with the secret in constant time. Both sides are hashed
// first so that neither the comparison's time nor its length check tells anything about the
// secret's length.
func (w *Webhook) Verify(h http.Header, _ []byte) error {
	got := h.Get(HeaderToken)
	if got == "" {
		return fmt.Errorf("%w: no %s header (set the webhook's secret token in GitLab)", forge.ErrUnauthorized, HeaderToken)
	}
	sum := sha256.Sum256([]byte(got))
	if subtle.ConstantTimeCompare(sum[:], w.tokenSum[:]) != 1 {
		return fmt.Errorf("%w: %s does not match the webhook's secret token", forge.ErrUnauthorized, HeaderToken)
	}
	return nil
}

// Parse turns a verified delivery into an Event; see the package function Parse.
func (w *Webhook) Parse(h http.Header, body []byte) (*forge.Event, error) { return Parse(h, body) }
