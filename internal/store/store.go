// Package store defines the service's history — repositories, webhook events, builds, jobs and
// signing keys — as one interface, Store, with an embedded implementation (store/sqlite) and a
// shared one (store/redis). Both pass the same conformance suite (store/storetest), so the service
// is written once against this package and never learns which one it runs on.
//
// The record types are plain values (strings, integers, times, JSON blobs): this package sits
// below forge, builder and feeds and must not import them.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors every implementation returns, wrapped with what was being done; test them with errors.Is.
var (
	// ErrNotFound: the record asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate: an event with the same forge and delivery id was already stored, or a
	// signing key of that kind already exists. For events it means "already accepted": answer
	// the webhook as if it had been stored now.
	ErrDuplicate = errors.New("already stored")
	// ErrPathTaken: another repository (of another forge, or another repository of the same
	// forge) already owns the owner/name path, compared case-insensitively. The path belongs to
	// the first repository that registered it; an admin must remove that one first.
	ErrPathTaken = errors.New("repository path already taken")
	// ErrInvalid: a record is missing a required field or holds a value outside its set; the
	// wrapped message names the field.
	ErrInvalid = errors.New("invalid record")
)

// Store keeps the service's history. Every method is safe for concurrent use by many goroutines
// and, for the shared implementation, by many processes. Methods that take a context give up
// when it ends and return its error wrapped.
//
// Times are stored with at least millisecond precision and returned in UTC; a zero time.Time
// means "not yet" (a build that has not started, a job that has not finished).
type Store interface {
	RepositoryStore
	EventStore
	BuildStore
	JobStore
	WebhookSecretStore
	RemoteStore
	RepoConfigStore
	// Close releases connections. The Store must not be used afterwards.
	Close() error
}

// RepositoryStore holds the repositories the service builds.
type RepositoryStore interface {
	// PutRepository registers a repository or updates the one with the same Forge and ForgeID
	// (owner and name follow renames; Created keeps its first value). It returns the stored
	// record with its ID. A path held by a different repository gives ErrPathTaken; a missing
	// Forge, ForgeID, Owner or Name gives ErrInvalid.
	PutRepository(ctx context.Context, r Repository) (Repository, error)
	// Repository returns the repository with that ID, or ErrNotFound.
	Repository(ctx context.Context, id int64) (Repository, error)
	// RepositoryByPath finds a repository by owner and name, case-insensitively, or ErrNotFound.
	RepositoryByPath(ctx context.Context, owner, name string) (Repository, error)
	// RepositoryByForgeID finds a repository by its forge's identity, or ErrNotFound.
	RepositoryByForgeID(ctx context.Context, forge, forgeID string) (Repository, error)
	// ListRepositories returns repositories ordered by path (owner/name, case-insensitively).
	ListRepositories(ctx context.Context, q RepositoryQuery) ([]Repository, error)
	// SetRepositoryDisabled stops (true) or resumes (false) builds of a repository, as when the
	// app is uninstalled. ErrNotFound when the repository does not exist.
	SetRepositoryDisabled(ctx context.Context, id int64, disabled bool) error
	// DeleteRepository removes a repository with its builds, jobs and signing keys — an
	// admin's removal; its feeds and log files on disk are the caller's to delete — and frees
	// its path. Disable it first so no build is created meanwhile. ErrNotFound when it does not
	// exist. If it fails halfway, calling it again finishes the removal.
	DeleteRepository(ctx context.Context, id int64) error
}

// EventStore keeps webhook deliveries durably, so that the webhook can be answered 202 before any
// work happens and an event accepted before a crash is processed after the restart.
type EventStore interface {
	// AddEvent stores a delivery and returns it with its ID. The same Forge and DeliveryID
	// stored before gives ErrDuplicate (a redelivery: acknowledge it, do not process it twice).
	AddEvent(ctx context.Context, e Event) (Event, error)
	// MarkEventProcessed records that the event's work is done (builds created, or ignored).
	// Marking twice is not an error; an unknown ID gives ErrNotFound.
	MarkEventProcessed(ctx context.Context, id int64) error
	// UnprocessedEvents returns up to limit events not marked processed, oldest first: what a
	// restarted service must still process.
	UnprocessedEvents(ctx context.Context, limit int) ([]Event, error)
	// PruneEvents deletes processed events received before the given time and returns how many
	// it deleted. Unprocessed events are never pruned. Redeliveries older than the pruning
	// horizon are no longer recognised as duplicates.
	PruneEvents(ctx context.Context, receivedBefore time.Time) (int, error)
}

