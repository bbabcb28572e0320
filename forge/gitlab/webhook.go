package gitlab

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Headers GitLab sends with every delivery.
const (
	HeaderEvent       = "X-Gitlab-Event"
	HeaderToken       = "X-Gitlab-Token"
	HeaderEventUUID   = "X-Gitlab-Event-UUID"
	HeaderIdempotency = "Idempotency-Key" // the same on every retry of one delivery (GitLab 17.4+)
)

// Scope is a project, or a group with its subgroups, that a webhook secret speaks for.
type Scope struct {
	Group bool  // ID is a group's id, not a project's
	ID    int64 // GitLab's id of the project or group
}

// SecretLookup finds what a per-project webhook secret was registered for.
type SecretLookup interface {
	// WebhookScopes returns the scopes of the secret whose SHA-256 is sum; none for a secret
	// nobody registered. An error means it could not be asked (the delivery is retried).
	WebhookScopes(ctx context.Context, sum [sha256.Size]byte) ([]Scope, error)
}

// GroupChecker answers whether a project lies in a group or one of its subgroups, as GitLab
// knows them (the Client does, asking GitLab's API).
type GroupChecker interface {
	ProjectInGroup(ctx context.Context, projectID, groupID int64) (bool, error)
}

// WebhookConfig says which tokens a Webhook accepts: the one shared token of a single-tenant
// install, per-project (or per-group) secrets, or both. With per-project secrets a delivery is
// accepted only for the projects its secret was registered for.
type WebhookConfig struct {
	SharedToken []byte       // accepted for every project; leave empty on a shared service
	Secrets     SecretLookup // per-project and per-group secrets
	Groups      GroupChecker // needed when secrets have group scopes
}

// Webhook verifies and parses GitLab project webhook deliveries.
type Webhook struct {
	shared  *[sha256.Size]byte
	secrets SecretLookup
	groups  GroupChecker
}

var (
	_ forge.WebhookParser   = (*Webhook)(nil)
	_ forge.ContextVerifier = (*Webhook)(nil)
)

// NewWebhook returns a parser checking X-Gitlab-Token against the single shared token. Whoever
// knows it may send deliveries for every project the service's GitLab token can read: fine for
// a single-tenant install, not for a shared service (use NewScopedWebhook).
func NewWebhook(token []byte) (*Webhook, error) {
	if len(token) == 0 {
		return nil, errors.New("gitlab: empty webhook token: set OPENWRT_PPA_GITLAB_WEBHOOK_SECRET to the webhook's secret token")
	}
	return NewScopedWebhook(WebhookConfig{SharedToken: token})
}

// NewScopedWebhook returns a parser that accepts the shared token (if set) for every project
// and each registered secret for its own projects and groups.
func NewScopedWebhook(cfg WebhookConfig) (*Webhook, error) {
	if len(cfg.SharedToken) == 0 && cfg.Secrets == nil {
		return nil, errors.New("gitlab: no webhook token: register per-project secrets (openwrt-ppa admin) or set OPENWRT_PPA_GITLAB_WEBHOOK_SECRET")
	}
	w := &Webhook{secrets: cfg.Secrets, groups: cfg.Groups}
	if len(cfg.SharedToken) > 0 {
		sum := sha256.Sum256(cfg.SharedToken)
		w.shared = &sum
	}
	return w, nil
}

// Verify is VerifyContext without a deadline.
func (w *Webhook) Verify(h http.Header, body []byte) error {
	return w.VerifyContext(context.Background(), h, body)
}

