package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/datadir"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/app/publish"
	"github.com/openwrt-ppa/openwrt-ppa/app/report"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/queue"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Worker takes jobs off the queue and runs them: checkout, SDK container, publish, report. Any
// number of workers, in any number of processes, can share one queue.
type Worker struct {
	cfg       Config
	store     store.Store
	queue     queue.Queue
	forges    model.Forges
	catalogue builder.CatalogueProvider
	report    *report.Reporter
	publish   *publish.Publisher
	data      datadir.Dir
	log       *slog.Logger
	now       func() time.Time
	exec      builder.Executor
	checkout  *builder.Checkouter
	logs      store.LogStream
	id        string
	slots     int
	creds     sync.Map // clone URL → transport.AuthMethod, for private repositories
}

// Config is what a worker is told.
type Config struct {
	Workers        int // jobs run at once (at least one)
	JobTimeout     time.Duration
	WorkspaceSize  int64 // bytes; 0: builder.DefaultLimits
	ShutdownGrace  time.Duration
	VisibilityTime time.Duration // 0: queue.DefaultVisibility
	Registry       string        // SDK image registry or mirror
	Image          string        // SDK image override for every job
}

// Deps are a worker's parts.
type Deps struct {
	Store     store.Store
	Queue     queue.Queue
	Forges    model.Forges
	Catalogue builder.CatalogueProvider
	Reporter  *report.Reporter
	Publisher *publish.Publisher
	Data      datadir.Dir
	Executor  builder.Executor
	Logs      store.LogStream
	// ID names the worker in leases and in the jobs it runs; unique per process.
	ID     string
	Logger *slog.Logger
	Now    func() time.Time
}

