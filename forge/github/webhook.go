package github

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v88/github"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// Headers GitHub sends with every delivery.
const (
	HeaderEvent     = "X-GitHub-Event"
	HeaderDelivery  = "X-GitHub-Delivery"
	HeaderSignature = "X-Hub-Signature-256"
)

// Webhook verifies and parses GitHub App deliveries. It does no I/O.
type Webhook struct {
	secret []byte
}

var _ forge.WebhookParser = (*Webhook)(nil)

// NewWebhook returns a parser checking deliveries against the App's webhook secret.
func NewWebhook(secret []byte) (*Webhook, error) {
	if len(secret) == 0 {
		return nil, errors.New("github: empty webhook secret: set OPENWRT_PPA_GITHUB_WEBHOOK_SECRET to the App's webhook secret")
	}
	return &Webhook{secret: append([]byte(nil), secret...)}, nil
}

// Verify checks X-Hub-Signature-256 (HMAC-SHA256 of the raw body, compared in constant time by
// go-github's ValidateSignature). The SHA-1 X-Hub-Signature is never accepted.
func (w *Webhook) Verify(h http.Header, body []byte) error {
	sig := h.Get(HeaderSignature)
	if sig == "" {
		return fmt.Errorf("%w: no %s header (is the App's webhook secret set?)", forge.ErrUnauthorized, HeaderSignature)
	}
	if !strings.HasPrefix(sig, "sha256=") {
		return fmt.Errorf("%w: %s must be sha256=<hex>", forge.ErrUnauthorized, HeaderSignature)
	}
	if err := gh.ValidateSignature(sig, body, w.secret); err != nil {
		return fmt.Errorf("%w: %s does not match the webhook secret: %w", forge.ErrUnauthorized, HeaderSignature, err)
	}
	return nil
}

// Parse turns a verified delivery into an Event; see ParsePayload.
func (w *Webhook) Parse(h http.Header, body []byte) (*forge.Event, error) {
	return Parse(h, body)
}
