package web

import (
	"context"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// History is the part of store.Store the pages read (and, for a rebuild, find the new build in).
// Any store.Store satisfies it.
type History interface {
	store.RepositoryStore
	store.BuildStore
	store.JobStore
}

// Rebuilder starts a forced build of a ref at its newest commit: the Rebuild button and
// POST /api/v1/repos/{owner}/{repo}/builds.
//
// Errors: wrap store.ErrNotFound when the ref no longer exists at the forge (a deleted branch,
// a closed pull request) and store.ErrInvalid when the ref cannot be built (a branch named "-",
// a disabled repository, a refusal by the build-minutes quota); web shows both to the user as
// what happened and what to do. A store.ErrInvalid's message must itself say what to do and
// carry no word of the store's ("invalid record"): web shows it as it is, with no advice of its
// own. Any other error is a failure of the service (shown as "try again later" and logged).
type Rebuilder interface {
	Rebuild(ctx context.Context, repoID int64, ref store.Ref, actor string) (buildID int64, err error)
}

// FeedLister says which feeds exist and what they hold. It reads the published index files; it
// is asked once per page (Feeds) or once per folder listing (Packages), never once per ref.
//
// Errors: an error means the feed storage could not be read; a repository or feed that has
// nothing published is not an error (empty result).
type FeedLister interface {
	// Feeds returns every published feed of the repository: one per ref, series and arch.
	Feeds(ctx context.Context, repo store.Repository) ([]Feed, error)
	// Packages returns the packages of one feed, sorted by name; store.ErrNotFound (wrapped)
	// when that feed is not published. A tag ref with an empty name means the newest tag's
	// feed, /-/latest/.
	Packages(ctx context.Context, repo store.Repository, ref store.Ref, series, arch string) ([]Package, error)
	// KeyFingerprint returns the 16-hex-digit fingerprint (the usign key number) of the
	// repository's main or preview key, the file name routers keep it under in
	// /etc/opkg/keys/, or for an apk kind (apk-main, apk-preview) the apk key id; "" when the
	// repository has no key of that kind yet.
	KeyFingerprint(ctx context.Context, repo store.Repository, kind store.KeyKind) (string, error)
}

// Feed is one published feed.
type Feed struct {
	Ref      store.Ref
	Series   string // "24.10"
	Arch     string // "x86_64"
	Format   string // FormatOPKG or FormatAPK
	Packages int    // how many packages the index lists
	Updated  time.Time
}

// Package is one entry of a feed's index, with its file.
type Package struct {
	Name     string
	Version  string
	Filename string // the .ipk's (or .apk's) name inside the feed folder
	Size     int64
	Modified time.Time
}

// Authorizer answers what a signed-in user may do with a repository, asking the forge
// (GitHub: write, maintain or admin; GitLab: Developer or higher). Users of one forge never
// reach another forge's repositories: web checks that before asking.
//
// Errors: (false, nil) for a user without access; an error means the forge could not be asked,
// and web refuses (fail closed) with a page that says to try again.
type Authorizer interface {
	// CanWrite reports whether user may trigger builds of repo.
	CanWrite(ctx context.Context, repo store.Repository, user User) (bool, error)
	// CanRead reports whether user may see the private repository repo.
	CanRead(ctx context.Context, repo store.Repository, user User) (bool, error)
}

// User is who is signed in: a forge account, or the admin token.
type User struct {
	Forge string `json:"forge"` // "github", "gitlab", or "admin" for the admin token
	Login string `json:"login"` // the forge's user name
}

// Admin reports whether the user authenticated with the admin token.
func (u User) Admin() bool { return u.Forge == adminForge }

// Actor is how the user is named in a build's Actor field.
func (u User) Actor() string {
	if u.Admin() {
		return "admin"
	}
	return u.Login
}

const adminForge = "admin"