// New returns a worker running cfg.Workers jobs at once.
func New(cfg Config, d Deps) (*Worker, error) {
	if d.Executor == nil || d.Logs == nil {
		return nil, errors.New("a worker needs an executor and a log stream")
	}
	if d.ID == "" {
		return nil, errors.New("a worker needs an id")
	}
	if d.Store == nil || d.Queue == nil || d.Reporter == nil || d.Publisher == nil || d.Catalogue == nil {
		return nil, errors.New("a worker needs a store, a queue, a reporter, a publisher and the SDK catalogue")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	slots := cfg.Workers
	if slots <= 0 {
		slots = 1
	}
	w := &Worker{cfg: cfg, store: d.Store, queue: d.Queue, forges: d.Forges, catalogue: d.Catalogue,
		report: d.Reporter, publish: d.Publisher, data: d.Data, log: d.Logger, now: d.Now,
		exec: d.Executor, logs: d.Logs, id: d.ID, slots: slots}
	w.checkout = &builder.Checkouter{CacheDir: d.Data.Cache(), Logger: d.Logger, Auth: w.cloneAuth, SubmoduleAccess: w.submoduleAccess}
	return w, nil
}

// Run takes jobs until ctx ends. Then it takes no more; running jobs get the configured grace
// period to finish, after which they are stopped and handed back to the queue for another
// worker. Run returns when every slot is idle.
func (w *Worker) Run(ctx context.Context) {
	w.reapOrphans(ctx)
	go func() {
		// Also now and then: a worker of this host may die while this one keeps running, and
		// its build would otherwise run on until the job's time limit.
		t := time.NewTicker(reapEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.reapOrphans(ctx)
			}
		}
	}()
	// Jobs run under their own context, which outlives ctx by the grace period.
	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	go func() {
		<-ctx.Done()
		t := time.NewTimer(w.cfg.ShutdownGrace)
		defer t.Stop()
		select {
		case <-t.C:
			stopJobs()
		case <-jobsCtx.Done():
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < w.slots; i++ {
		wg.Add(1)
		go func(slot int) {
			defer wg.Done()
			w.slot(ctx, jobsCtx, fmt.Sprintf("%s/%d", w.id, slot))
		}(i)
	}
	wg.Wait()
}

func (w *Worker) slot(ctx, jobsCtx context.Context, name string) {
	for ctx.Err() == nil {
		lease, err := w.queue.Dequeue(ctx, name)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("taking a job from the queue; retrying", "worker", name, "err", err)
				sleep(ctx, 2*time.Second)
			}
			continue
		}
		w.handle(jobsCtx, name, lease)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// handle runs one leased job while keeping its lease alive, then acknowledges it — or hands it
// back when the worker is shutting down before the job could finish.
func (w *Worker) handle(ctx context.Context, name string, lease queue.Lease) {
	log := w.log.With("worker", name, "job", lease.JobID, "attempt", lease.Attempt)
	jobID, err := strconv.ParseInt(lease.JobID, 10, 64)
	if err != nil {
		log.Error("queue holds a job id that is no number; dropping it", "err", err)
		_ = w.queue.Ack(ctx, lease)
		return
	}
	jobCtx, stop := queue.Heartbeat(ctx, w.queue, lease, w.visibility()/3)
	if lease.Attempt > 1 {
		// The worker that held it may have died: its build may still run on this host, its
		// work folder is left in the data dir.
		w.reapOrphans(jobCtx)
		w.removeStaleWork(jobID)
	}
	handBack, err := w.RunJob(jobCtx, jobID, name)
	lease = stop()
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	switch {
	case handBack:
		if err != nil && ctx.Err() == nil {
			// The store failed: do not spin on the job, give it a moment.
			log.Warn("job handed back after an error", "err", err)
			sleep(ctx, 5*time.Second)
		}
		if nerr := w.queue.Nack(bg, lease); nerr != nil {
			log.Warn("handing a job back", "err", nerr)
		}
		log.Info("job handed back to the queue")
		return
	case errors.Is(context.Cause(jobCtx), queue.ErrLeaseLost):
		// Another worker owns it now (or it was cancelled): its result is theirs to report.
		log.Warn("lease lost; job left to its new owner", "err", context.Cause(jobCtx))
		return
	case err != nil:
		log.Error("job failed to run", "err", err)
	}
	if aerr := w.queue.Ack(bg, lease); aerr != nil {
		log.Warn("acknowledging job", "err", aerr)
	}
}

// cloneAuth gives the checkout the credentials stored for a clone URL (none: anonymous).
func (w *Worker) cloneAuth(url string) (transport.AuthMethod, error) {
	if a, ok := w.creds.Load(url); ok {
		return a.(transport.AuthMethod), nil
	}
	return nil, nil
}

// prepareCloneAuth asks the forge for credentials when the repository is private, and returns
// the URL to fetch from. They stay in this process: the checkout uses them, the build
// container never sees them.
func (w *Worker) prepareCloneAuth(ctx context.Context, repo store.Repository) (string, error) {
	if f, err := w.forges.Get(forge.Name(repo.Forge)); err == nil {
		if cs, ok := f.(forge.CheckoutSource); ok {
			// A repository by URL: fetched through the checked transport, with its deploy key.
			url, auth, err := cs.CheckoutSource(ctx, model.ForgeRepo(repo), repo.CloneURL)
			if err != nil {
				return "", fmt.Errorf("where to fetch %s from: %w", repo.Path(), err)
			}
			if auth != nil {
				w.creds.Store(url, auth)
			}
			return url, nil
		}
	}
	if !repo.Private {
		return repo.CloneURL, nil
	}
	f, err := w.forges.Get(forge.Name(repo.Forge))
	if err != nil {
		return "", err
	}
	cc, ok := f.(forge.CloneCredentialer)
	if !ok {
		return "", fmt.Errorf("the %s forge gives no credentials to clone private repositories", repo.Forge)
	}
	user, pass, err := cc.CloneCredentials(ctx, model.ForgeRepo(repo))
	if err != nil {
		return "", fmt.Errorf("credentials to clone %s: %w", repo.Path(), err)
	}
	w.creds.Store(repo.CloneURL, &githttp.BasicAuth{Username: user, Password: pass})
	return repo.CloneURL, nil
}

// reapEvery is how often a running worker looks for containers of dead workers of its host.
const reapEvery = 5 * time.Minute

func (w *Worker) visibility() time.Duration {
	if w.cfg.VisibilityTime > 0 {
		return w.cfg.VisibilityTime
	}
	return queue.DefaultVisibility
}

// jobLogger returns the worker's logger with a job's ids on every line.
func (w *Worker) jobLogger(j store.Job, b store.Build, repo store.Repository) *slog.Logger {
	return w.log.With("job", j.ID, "build", b.ID, "delivery", b.DeliveryID, "repo", repo.Path(), "series", j.Series, "arch", j.Arch)
}
