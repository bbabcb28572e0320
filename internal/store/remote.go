package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ForgeGit is the forge of repositories registered by their git URL: no forge App or token
// stands behind them; the service polls their refs and offers each a push webhook of its own.
const ForgeGit = "git"

// Remote is how the service reaches a repository registered by its URL. One per repository of
// forge ForgeGit, keyed by the repository's ID.
type Remote struct {
	RepoID  int64  `json:"repo_id"`
	URL     string `json:"url"`      // https:// or ssh://, as the URL check gave it back
	AddedBy string `json:"added_by"` // who registered it: "<forge>:<login>" of a signed-in user, or "admin"
	// WebhookSecret is the key of the repository's push webhook (HMAC-SHA256 or a plain token
	// header). It is kept, not hashed: an HMAC is checked with the key itself.
	WebhookSecret string `json:"webhook_secret"`
	// DeployKey is the private half of the repository's ed25519 deploy key (OpenSSH PEM) for
	// an ssh URL; empty for https. It stays in the service: checkouts happen outside builds.
	DeployKey []byte `json:"deploy_key,omitempty"`
	// HostKey is the ssh server's host key (authorized_keys form) accepted at the first
	// contact; later contacts must show the same.
	HostKey string `json:"host_key,omitempty"`

	// Refs are the refs as last listed (full ref → commit): a poll enqueues an event only for
	// those that moved.
	Refs      map[string]string `json:"refs,omitempty"`
	Polled    time.Time         `json:"polled,omitzero"`    // last successful listing
	NextPoll  time.Time         `json:"next_poll,omitzero"` // when the poller looks next
	Failures  int               `json:"failures,omitempty"` // listings failed in a row (backoff)
	LastError string            `json:"last_error,omitempty"`
	Created   time.Time         `json:"created"`
}

// RemoteStore keeps the remotes of repositories registered by URL.
type RemoteStore interface {
	// PutRemote stores the remote of an existing repository, replacing the one it had, and
	// returns it (Created set to now if zero). ErrNotFound when the repository does not exist,
	// ErrInvalid without an https:// or ssh:// URL.
	PutRemote(ctx context.Context, r Remote) (Remote, error)
	// Remote returns the remote of a repository, or ErrNotFound.
	Remote(ctx context.Context, repoID int64) (Remote, error)
	// ListRemotes returns every remote in repository ID order.
	ListRemotes(ctx context.Context) ([]Remote, error)
	// UpdateRemote changes a remote atomically, with the contract of UpdateBuild; RepoID and
	// Created cannot change.
	UpdateRemote(ctx context.Context, repoID int64, fn func(*Remote) error) (Remote, error)
	// DeleteRemote removes a repository's remote: polling and its webhook stop. ErrNotFound
	// when it has none. DeleteRepository removes it too.
	DeleteRemote(ctx context.Context, repoID int64) error
}

// CheckRemote reports ErrInvalid when r cannot be stored.
func CheckRemote(r Remote) error {
	switch {
	case r.RepoID <= 0:
		return fmt.Errorf("remote needs its repository's id: %w", ErrInvalid)
	case !strings.HasPrefix(r.URL, "https://") && !strings.HasPrefix(r.URL, "ssh://"):
		return fmt.Errorf("remote URL %q is not https:// or ssh://: %w", r.URL, ErrInvalid)
	}
	return nil
}
