package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/queue"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

func (s *Service) cachePath() string { return filepath.Join(s.cfg.Data, "cache") }
func (s *Service) logsPath() string  { return filepath.Join(s.cfg.Data, "logs") }

// errJobCancelled is the cause of a run stopped because its job was cancelled meanwhile.
var errJobCancelled = errors.New("job cancelled")

// maxAttempts is how often a job is started before it is given up.
const maxAttempts = 5

// cancelPoll is how often a running job looks whether it was cancelled (a newer push).
const cancelPoll = 2 * time.Second

// RunJob runs one job from checkout to report. handBack is true when the job was stopped by a
// shutdown before it could finish: it is queued again for another worker. The error is for
// failures of the service itself; a failed build is reported on its check, not returned.
func (w *Worker) RunJob(ctx context.Context, jobID int64, workerName string) (handBack bool, err error) {
	s := w.svc
	j, err := s.store.Job(ctx, jobID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if j.Status.Final() {
		return false, nil
	}
	b, err := s.store.Build(ctx, j.BuildID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil // its repository was deleted
	}
	if err != nil {
		return true, err
	}
	repo, err := s.store.Repository(ctx, b.RepoID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	log := s.jobLogger(j, b, repo)
	if repo.Disabled {
		return false, s.finishJob(ctx, repo, b, &j, jobOutcome{status: store.StatusCancelled, title: "cancelled",
			text: "The app lost access to the repository, so it is not built any more."})
	}
	if j.Attempts >= maxAttempts {
		// It was started this often and never finished: it kills its worker, or the worker dies.
		return false, s.finishJob(ctx, repo, b, &j, jobOutcome{status: store.StatusFailure, title: "gave up",
			text: fmt.Sprintf("This job was started %d times and never finished: its workers died or stopped each time. Look at the log of the last try; Re-run to try again.", j.Attempts)})
	}
	logRel := jobLogPath(repo.ID, b.ID, j.ID)
	now := s.now()
	j, err = s.store.UpdateJob(ctx, j.ID, func(sj *store.Job) error {
		if sj.Status.Final() {
			return errAlreadyFinished
		}
		sj.Status, sj.Started, sj.WorkerID, sj.LogPath = store.StatusRunning, now, workerName, logRel
		sj.Attempts++
		return nil
	})
	if errors.Is(err, errAlreadyFinished) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	log.Info("job started", "attempt", j.Attempts)
	if err := s.reportJob(ctx, repo, b, &j, forge.CheckInProgress, "building", ""); err != nil {
		log.Warn("reporting in progress", "err", err)
	}
	if err := s.refreshBuildStatus(ctx, b.ID); err != nil {
		log.Warn("updating build status", "err", err)
	}

	jl, err := openJobLog(filepath.Join(s.logsPath(), logRel), w.logs, LogStreamName(j.ID))
	if err != nil {
		return false, s.finishJob(ctx, repo, b, &j, jobOutcome{status: store.StatusFailure, title: "could not build",
			text: "The build service could not write the build log (" + err.Error() + "); tell the operator (the data dir's logs folder must be writable), then Re-run."})
	}
	defer jl.Close()
	work := filepath.Join(s.cachePath(), "work", strconv.FormatInt(j.ID, 10)+"-"+strconv.Itoa(j.Attempts))
	defer os.RemoveAll(work)

	runCtx, cancelRun := context.WithCancelCause(ctx)
	defer cancelRun(nil)
	go w.watchCancel(runCtx, cancelRun, j.ID)

	out, runErr := w.build(runCtx, repo, b, &j, jl, work)
	switch {
	case errors.Is(context.Cause(runCtx), errJobCancelled):
		jl.Printf("stopped: the job was cancelled (a newer commit supersedes it)")
		return false, nil // whoever cancelled it reported it
	case errors.Is(context.Cause(ctx), queue.ErrLeaseLost):
		// Another worker owns the job now: its state is theirs to change.
		jl.Printf("stopped: this worker lost the job's lease; another worker runs it")
		return false, nil
	case ctx.Err() != nil:
		// Shutdown: put the job back as it was for the next worker, unless someone else took it.
		jl.Printf("stopped: this worker is shutting down; the job goes back to the queue")
		bg := context.WithoutCancel(ctx)
		attempts := j.Attempts
		_, err := s.store.UpdateJob(bg, j.ID, func(sj *store.Job) error {
			if sj.Status.Final() || sj.WorkerID != workerName || sj.Attempts != attempts {
				return errAlreadyFinished
			}
			sj.Status, sj.WorkerID = store.StatusQueued, ""
			return nil
		})
		if err == nil {
			_ = s.reportJob(bg, repo, b, &j, forge.CheckQueued, "queued again: the worker stopped", "")
		}
		return true, nil
	case runErr != nil:
		jl.Printf("the service failed to run this job: %v", runErr)
		log.Error("job could not run", "err", runErr)
		out = jobOutcome{status: store.StatusFailure, title: "could not build",
			text: "The build service failed to run this job: " + runErr.Error() + "\n\nPress Re-run (or comment `/rebuild`) to try again; if it keeps failing, tell the operator."}
	}
	if err := s.finishJob(context.WithoutCancel(ctx), repo, b, &j, out); err != nil {
		log.Warn("finishing job", "err", err)
	}
	log.Info("job finished", "status", out.status)
	return false, nil
}

// watchCancel stops the run when the job is cancelled in the store.
func (w *Worker) watchCancel(ctx context.Context, cancel context.CancelCauseFunc, jobID int64) {
	t := time.NewTicker(cancelPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if j, err := w.svc.store.Job(ctx, jobID); err == nil && j.Status == store.StatusCancelled {
				cancel(errJobCancelled)
				return
			}
		}
	}
}

// checkoutRef is what to fetch to get a build's commit: the branch or tag, or the pull request's
// head ref, which the base repository serves even for forks.
func checkoutRef(repo store.Repository, b store.Build) string {
	switch b.Ref.Kind {
	case store.RefTag:
		return "refs/tags/" + b.Ref.Name
	case store.RefPR:
		if repo.Forge == string(forge.GitLab) {
			return "refs/merge-requests/" + b.Ref.Name + "/head"
		}
		return "refs/pull/" + b.Ref.Name + "/head"
	}
	return "refs/heads/" + b.Ref.Name
}

// build checks out, plans and runs the job, and publishes what it built. The error is for
// failures of the service (checkout, executor, publishing), never for a failed build.
func (w *Worker) build(ctx context.Context, repo store.Repository, b store.Build, j *store.Job, jl *jobLog, work string) (jobOutcome, error) {
	s := w.svc
	src := filepath.Join(work, "src")
	jl.Printf("checking out %s at %s (%s)", repo.Path(), b.CommitSHA, checkoutRef(repo, b))
	if repo.CloneURL == "" {
		return jobOutcome{}, fmt.Errorf("the repository's clone URL is unknown; push again so the forge sends it")
	}
	if err := w.prepareCloneAuth(ctx, repo); err != nil {
		return jobOutcome{}, err
	}
	if _, err := w.checkout.Checkout(ctx, builder.CheckoutRequest{URL: repo.CloneURL, Ref: checkoutRef(repo, b), Commit: b.CommitSHA}, src); err != nil {
		return jobOutcome{}, fmt.Errorf("checking out: %w", err)
	}
	raw, err := readRepoFile(src, builder.ConfigFile)
	if err != nil {
		return failed("configuration mistake", err), nil
	}
	cfg, err := builder.ParseConfig(builder.ConfigFile, raw)
	if err != nil {
		return failed("configuration mistake", err), nil
	}
	found, err := builder.Discover(os.DirFS(src))
	if err != nil {
		return jobOutcome{}, fmt.Errorf("finding packages: %w", err)
	}
	plan, err := builder.MakePlan(builder.PlanInput{Repo: repo.Path(), Commit: b.CommitSHA, Config: cfg, ConfigRaw: raw,
		Found: found, Catalogue: s.catalogue, Images: builder.ImageOptions{Registry: s.cfg.Registry, Image: s.cfg.Image},
		Series: []string{j.Series}, Archs: []string{j.Arch}})
	if err != nil {
		return failed("nothing to build", err), nil
	}
	if len(plan.Jobs) != 1 {
		return jobOutcome{}, fmt.Errorf("the plan for %s/%s has %d jobs, want 1", j.Series, j.Arch, len(plan.Jobs))
	}
	bj := plan.Jobs[0]
	jl.Printf("building %s in %s", strings.Join(bj.Packages, ", "), bj.Image)
	res, err := builder.Execute(ctx, w.exec, builder.JobSpec{Job: bj, SourceDir: src, CacheScope: cacheScope(repo, b.Ref),
		Limits: builder.Limits{Timeout: s.cfg.JobTimeout}, Log: jl}, filepath.Join(work, "out"))
	if err != nil {
		return jobOutcome{}, err
	}
	jr := &jobResult{Message: res.Message, IndexJSON: bj.IndexJSON}
	for _, r := range plan.Refused {
		jr.Packages = append(jr.Packages, packageResult{Name: r.Package, Status: "refused", Note: r.Reason})
	}
	out := jobOutcome{result: jr, text: res.Message}
	switch res.Status {
	case builder.JobSucceeded:
		out.status = store.StatusSuccess
	case builder.JobTimedOut:
		out.status, out.title = store.StatusTimedOut, "timed out"
	case builder.JobCanceled:
		out.status, out.title = store.StatusCancelled, "cancelled"
	default:
		out.status = store.StatusFailure
	}

	// Keep the built packages by content key, so an identical job can publish them again.
	arts, err := s.keepArtifacts(j.ContentKey, res.Files)
	if err != nil {
		return jobOutcome{}, err
	}
	jr.Artifacts = j.ContentKey
	for _, p := range res.Packages {
		pr := packageResult{Name: p.Name, Status: string(p.Status), Step: p.Step, Note: p.Reason, DurationMS: p.Duration.Milliseconds()}
		if p.Status == builder.PackageFailed && len(p.Log) > 0 {
			pr.Note = p.Reason + ": " + lastLine(p.Log)
		}
		jr.Packages = append(jr.Packages, pr)
	}
	pub := arts
	if len(pub) > 0 && out.status != store.StatusCancelled {
		jl.Printf("publishing %d package files", len(pub))
		pr, err := s.publishJob(ctx, repo, b, j, pub, bj.Packages, bj.IndexJSON)
		if errors.Is(err, errOverQuota) {
			jl.Printf("not published: %v", err)
			out.status, out.title, out.text = store.StatusFailure, "not published: disk quota", "The packages built but were not published: "+err.Error()
			return out, nil
		}
		if err != nil {
			return jobOutcome{}, fmt.Errorf("publishing: %w", err)
		}
		annotate(jr, pr.Index, pr.Refused)
		if len(pr.Refused) > 0 {
			out.status = store.StatusFailure
		}
	}
	built := countBuilt(jr.Packages)
	if out.title == "" {
		switch {
		case out.status == store.StatusSuccess:
			out.title = fmt.Sprintf("%d packages built", built)
		default:
			out.title = fmt.Sprintf("%d built, %d failed", built, len(jr.Packages)-built-countStatus(jr.Packages, "skipped"))
		}
	}
	if out.status == store.StatusFailure && built > 0 {
		out.text += "\n\nThe packages that built were published; a package that failed keeps its last good version in the feed."
	}
	return out, nil
}

func failed(title string, err error) jobOutcome {
	return jobOutcome{status: store.StatusFailure, title: title, text: err.Error()}
}

func lastLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

func countStatus(ps []packageResult, status string) int {
	n := 0
	for _, p := range ps {
		if p.Status == status {
			n++
		}
	}
	return n
}

// readRepoFile reads a regular file at the root of a checkout: a symlink (which could point
// anywhere on the worker's disk) is refused. A missing file reads as empty.
func readRepoFile(root, name string) ([]byte, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	fi, err := r.Lstat(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (a symlink?); commit the file itself", name)
	}
	return r.ReadFile(name)
}

// cacheScope gives each repository its own SDK caches, and its pull requests (whose code is
// less trusted, forks included) caches apart from its branches and tags: a build can poison
// what it leaves in a cache, and must only ever poison its own.
func cacheScope(repo store.Repository, ref store.Ref) string {
	trust := "main"
	if ref.Kind == store.RefPR {
		trust = "pr"
	}
	sum := sha256.Sum256([]byte(repo.Forge + "\x00" + repo.ForgeID + "\x00" + trust))
	return hex.EncodeToString(sum[:])[:24]
}