// BuildStore holds builds: one per repository, commit and trigger.
type BuildStore interface {
	// CreateBuild stores a new build and returns it with its ID (IDs increase: a newer build has
	// a larger ID) and Created set to now if it was zero. ErrInvalid for a bad Ref or Trigger,
	// ErrNotFound when the repository does not exist.
	CreateBuild(ctx context.Context, b Build) (Build, error)
	// Build returns the build with that ID, or ErrNotFound.
	Build(ctx context.Context, id int64) (Build, error)
	// UpdateBuild reads the build, lets fn change it and writes it back atomically: no other
	// update of the same build interleaves. fn may run more than once (on a write conflict), so
	// it must only change the record; an error from fn aborts the update and is returned
	// wrapped. ID, RepoID and Ref cannot change.
	UpdateBuild(ctx context.Context, id int64, fn func(*Build) error) (Build, error)
	// LatestBuild returns the newest build of a ref of a repository, or ErrNotFound.
	LatestBuild(ctx context.Context, repoID int64, ref Ref) (Build, error)
	// LatestBuilds returns the newest build of every ref of a repository, newest first.
	LatestBuilds(ctx context.Context, repoID int64) ([]Build, error)
	// ListBuilds returns builds newest first, filtered and paged by q.
	ListBuilds(ctx context.Context, q BuildQuery) ([]Build, error)
}

// JobStore holds jobs: one per series and arch of a build.
type JobStore interface {
	// CreateJobs stores the jobs of a build, all or none, and returns them with their IDs in the
	// order given. Status defaults to queued and Created to now. ErrNotFound when a build does
	// not exist, ErrInvalid for a bad status or a missing Series or Arch.
	CreateJobs(ctx context.Context, jobs []Job) ([]Job, error)
	// Job returns the job with that ID, or ErrNotFound.
	Job(ctx context.Context, id int64) (Job, error)
	// UpdateJob changes a job atomically, with the contract of UpdateBuild. fn sees the stored
	// job, so it can refuse a transition (a job already finished by another worker) by
	// returning an error. ID and BuildID cannot change.
	UpdateJob(ctx context.Context, id int64, fn func(*Job) error) (Job, error)
	// JobsOfBuild returns a build's jobs in ID order (empty when there are none).
	JobsOfBuild(ctx context.Context, buildID int64) ([]Job, error)
	// LatestSuccessfulJob returns the most recently finished successful job with that content
	// key — a result that can be reused instead of building again — or ErrNotFound.
	LatestSuccessfulJob(ctx context.Context, contentKey string) (Job, error)
	// PendingJobsBefore returns the queued and running jobs of the repository's builds of ref
	// with an ID lower than buildID: what a newer push to the same ref cancels.
	PendingJobsBefore(ctx context.Context, repoID int64, ref Ref, buildID int64) ([]Job, error)
	// PendingJobs returns queued and running jobs of every repository with an ID above afterID,
	// in ID order, up to limit (0 means 100): what a starting service compares with its queue,
	// re-enqueueing what a crash between CreateJobs and Enqueue left out.
	PendingJobs(ctx context.Context, afterID int64, limit int) ([]Job, error)
	// ExpiredLogs returns the jobs that still have a LogPath and belong to builds older than the
	// newest keep builds of their ref: the logs retention deletes. After deleting a file, clear
	// the job's LogPath with UpdateJob so it is not returned again.
	ExpiredLogs(ctx context.Context, repoID int64, keep int) ([]Job, error)
}
