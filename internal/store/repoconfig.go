package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// RepoConfig is a repository's build configuration given outside the repository (a Kubernetes
// Repository's spec): it stands in for .openwrt-ppa.yml where the repository has none, and the
// file wins where it has one. The fields mean what the file's fields of the same name mean; an
// empty one takes the file's default. The store keeps the values as given: the builder checks
// them when it parses them, as it checks the file.
type RepoConfig struct {
	RepoID   int64    `json:"repo_id"`
	Branches []string `json:"branches,omitempty"`
	Series   []string `json:"series,omitempty"`
	Archs    []string `json:"archs,omitempty"`
	Packages []string `json:"packages,omitempty"`
	// SetBy is who gave it: "kubernetes:<namespace>/<name>".
	SetBy   string    `json:"set_by"`
	Updated time.Time `json:"updated"`
}

// RepoConfigStore keeps the configurations given outside the repositories, one per repository.
type RepoConfigStore interface {
	// PutRepoConfig stores the configuration of an existing repository, replacing the one it
	// had, and returns it (Updated set to now if zero). ErrNotFound when the repository does
	// not exist, ErrInvalid without a RepoID.
	PutRepoConfig(ctx context.Context, c RepoConfig) (RepoConfig, error)
	// RepoConfig returns the configuration of a repository, or ErrNotFound when it has none.
	RepoConfig(ctx context.Context, repoID int64) (RepoConfig, error)
	// DeleteRepoConfig removes a repository's configuration: its builds go back to the file's
	// defaults. ErrNotFound when it has none. DeleteRepository removes it too.
	DeleteRepoConfig(ctx context.Context, repoID int64) error
}

// CheckRepoConfig reports ErrInvalid when c cannot be stored.
func CheckRepoConfig(c RepoConfig) error {
	if c.RepoID <= 0 {
		return fmt.Errorf("repository configuration needs its repository's id: %w", ErrInvalid)
	}
	return nil
}

// Sets reports whether c sets any field; one that sets none changes nothing a file's defaults
// would not decide.
func (c RepoConfig) Sets() bool {
	return len(c.Branches)+len(c.Series)+len(c.Archs)+len(c.Packages) > 0
}

// SameSettings reports whether a and b configure the same build (who set them and when aside):
// a writer compares before it writes, so an unchanged configuration is not written again.
func (c RepoConfig) SameSettings(o RepoConfig) bool {
	return c.RepoID == o.RepoID && slices.Equal(c.Branches, o.Branches) && slices.Equal(c.Series, o.Series) &&
		slices.Equal(c.Archs, o.Archs) && slices.Equal(c.Packages, o.Packages)
}
