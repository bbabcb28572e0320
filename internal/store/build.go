package store

import (
	"fmt"
	"strconv"
	"time"
)

// RefKind says what a build built.
type RefKind string

// The kinds of refs.
const (
	RefBranch RefKind = "branch"
	RefTag    RefKind = "tag"
	RefPR     RefKind = "pr" // a pull or merge request
)

// Ref is what a build built: a branch, a tag or a pull request. Builds of the same Ref of a
// repository succeed one another (latest build, cancellation, retention).
type Ref struct {
	Kind RefKind `json:"kind"`
	// Name is the branch or tag name, or for a pull request its number in decimal (PRRef).
	Name string `json:"name"`
}

// PRRef is the Ref of pull request n.
func PRRef(n int) Ref { return Ref{Kind: RefPR, Name: strconv.Itoa(n)} }

// PRNumber returns the pull request number of a RefPR ref, or 0.
func (r Ref) PRNumber() int {
	if r.Kind != RefPR {
		return 0
	}
	n, _ := strconv.Atoi(r.Name)
	return n
}

func (r Ref) String() string { return string(r.Kind) + ":" + r.Name }

// Check reports ErrInvalid for an unknown kind, an empty name or a pull request "number" that
// is not one.
func (r Ref) Check() error {
	switch r.Kind {
	case RefBranch, RefTag:
		if r.Name == "" {
			return fmt.Errorf("%s ref has an empty name: %w", r.Kind, ErrInvalid)
		}
	case RefPR:
		if n, err := strconv.Atoi(r.Name); err != nil || n <= 0 || strconv.Itoa(n) != r.Name {
			return fmt.Errorf("pull request ref name %q is not a number; build it with PRRef: %w", r.Name, ErrInvalid)
		}
	default:
		return fmt.Errorf("ref kind %q is not branch, tag or pr: %w", r.Kind, ErrInvalid)
	}
	return nil
}

// Trigger says why a build was made.
type Trigger string

// The triggers.
const (
	TriggerPush    Trigger = "push"
	TriggerTag     Trigger = "tag"
	TriggerComment Trigger = "comment" // /rebuild on a pull request
	TriggerRerun   Trigger = "rerun"   // the forge's Re-run button
	TriggerAPI     Trigger = "api"
)

// Status is the state of a build or a job.
type Status string

// The states. Builds use queued, running and the final ones; jobs use them all.
const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusSuccess   Status = "success"
	StatusFailure   Status = "failure"
	StatusCancelled Status = "cancelled"
	StatusTimedOut  Status = "timed_out"
	StatusSkipped   Status = "skipped"
)

// Final reports whether s is a state a job or build does not leave.
func (s Status) Final() bool {
	switch s {
	case StatusSuccess, StatusFailure, StatusCancelled, StatusTimedOut, StatusSkipped:
		return true
	}
	return false
}

// Pending reports whether s is queued or running.
func (s Status) Pending() bool { return s == StatusQueued || s == StatusRunning }

// Check reports ErrInvalid for a state outside the set.
func (s Status) Check() error {
	if s.Final() || s.Pending() {
		return nil
	}
	return fmt.Errorf("status %q is not one of queued, running, success, failure, cancelled, timed_out, skipped: %w", s, ErrInvalid)
}

// Build is one build of a repository at a commit.
type Build struct {
	ID         int64     `json:"id"`
	RepoID     int64     `json:"repo_id"`
	CommitSHA  string    `json:"commit_sha"`
	Ref        Ref       `json:"ref"`
	Trigger    Trigger   `json:"trigger"`
	Actor      string    `json:"actor"`  // who pushed, commented or clicked
	Forced     bool      `json:"forced"` // do not reuse results (/rebuild, Re-run)
	Status     Status    `json:"status"`
	Created    time.Time `json:"created"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	DeliveryID string    `json:"delivery_id"` // the webhook delivery that caused it, if any
}

// CheckBuild reports ErrInvalid when b cannot be stored.
func CheckBuild(b Build) error {
	if err := b.Ref.Check(); err != nil {
		return err
	}
	switch b.Trigger {
	case TriggerPush, TriggerTag, TriggerComment, TriggerRerun, TriggerAPI:
	default:
		return fmt.Errorf("build trigger %q is not push, tag, comment, rerun or api: %w", b.Trigger, ErrInvalid)
	}
	if b.CommitSHA == "" {
		return fmt.Errorf("build has no commit sha: %w", ErrInvalid)
	}
	return b.Status.Check()
}

// BuildQuery filters and pages ListBuilds. Zero fields do not filter.
type BuildQuery struct {
	RepoID  int64 // required
	Ref     Ref   // a Kind alone keeps every ref of that kind
	Status  Status
	Trigger Trigger
	// Before pages: only builds with a lower ID. Pass the ID of the last build of the previous
	// page.
	Before int64
	// Limit caps the result; 0 means 100.
	Limit int
}

// Match reports whether b passes the query's filters (not its paging).
func (q BuildQuery) Match(b Build) bool {
	switch {
	case q.RepoID != 0 && b.RepoID != q.RepoID,
		q.Ref.Kind != "" && b.Ref.Kind != q.Ref.Kind,
		q.Ref.Name != "" && b.Ref.Name != q.Ref.Name,
		q.Status != "" && b.Status != q.Status,
		q.Trigger != "" && b.Trigger != q.Trigger,
		q.Before != 0 && b.ID >= q.Before:
		return false
	}
	return true
}
