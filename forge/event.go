package forge

import (
	"strings"
	"time"
)

// Kind says what happened on the forge. The service switches on it.
type Kind string

// The kinds of Event. A driver turns every other delivery into an IgnoredError.
const (
	KindPush          Kind = "push"           // a branch created or updated: Ref, SHA
	KindTag           Kind = "tag"            // a tag created or moved: Ref, SHA
	KindBranchDeleted Kind = "branch_deleted" // Ref; SHA is empty
	KindTagDeleted    Kind = "tag_deleted"    // Ref; SHA is empty

	KindPullOpened   Kind = "pull_opened"   // Pull, SHA = head
	KindPullUpdated  Kind = "pull_updated"  // new commits pushed to the head: Pull, SHA
	KindPullReopened Kind = "pull_reopened" // Pull, SHA
	KindPullClosed   Kind = "pull_closed"   // Pull (Pull.Merged says how), SHA

	// Comment commands on a pull/merge request: Pull.Number and Comment are set; SHA is set on
	// GitLab, empty on GitHub (ask Source.Pull). Check the actor's permission before building.
	KindRebuild       Kind = "rebuild"        // `/rebuild`
	KindRebuildFailed Kind = "rebuild_failed" // `/rebuild failed`
	KindCommentReply  Kind = "comment_reply"  // help or usage: post Comment.Reply, build nothing

	// KindCheckRerun: someone pressed "Re-run" (or our "Rebuild" action) on a check or suite.
	// SHA, Ref (when the forge says) and Check are set; Pull when the check belongs to one.
	KindCheckRerun Kind = "check_rerun"

	KindInstalled    Kind = "installed"     // app installed: Repos, Installation
	KindUninstalled  Kind = "uninstalled"   // app removed: Repos, Installation
	KindReposAdded   Kind = "repos_added"   // Repos added to an installation
	KindReposRemoved Kind = "repos_removed" // Repos removed from an installation
	KindPing         Kind = "ping"          // the webhook was set up; nothing to do
)

// ZeroSHA is what forges send as the "before" or "after" of a created or deleted ref.
const ZeroSHA = "0000000000000000000000000000000000000000"

// Event is one webhook delivery in forge-neutral form. Parsing fills it from the body alone,
// so it may be stored and handled later, on another machine.
type Event struct {
	Forge      Name   `json:"forge"`
	DeliveryID string `json:"delivery_id"` // the forge's delivery id, the dedupe key
	Kind       Kind   `json:"kind"`
	Repo       Repo   `json:"repo"`
	// Ref is the full ref (refs/heads/main, refs/tags/v1.0); for pull events the base branch is
	// in Pull.BaseRef and Ref is the head branch's full ref.
	Ref    string `json:"ref,omitempty"`
	SHA    string `json:"sha,omitempty"`    // the commit to build; empty when there is none
	Before string `json:"before,omitempty"` // the previous head of a push, if any
	Actor  User   `json:"actor"`

	Pull    *Pull       `json:"pull,omitempty"`
	Comment *CommentRef `json:"comment,omitempty"`
	Command *Command    `json:"command,omitempty"` // KindRebuild, KindRebuildFailed
	Reply   string      `json:"reply,omitempty"`   // KindCommentReply: the text to post back
	Check   *CheckRef   `json:"check,omitempty"`

	// Installation events: the GitHub App installation and the repositories it concerns.
	Installation int64  `json:"installation,omitempty"`
	Repos        []Repo `json:"repos,omitempty"`

	// SentAt is when the forge says the event happened, from the signed body (GitHub: a push's
	// pushed_at, a pull request's updated_at, a comment's created_at; GitLab: a merge request's
	// or note's updated_at/created_at); zero when the payload carries no such time (GitLab
	// pushes, check and installation events). The app refuses deliveries older than its replay
	// guard remembers (OlderThan): a captured body cannot be replayed after its id is forgotten.
	SentAt time.Time `json:"sent_at,omitzero"`

	// BodySHA256 is the hash of the verified request body, set by WebhookHandler: the same body
	// arriving under another delivery id is a replay (the id is not covered by the signature).
	BodySHA256 string `json:"body_sha256,omitempty"`
}

// OlderThan reports whether the event says it happened more than d before now. An event
// without SentAt is never older: the caller relies on the delivery id and body dedupe alone.
func (e *Event) OlderThan(now time.Time, d time.Duration) bool {
	return !e.SentAt.IsZero() && now.Sub(e.SentAt) > d
}

// PullNumber is the pull/merge request number, or 0.
func (e *Event) PullNumber() int {
	if e == nil || e.Pull == nil {
		return 0
	}
	return e.Pull.Number
}

// Branch is the branch name of Ref, or "" when Ref is no branch.
func (e *Event) Branch() string { return BranchName(e.Ref) }

// Tag is the tag name of Ref, or "" when Ref is no tag.
func (e *Event) Tag() string { return TagName(e.Ref) }

// BranchName returns the branch of a full ref (refs/heads/x → x), or "".
func BranchName(ref string) string {
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return b
	}
	return ""
}

// TagName returns the tag of a full ref (refs/tags/x → x), or "".
func TagName(ref string) string {
	if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		return t
	}
	return ""
}

// Repo is a repository (GitLab: project) as the forge names it.
type Repo struct {
	Forge Name  `json:"forge"`
	ID    int64 `json:"id"` // GitHub repository id, GitLab project id
	// Owner is the account or namespace; on GitLab it may hold slashes (group/sub).
	Owner         string `json:"owner"`
	Name          string `json:"name"`
	CloneURL      string `json:"clone_url,omitempty"`
	WebURL        string `json:"web_url,omitempty"`
	DefaultBranch string `json:"default_branch,omitempty"`
	Private       bool   `json:"private"`
	// Installation is the GitHub App installation that sees the repository (0: look it up).
	Installation int64 `json:"installation,omitempty"`
}

// FullName is owner/name, the forge's spelling.
func (r Repo) FullName() string { return r.Owner + "/" + r.Name }

// User is who caused an event.
type User struct {
	ID    int64  `json:"id,omitempty"`
	Login string `json:"login"`
}

// Pull is a pull request (GitLab: merge request).
type Pull struct {
	Number  int    `json:"number"`
	BaseRef string `json:"base_ref,omitempty"` // branch name the request targets
	HeadRef string `json:"head_ref,omitempty"` // branch name in the head repository
	HeadSHA string `json:"head_sha,omitempty"`
	// FromFork is true when the head lives in another repository: such code builds only after
	// a `/rebuild` by someone with write access.
	FromFork     bool   `json:"from_fork"`
	HeadCloneURL string `json:"head_clone_url,omitempty"`
	Merged       bool   `json:"merged,omitempty"`
}

// CommentRef points at the comment that carried a command, for replies and reactions.
type CommentRef struct {
	ID         int64 `json:"id"`
	PullNumber int   `json:"pull_number"`
}

// CheckRef names the check or suite a re-run was asked for.
type CheckRef struct {
	ID         int64  `json:"id,omitempty"` // check run id (0 for a whole suite)
	SuiteID    int64  `json:"suite_id,omitempty"`
	Name       string `json:"name,omitempty"`
	ExternalID string `json:"external_id,omitempty"` // what ReportCheck sent as Check.ExternalID
}
