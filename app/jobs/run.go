package jobs

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

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/datadir"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/app/publish"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/queue"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

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
	j, err := w.store.Job(ctx, jobID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if j.Status.Final() {
		return false, nil
	}
	b, err := w.store.Build(ctx, j.BuildID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil // its repository was deleted
	}
	if err != nil {
		return true, err
	}
	repo, err := w.store.Repository(ctx, b.RepoID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	log := w.jobLogger(j, b, repo)
	if repo.Disabled {
		return false, w.report.Finish(ctx, repo, b, &j, model.Outcome{Status: store.StatusCancelled, Title: "cancelled",
			Text: "The app lost access to the repository, so it is not built any more."})
	}
	if j.Attempts >= maxAttempts {
		// It was started this often and never finished: it kills its worker, or the worker dies.
		return false, w.report.Finish(ctx, repo, b, &j, model.Outcome{Status: store.StatusFailure, Title: "gave up",
			Text: fmt.Sprintf("This job was started %d times and never finished: its workers died or stopped each time. Look at the log of the last try; Re-run to try again.", j.Attempts)})
	}
	logRel := datadir.JobLogPath(repo.ID, b.ID, j.ID)
	now := w.now()
	j, err = w.store.UpdateJob(ctx, j.ID, func(sj *store.Job) error {
		if sj.Status.Final() {
			return model.ErrAlreadyFinished
		}
		sj.Status, sj.Started, sj.WorkerID, sj.LogPath = store.StatusRunning, now, workerName, logRel
		sj.Attempts++
		return nil
	})
	if errors.Is(err, model.ErrAlreadyFinished) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	log.Info("job started", "attempt", j.Attempts)
	if err := w.report.Job(ctx, repo, b, &j, forge.CheckInProgress, "building", ""); err != nil {
		log.Warn("reporting in progress", "err", err)
	}
	if err := w.report.RefreshBuild(ctx, b.ID); err != nil {
		log.Warn("updating build status", "err", err)
	}

	jl, err := openJobLog(filepath.Join(w.data.Logs(), logRel), w.logs, LogStreamName(j.ID))
	if err != nil {
		return false, w.report.Finish(ctx, repo, b, &j, model.Outcome{Status: store.StatusFailure, Title: "could not build",
			Text: "The build service could not write the build log (" + err.Error() + "); tell the operator (the data dir's logs folder must be writable), then Re-run."})
	}
	defer jl.Close()
	work := w.data.Work(j.ID, j.Attempts)
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
		_, err := w.store.UpdateJob(bg, j.ID, func(sj *store.Job) error {
			if sj.Status.Final() || sj.WorkerID != workerName || sj.Attempts != attempts {
				return model.ErrAlreadyFinished
			}
			sj.Status, sj.WorkerID = store.StatusQueued, ""
			return nil
		})
		if err == nil {
			_ = w.report.Job(bg, repo, b, &j, forge.CheckQueued, "queued again: the worker stopped", "")
		}
		return true, nil
	case runErr != nil:
		jl.Printf("the service failed to run this job: %v", runErr)
		log.Error("job could not run", "err", runErr)
		out = model.Outcome{Status: store.StatusFailure, Title: "could not build",
			Text: "The build service failed to run this job: " + runErr.Error() + "\n\nPress Re-run (or comment `/rebuild`) to try again; if it keeps failing, tell the operator."}
	}
	if err := w.report.Finish(context.WithoutCancel(ctx), repo, b, &j, out); err != nil {
		log.Warn("finishing job", "err", err)
	}
	log.Info("job finished", "status", out.Status)
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
			if j, err := w.store.Job(ctx, jobID); err == nil && j.Status == store.StatusCancelled {
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
func (w *Worker) build(ctx context.Context, repo store.Repository, b store.Build, j *store.Job, jl *jobLog, work string) (model.Outcome, error) {
	src := filepath.Join(work, "src")
	jl.Printf("checking out %s at %s (%s)", repo.Path(), b.CommitSHA, checkoutRef(repo, b))
	if repo.CloneURL == "" {
		return model.Outcome{}, fmt.Errorf("the repository's clone URL is unknown; push again so the forge sends it")
	}
	url, err := w.prepareCloneAuth(ctx, repo)
	if err != nil {
		return model.Outcome{}, err
	}
	_, err = w.checkout.Checkout(withCheckoutRepo(ctx, repo), builder.CheckoutRequest{URL: url, Ref: checkoutRef(repo, b), Commit: b.CommitSHA}, src)
	if errors.Is(err, builder.ErrCheckoutRefused) {
		// The repository's doing (a commit off its ref, a submodule it may not fetch): a retry
		// gives the same answer, and the message says what to change.
		jl.Printf("checkout refused: %v", err)
		return model.Failed("checkout refused", err), nil
	}
	if err != nil {
		return model.Outcome{}, fmt.Errorf("checking out: %w", err)
	}
	file, err := readRepoFile(src, builder.ConfigFile)
	if err != nil {
		return model.Failed("configuration mistake", err), nil
	}
	stored, err := w.storedConfig(ctx, repo, file != nil)
	if err != nil {
		return model.Outcome{}, err
	}
	cfg, raw, err := model.ParseConfig(file, file != nil, stored)
	if err != nil {
		return model.Failed("configuration mistake", err), nil
	}
	found, err := builder.Discover(os.DirFS(src))
	if err != nil {
		return model.Outcome{}, fmt.Errorf("finding packages: %w", err)
	}
	plan, err := builder.MakePlan(builder.PlanInput{Repo: repo.Path(), Commit: b.CommitSHA, Config: cfg, ConfigRaw: raw,
		Found: found, Catalogue: w.catalogue.Current(), Images: builder.ImageOptions{Registry: w.cfg.Registry, Image: jobImage(w.cfg.Image, *j)},
		Series: []string{j.Series}, Archs: []string{j.Arch}, Trust: model.Trust(b.Ref)})
	if err != nil {
		out := model.Failed("nothing to build", err)
		if len(plan.Refused) > 0 {
			// Every refused folder on the check with its reason, not only the first.
			out.Result = &model.Result{Message: out.Text, Packages: refusedRows(plan.Refused)}
			if errors.Is(err, builder.ErrNoPackages) {
				out.Text = "Every package Makefile found was refused; the table says why."
			}
		}
		return out, nil
	}
	if len(plan.Jobs) != 1 {
		return model.Outcome{}, fmt.Errorf("the plan for %s/%s has %d jobs, want 1", j.Series, j.Arch, len(plan.Jobs))
	}
	bj := plan.Jobs[0]
	if r := builder.ReleaseOfImage(bj.Image); r != "" {
		bj.Release = r
	}
	if bj.Release != "" {
		jl.Printf("OpenWrt SDK %s", bj.Release)
	}
	jl.Printf("building %s in %s", strings.Join(bj.Packages, ", "), bj.Image)
	// The ids label the sandbox: the Kubernetes executor adopts the Job a dead worker left
	// for the same job, and reapOrphans removes those of jobs that ended.
	res, err := builder.Execute(ctx, w.exec, builder.JobSpec{Job: bj, SourceDir: src, CacheScope: cacheScope(repo, b.Ref),
		Limits: builder.Limits{Timeout: w.cfg.JobTimeout, WorkspaceSize: w.cfg.WorkspaceSize}, Log: jl,
		BuildID: strconv.FormatInt(b.ID, 10), JobID: strconv.FormatInt(j.ID, 10)}, filepath.Join(work, "out"))
	if err != nil {
		return model.Outcome{}, err
	}
	jr := &model.Result{Message: res.Message, IndexJSON: bj.IndexJSON, Format: bj.Format, Packages: refusedRows(plan.Refused)}
	out := model.Outcome{Result: jr, Text: res.Message}
	switch res.Status {
	case builder.JobSucceeded:
		out.Status = store.StatusSuccess
	case builder.JobTimedOut:
		out.Status, out.Title = store.StatusTimedOut, "timed out"
	case builder.JobCanceled:
		out.Status, out.Title = store.StatusCancelled, "cancelled"
	default:
		out.Status = store.StatusFailure
	}

	// Keep the built packages by the content key of what was really built (the image may have
	// changed since the job was made), so an identical job can publish them again.
	if err := w.keyOfBuilt(ctx, repo, b, j, bj.Image, cfg, raw); err != nil {
		return model.Outcome{}, err
	}
	arts, err := w.data.KeepArtifacts(j.ContentKey, res.Files)
	if err != nil {
		return model.Outcome{}, err
	}
	jr.Artifacts = j.ContentKey
	for _, p := range res.Packages {
		pr := model.PackageResult{Name: p.Name, Status: string(p.Status), Step: p.Step, Note: p.Reason, DurationMS: p.Duration.Milliseconds()}
		if p.Status == builder.PackageFailed && len(p.Log) > 0 {
			pr.Note = p.Reason + ": " + lastLine(p.Log)
		}
		jr.Packages = append(jr.Packages, pr)
	}
	pub := arts
	if len(pub) > 0 && out.Status != store.StatusCancelled {
		jl.Printf("publishing %d package files", len(pub))
		pr, err := w.publish.Job(ctx, repo, b, j, pub, bj.Packages, publish.IndexOf(bj.Format, bj.IndexJSON))
		if errors.Is(err, publish.ErrOverQuota) {
			jl.Printf("not published: %v", err)
			out.Status, out.Title, out.Text = store.StatusFailure, "not published: disk quota", "The packages built but were not published: "+err.Error()
			return out, nil
		}
		if err != nil {
			return model.Outcome{}, fmt.Errorf("publishing: %w", err)
		}
		annotate(jr, pr.Index, pr.Refused)
		if len(pr.Refused) > 0 {
			out.Status = store.StatusFailure
		}
	}
	built := model.CountBuilt(jr.Packages)
	if out.Title == "" {
		switch {
		case out.Status == store.StatusSuccess:
			out.Title = fmt.Sprintf("%d packages built", built)
		default:
			out.Title = fmt.Sprintf("%d built, %d failed", built, len(jr.Packages)-built-model.CountStatus(jr.Packages, "skipped"))
		}
	}
	if out.Status == store.StatusFailure && built > 0 {
		out.Text += "\n\nThe packages that built were published; a package that failed keeps its last good version in the feed."
	}
	return out, nil
}

// keyOfBuilt sets the job's content key to that of the build that ran: its image's digest as
// the engine tells it now. No digest, no key: the result is not reused.
func (w *Worker) keyOfBuilt(ctx context.Context, repo store.Repository, b store.Build, j *store.Job, image string, cfg builder.Config, raw []byte) error {
	d, _ := w.exec.(model.ImageDigester)
	key, err := model.ContentKey(model.ContentInput{Repo: repo, Ref: b.Ref, Commit: b.CommitSHA, Series: j.Series, Arch: j.Arch,
		Image: image, ImageDigest: model.Digest(ctx, d, image), Config: cfg, ConfigRaw: raw})
	if err != nil {
		w.log.Warn("no content key: the job's result will not be reused", "job", j.ID, "err", err)
	}
	if key == j.ContentKey {
		return nil
	}
	u, err := w.store.UpdateJob(ctx, j.ID, func(sj *store.Job) error { sj.ContentKey = key; return nil })
	if err != nil {
		return fmt.Errorf("keeping the job's content key: %w", err)
	}
	j.ContentKey = u.ContentKey
	return nil
}

// refusedRows are the result rows of packages (or folders) refused while reading Makefiles.
func refusedRows(rs []builder.Refusal) []model.PackageResult {
	var out []model.PackageResult
	for _, r := range rs {
		out = append(out, model.PackageResult{Name: r.Package, Status: "refused", Note: r.Reason})
	}
	return out
}

func lastLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

// storedConfig is the configuration stored for a repository without .openwrt-ppa.yml (a
// Kubernetes Repository's spec), read as the build's planning read it; none when the file is
// there, which wins.
func (w *Worker) storedConfig(ctx context.Context, repo store.Repository, fileFound bool) (store.RepoConfig, error) {
	if fileFound {
		return store.RepoConfig{}, nil
	}
	c, err := w.store.RepoConfig(ctx, repo.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.RepoConfig{}, nil
	case err != nil:
		return store.RepoConfig{}, fmt.Errorf("reading the stored configuration of %s: %w", repo.Path(), err)
	}
	return c, nil
}

// readRepoFile reads a regular file at the root of a checkout: a symlink (which could point
// anywhere on the worker's disk) is refused. A missing file reads as nil, a present one (even
// empty) never does: the file wins over the stored configuration only where it is.
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
	b, err := r.ReadFile(name)
	if err == nil && b == nil {
		b = []byte{}
	}
	return b, err
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

// annotate adds what the feed says of each built package (version, size, checksum) to the job's
// result, and marks packages the feed refused.
func annotate(jr *model.Result, index []feeds.PackageInfo, refused []feeds.Refusal) {
	byName := map[string]feeds.PackageInfo{}
	for _, p := range index {
		byName[p.Name] = p
	}
	for i := range jr.Packages {
		p := &jr.Packages[i]
		if info, ok := byName[p.Name]; ok && p.Status == "built" {
			p.Version, p.Size, p.SHA256, p.File = info.Version, info.Size, info.SHA256, info.Filename
		}
	}
	for _, r := range refused {
		jr.Packages = append(jr.Packages, model.PackageResult{Name: r.Package, File: filepath.Base(r.File), Status: "refused", Note: r.Reason})
	}
}

// jobImage is the SDK image a job builds in: the operator's override, else the image the event
// stage chose when it planned the job (a worker's own catalogue may know other point releases).
func jobImage(override string, j store.Job) string {
	if override != "" {
		return override
	}
	return j.Image
}
