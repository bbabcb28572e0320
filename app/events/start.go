package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// BuildRequest asks for one build of a ref at a commit: the Kubernetes Build resource.
type BuildRequest struct {
	RepoID int64
	Ref    store.Ref
	SHA    string
	// Force builds every job even when an identical job's result could be published again.
	Force bool
	Actor string
	// DeliveryID is kept on the build (store.Build.DeliveryID), so the caller finds the build
	// it asked for again after a restart.
	DeliveryID string
}

// StartBuild starts a build as the API's rebuild does, honouring Force: the same checks of the
// repository, the same configuration loading and matrix, the same dispatch. It returns the new
// build's ID; a *refusal (a store.ErrInvalid) that says why and what to do when the build could
// not start.
func (s *Processor) StartBuild(ctx context.Context, req BuildRequest) (int64, error) {
	repo, err := s.store.Repository(ctx, req.RepoID)
	if err != nil {
		return 0, err
	}
	if repo.Disabled {
		return 0, refusalf("%s is disabled (removed or uninstalled): register it again to build", repo.Path())
	}
	if err := req.Ref.Check(); err != nil {
		return 0, err
	}
	if req.Ref.Kind == store.RefPR {
		return 0, refusalf("pull requests are built by their forge's events, not by request: build a branch or tag, or comment /rebuild on the pull request")
	}
	if req.SHA == "" {
		return 0, refusalf("no commit to build: name a commit, or a branch or tag that has been pushed")
	}
	r := &eventRun{Processor: s, ev: &forge.Event{Forge: forge.Name(repo.Forge), Repo: model.ForgeRepo(repo),
		Actor: forge.User{Login: req.Actor}, DeliveryID: req.DeliveryID},
		log: s.log.With("repo", repo.Path(), "actor", req.Actor, "delivery", req.DeliveryID)}
	id, err := r.startRef(ctx, repo, req.Ref, req.SHA, store.TriggerAPI, req.Force, nil)
	if err != nil {
		return 0, err
	}
	if id == 0 {
		return 0, refusalf("the build did not start: %s may not build on a push, or the configuration at %s has a mistake: check the branches and tags .openwrt-ppa.yml builds and the commit's checks, fix the file and push again", req.Ref, model.Short(req.SHA))
	}
	return id, nil
}

// CancelBuild cancels the jobs of a build that have not ended: queued ones leave the queue,
// running ones are stopped by their worker at its next look at the store.
func (s *Processor) CancelBuild(ctx context.Context, buildID int64, why string) error {
	b, err := s.store.Build(ctx, buildID)
	if err != nil {
		return err
	}
	repo, err := s.store.Repository(ctx, b.RepoID)
	if err != nil {
		return err
	}
	jobs, err := s.store.JobsOfBuild(ctx, buildID)
	if err != nil {
		return err
	}
	var errs []error
	for i := range jobs {
		if jobs[i].Status.Final() {
			continue
		}
		if err := s.queue.Remove(ctx, model.QueueID(jobs[i].ID)); err != nil {
			s.log.Warn("taking a cancelled job off the queue", "job", jobs[i].ID, "err", err)
		}
		if err := s.report.Finish(ctx, repo, b, &jobs[i], model.Outcome{Status: store.StatusCancelled, Title: "cancelled", Text: why}); err != nil {
			errs = append(errs, fmt.Errorf("cancelling job %d: %w", jobs[i].ID, err))
		}
	}
	return errors.Join(errs...)
}
