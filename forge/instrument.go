package forge

import (
	"context"
	"time"
)

// Observation is one call to a Forge, as Instrument reports it.
type Observation struct {
	Forge    Name
	Op       string // "ReportCheck", "Reply", …
	Repo     string // owner/name
	Duration time.Duration
	Err      error
}

// Instrument wraps f so that every call is reported to observe (for logs and metrics; the app
// decides which). observe runs after the call returns, on the caller's goroutine.
func Instrument(f Forge, observe func(context.Context, Observation)) Forge {
	return &instrumented{f: f, observe: observe}
}

type instrumented struct {
	f       Forge
	observe func(context.Context, Observation)
}

func (i *instrumented) done(ctx context.Context, op string, repo Repo, start time.Time, err error) {
	i.observe(ctx, Observation{Forge: i.f.Name(), Op: op, Repo: repo.FullName(), Duration: time.Since(start), Err: err})
}

func (i *instrumented) Name() Name { return i.f.Name() }

func (i *instrumented) ReportCheck(ctx context.Context, repo Repo, c Check) (id string, err error) {
	start := time.Now()
	id, err = i.f.ReportCheck(ctx, repo, c)
	i.done(ctx, "ReportCheck", repo, start, err)
	return id, err
}

func (i *instrumented) Reply(ctx context.Context, repo Repo, number int, body string) error {
	start := time.Now()
	err := i.f.Reply(ctx, repo, number, body)
	i.done(ctx, "Reply", repo, start, err)
	return err
}

func (i *instrumented) React(ctx context.Context, repo Repo, c CommentRef, r Reaction) error {
	start := time.Now()
	err := i.f.React(ctx, repo, c, r)
	i.done(ctx, "React", repo, start, err)
	return err
}

func (i *instrumented) ReadFile(ctx context.Context, repo Repo, sha, path string) ([]byte, bool, error) {
	start := time.Now()
	data, found, err := i.f.ReadFile(ctx, repo, sha, path)
	i.done(ctx, "ReadFile", repo, start, err)
	return data, found, err
}

func (i *instrumented) Pull(ctx context.Context, repo Repo, number int) (Pull, error) {
	start := time.Now()
	p, err := i.f.Pull(ctx, repo, number)
	i.done(ctx, "Pull", repo, start, err)
	return p, err
}

func (i *instrumented) CanTrigger(ctx context.Context, repo Repo, u User) (bool, error) {
	start := time.Now()
	ok, err := i.f.CanTrigger(ctx, repo, u)
	i.done(ctx, "CanTrigger", repo, start, err)
	return ok, err
}
