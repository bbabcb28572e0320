// Package forge holds the forge-neutral model (Event, Repo, Check…) and the seams the service
// talks to GitHub and GitLab through. Drivers live in forge/github and forge/gitlab; fakes of
// their APIs in forge/forgetest. Nothing here knows how packages are built or published.
package forge

import (
	"context"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Name identifies a forge driver.
type Name string

// The forges the project speaks to.
const (
	GitHub Name = "github"
	GitLab Name = "gitlab"
)

// Forge is everything the service asks of one forge after a webhook has been accepted.
// Implementations are safe for concurrent use.
type Forge interface {
	Name() Name
	Reporter
	Source
	Permissions
}

// Reporter shows build progress on the forge.
//
// Errors: a returned error means the forge did not take the report; it is worth retrying later
// (the drivers already retried rate limits). Reports that are already in the wanted state (GitLab's
// "Cannot transition status" answer) are not errors.
type Reporter interface {
	// ReportCheck creates the check c (when c.ID is empty) or moves it to c.State, and returns
	// the ID to pass in c.ID next time (GitHub's check run id; GitLab keys statuses by name, so
	// the name). One check per job: the caller keeps the ID with the job.
	ReportCheck(ctx context.Context, repo Repo, c Check) (id string, err error)
	// Reply posts body as a comment on pull/merge request number.
	Reply(ctx context.Context, repo Repo, number int, body string) error
	// React adds a reaction to the comment c (Event.Comment of a comment command).
	React(ctx context.Context, repo Repo, c CommentRef, r Reaction) error
}

// Source reads from the repository at a commit.
type Source interface {
	// ReadFile returns the file at path in commit sha. A missing file (or repository the
	// installation cannot see any more) is found=false with a nil error: no `.openwrt-ppa.yml`
	// means the defaults. Any other failure is an error.
	ReadFile(ctx context.Context, repo Repo, sha, path string) (data []byte, found bool, err error)
	// Pull returns the current head of pull/merge request number: a comment event carries no
	// commit, so the service asks before it builds.
	Pull(ctx context.Context, repo Repo, number int) (Pull, error)
}

// Permissions answers who may trigger builds.
type Permissions interface {
	// CanTrigger reports whether user may start builds in repo by comment: GitHub write,
	// maintain or admin (looked up by User.Login); GitLab access level Developer or higher,
	// inherited from groups too (looked up by User.ID). A user who is no member at all
	// is (false, nil); an error means the forge could not be asked, and the caller should not
	// build (and may say so).
	CanTrigger(ctx context.Context, repo Repo, user User) (bool, error)
}

// CloneCredentialer is the optional capability of a forge to give the credentials that fetch a
// private repository's code over HTTPS (basic auth). The service uses them for its own checkout;
// they never enter a build container.
type CloneCredentialer interface {
	CloneCredentials(ctx context.Context, repo Repo) (user, password string, err error)
}

// RepoLookup is the optional capability of reading a repository's record from the forge's API.
// Forges whose webhooks are not signed per repository (GitLab's one shared token) have it: the
// service then takes the repository's name, clone URL and visibility from the API, by the id
// the delivery names, never from the delivery itself.
type RepoLookup interface {
	LookupRepo(ctx context.Context, repo Repo) (Repo, error)
}

// RefChecker is the optional capability of asking the forge whether a branch or tag (a full
// ref) exists now. Forges whose webhooks cannot be trusted per repository have it, so that a
// forged "deleted" delivery does not remove a live branch's feeds.
type RefChecker interface {
	RefExists(ctx context.Context, repo Repo, ref string) (bool, error)
}

// CheckoutSource is the optional capability of a forge whose repositories are reached by URLs
// that users gave (repositories by URL): the worker's checkout fetches from the URL it returns
// (one whose transport checks every address it dials) with the credentials it returns (nil:
// anonymous). The credentials stay in the worker, as CloneCredentialer's do.
type CheckoutSource interface {
	CheckoutSource(ctx context.Context, repo Repo, cloneURL string) (url string, auth transport.AuthMethod, err error)
}