// VerifyContext checks X-Gitlab-Token. The shared token is compared in constant time, both
// sides hashed first so that neither the time nor a length check tells anything about it. A
// per-project secret is found by its hash (the store keeps no secret), and the delivery must
// concern one of the projects it was registered for: the project id the delivery names (the
// one the service then reads from GitLab's API and builds), inside a registered group as
// GitLab's API says, not as the body says. Errors wrap forge.ErrUnauthorized, except when the
// secrets or GitLab could not be asked.
func (w *Webhook) VerifyContext(ctx context.Context, h http.Header, body []byte) error {
	got := h.Get(HeaderToken)
	if got == "" {
		return fmt.Errorf("%w: no %s header (set the webhook's secret token in GitLab)", forge.ErrUnauthorized, HeaderToken)
	}
	sum := sha256.Sum256([]byte(got))
	if w.shared != nil && subtle.ConstantTimeCompare(sum[:], w.shared[:]) == 1 {
		return nil
	}
	if w.secrets == nil {
		return fmt.Errorf("%w: %s does not match the webhook's secret token", forge.ErrUnauthorized, HeaderToken)
	}
	scopes, err := w.secrets.WebhookScopes(ctx, sum)
	if err != nil {
		return fmt.Errorf("gitlab: looking up the webhook secret: %w", err)
	}
	if len(scopes) == 0 {
		return fmt.Errorf("%w: %s is no registered webhook secret", forge.ErrUnauthorized, HeaderToken)
	}
	ev, err := ParsePayload(h.Get(HeaderEvent), body)
	if err != nil {
		// Ignored or malformed: Parse says so, and nothing is stored either way.
		return nil
	}
	project := ev.Repo.ID
	for _, s := range scopes {
		if !s.Group && s.ID == project {
			return nil
		}
	}
	for _, s := range scopes {
		if !s.Group {
			continue
		}
		if w.groups == nil {
			return fmt.Errorf("gitlab: the webhook secret is registered for group %d, but no GitLab client is set up to check groups", s.ID)
		}
		in, err := w.groups.ProjectInGroup(ctx, project, s.ID)
		if err != nil {
			return err
		}
		if in {
			return nil
		}
	}
	return fmt.Errorf("%w: the webhook secret is not registered for project %d (register it for the project or its group)", forge.ErrUnauthorized, project)
}

// Parse turns a verified delivery into an Event; see the package function Parse.
func (w *Webhook) Parse(h http.Header, body []byte) (*forge.Event, error) { return Parse(h, body) }

// NewWebhookSecret makes a secret for an admin to register (and paste into GitLab's webhook
// settings) and returns it with the hex SHA-256 the store keeps. 32 random bytes: a hash of a
// secret that long cannot be turned back into it, so a leaked store does not leak secrets.
func NewWebhookSecret() (secret, sha256Hex string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("gitlab: making a webhook secret: %w", err)
	}
	secret = "glwhs-" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	return secret, hex.EncodeToString(sum[:]), nil
}

// StoreSecrets looks secrets up in the store's registrations for GitLab.
func StoreSecrets(s store.WebhookSecretStore) SecretLookup { return storeSecrets{s} }

type storeSecrets struct{ s store.WebhookSecretStore }

func (l storeSecrets) WebhookScopes(ctx context.Context, sum [sha256.Size]byte) ([]Scope, error) {
	ws, err := l.s.WebhookSecretsByHash(ctx, string(forge.GitLab), hex.EncodeToString(sum[:]))
	if err != nil {
		return nil, err
	}
	out := make([]Scope, 0, len(ws))
	for _, w := range ws {
		out = append(out, Scope{Group: w.ScopeKind == store.ScopeGroup, ID: w.ScopeID})
	}
	return out, nil
}

var _ GroupChecker = (*Client)(nil)

// ProjectInGroup reads the project's path and the group's full path from GitLab and says
// whether the project lies in the group or a subgroup of it.
func (c *Client) ProjectInGroup(ctx context.Context, projectID, groupID int64) (bool, error) {
	p, resp, err := c.api.Projects.GetProject(projectID, nil, gl.WithContext(ctx))
	if status(resp, err) == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("gitlab: reading project %d: %w", projectID, err)
	}
	g, resp, err := c.api.Groups.GetGroup(groupID, nil, gl.WithContext(ctx))
	if status(resp, err) == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("gitlab: reading group %d: %w", groupID, err)
	}
	// GitLab paths compare case-insensitively.
	return g.FullPath != "" && strings.HasPrefix(strings.ToLower(p.PathWithNamespace), strings.ToLower(g.FullPath)+"/"), nil
}
