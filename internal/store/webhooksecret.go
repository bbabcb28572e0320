package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Scope kinds of a webhook secret.
const (
	ScopeProject = "project" // one project, by the forge's id
	ScopeGroup   = "group"   // every project in a group and its subgroups, by the group's id
)

// WebhookSecret is a webhook secret an admin registered for one project or group of a forge
// (GitLab: its hooks carry the secret as a plain token, so a token shared by many projects lets
// whoever knows it send deliveries for all of them). Only the secret's SHA-256 is stored: the
// store never holds a secret that would let its reader forge deliveries.
type WebhookSecret struct {
	ID        int64     `json:"id"`
	Forge     string    `json:"forge"`      // "gitlab"
	ScopeKind string    `json:"scope_kind"` // ScopeProject or ScopeGroup
	ScopeID   int64     `json:"scope_id"`   // the project's or group's id on the forge
	SHA256    string    `json:"sha256"`     // hex SHA-256 of the secret
	Note      string    `json:"note"`       // what the admin said it is for
	CreatedBy string    `json:"created_by"` // the admin who registered it
	Created   time.Time `json:"created"`
}

// WebhookSecretStore keeps webhook secrets.
type WebhookSecretStore interface {
	// AddWebhookSecret registers a secret for a scope and returns it with its ID and Created.
	// One secret may be registered for several scopes (one call each); the same secret for the
	// same scope twice gives ErrDuplicate. A bad Forge, ScopeKind, ScopeID or SHA256 gives
	// ErrInvalid.
	AddWebhookSecret(ctx context.Context, s WebhookSecret) (WebhookSecret, error)
	// WebhookSecretsByHash returns every registration of the secret with that hex SHA-256 for
	// forge, in ID order: the scopes a delivery carrying it may speak for. None is an empty
	// list, not an error.
	WebhookSecretsByHash(ctx context.Context, forge, sha256 string) ([]WebhookSecret, error)
	// ListWebhookSecrets returns every registration for forge in ID order.
	ListWebhookSecrets(ctx context.Context, forge string) ([]WebhookSecret, error)
	// DeleteWebhookSecret removes a registration; ErrNotFound when there is none with that ID.
	DeleteWebhookSecret(ctx context.Context, id int64) error
}

// CheckWebhookSecret reports ErrInvalid when s cannot be stored.
func CheckWebhookSecret(s WebhookSecret) error {
	switch {
	case s.Forge == "":
		return fmt.Errorf("webhook secret needs a forge: %w", ErrInvalid)
	case s.ScopeKind != ScopeProject && s.ScopeKind != ScopeGroup:
		return fmt.Errorf("webhook secret scope %q is not %s or %s: %w", s.ScopeKind, ScopeProject, ScopeGroup, ErrInvalid)
	case s.ScopeID <= 0:
		return fmt.Errorf("webhook secret needs the %s's id (got %d): %w", s.ScopeKind, s.ScopeID, ErrInvalid)
	}
	if b, err := hex.DecodeString(s.SHA256); err != nil || len(b) != 32 {
		return fmt.Errorf("webhook secret hash %q is no hex SHA-256: %w", s.SHA256, ErrInvalid)
	}
	return nil
}

// NewWebhookSecret makes a random webhook secret for forge, scope kind and id, and returns it
// with the registration to store (its SHA-256 only). The secret is shown once to whoever
// registers it and never kept.
func NewWebhookSecret(forge, scopeKind string, scopeID int64, note, createdBy string) (string, WebhookSecret) {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw) // crypto/rand never fails on the systems Go supports
	secret := "ppawh-" + hex.EncodeToString(raw)
	sum := sha256.Sum256([]byte(secret))
	return secret, WebhookSecret{Forge: forge, ScopeKind: scopeKind, ScopeID: scopeID, SHA256: hex.EncodeToString(sum[:]),
		Note: note, CreatedBy: createdBy}
}
