package store

import (
	"fmt"
	"strings"
	"time"
)

// Repository is a forge repository the service builds.
type Repository struct {
	ID      int64  `json:"id"`
	Forge   string `json:"forge"`    // "github", "gitlab"
	ForgeID string `json:"forge_id"` // the forge's stable identity (GitHub repository id, GitLab project id)
	// Owner and Name in the forge's spelling. A GitLab namespace in subgroups keeps its "/"
	// here; the URL form with "~" is the app's business.
	Owner          string    `json:"owner"`
	Name           string    `json:"name"`
	DefaultBranch  string    `json:"default_branch"`
	CloneURL       string    `json:"clone_url"` // where workers fetch the code from
	Private        bool      `json:"private"`
	InstallationID int64     `json:"installation_id"` // GitHub App installation; 0 elsewhere
	Disabled       bool      `json:"disabled"`        // no more builds (app uninstalled, repository removed)
	Created        time.Time `json:"created"`
}

// Path is owner/name in the forge's spelling.
func (r Repository) Path() string { return r.Owner + "/" + r.Name }

// PathKey is the case-insensitive identity of owner/name: two repositories with the same PathKey
// cannot both be registered.
func PathKey(owner, name string) string { return strings.ToLower(owner + "/" + name) }

// RepositoryQuery filters and pages ListRepositories.
type RepositoryQuery struct {
	// Search keeps repositories whose owner/name contains it, case-insensitively.
	Search string
	// Forge keeps one forge's repositories when set.
	Forge string
	// IncludeDisabled also returns disabled repositories.
	IncludeDisabled bool
	// PublicOnly leaves private repositories out before the limit is applied, so a page (and the
	// cursor taken from its last row) never depends on, nor names, a private repository.
	PublicOnly bool
	// After pages: only paths (PathKey) sorting after it. Pass the PathKey of the last
	// repository of the previous page.
	After string
	// Limit caps the result; 0 means 100.
	Limit int
}

// CheckRepository reports ErrInvalid, naming the field, when r cannot be stored.
func CheckRepository(r Repository) error {
	for _, f := range []struct{ name, v string }{
		{"forge", r.Forge}, {"forge id", r.ForgeID}, {"owner", r.Owner}, {"name", r.Name},
	} {
		if strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("repository %s is empty: %w", f.name, ErrInvalid)
		}
	}
	return nil
}

// PathTakenError explains ErrPathTaken with the repository that holds the path.
func PathTakenError(r, holder Repository) error {
	return fmt.Errorf("%s repository %s (id %s) cannot be registered: the path is held by %s repository %s (id %s); remove that one first: %w",
		r.Forge, r.Path(), r.ForgeID, holder.Forge, holder.Path(), holder.ForgeID, ErrPathTaken)
}

// Limit returns the effective page size of a query limit.
func Limit(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}
