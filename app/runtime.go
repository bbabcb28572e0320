package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/moby/moby/client"
	goredis "github.com/redis/go-redis/v9"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/metrics"
	"github.com/openwrt-ppa/openwrt-ppa/app/jobs"
	"github.com/openwrt-ppa/openwrt-ppa/app/keys"
	"github.com/openwrt-ppa/openwrt-ppa/app/publish"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/docker"
	"github.com/openwrt-ppa/openwrt-ppa/builder/kube"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/github"
	"github.com/openwrt-ppa/openwrt-ppa/forge/gitlab"
	"github.com/openwrt-ppa/openwrt-ppa/internal/queue"
	qredis "github.com/openwrt-ppa/openwrt-ppa/internal/queue/redis"
	qsqlite "github.com/openwrt-ppa/openwrt-ppa/internal/queue/sqlite"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/inproc"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/keyseal"
	sredis "github.com/openwrt-ppa/openwrt-ppa/internal/store/redis"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/sqlite"
)

// Runtime is a running service's parts, opened from a Config: what `serve` and `worker` run.
type Runtime struct {
	Config   Config
	Service  *Service
	Store    store.Store
	Queue    queue.Queue
	Logs     store.LogStream
	Feeds    *feeds.Store
	Keys     *keys.Ring
	Metrics  *metrics.Metrics
	Hooks    Handlers
	Executor builder.Executor // nil until OpenExecutor
	// Controller tunes the Kubernetes controller of --kubernetes (tests: CRDs under a group of
	// their own, a short lease and resync); zero: the defaults.
	Controller ControllerTuning

	log     *slog.Logger
	closers []func() error
}

// Open prepares the data dir and opens the store, queue, feeds, keys and forges of cfg. It starts
// nothing; Close releases what it opened.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Runtime, error) {
	if log == nil {
		log = slog.Default()
	}
	rt := &Runtime{Config: cfg, log: log}
	ok := false
	defer func() {
		if !ok {
			_ = rt.Close()
		}
	}()
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{cfg.Data, 0o755}, {filepath.Join(cfg.Data, "feeds"), 0o755}, {filepath.Join(cfg.Data, "keys"), 0o700},
		{filepath.Join(cfg.Data, "logs"), 0o755}, {filepath.Join(cfg.Data, "cache"), 0o755}} {
		if err := os.MkdirAll(d.path, d.mode); err != nil {
			return nil, fmt.Errorf("preparing the data dir: %w (give --data a folder this user can write)", err)
		}
	}
	var locker store.Locker
	var keyStore store.KeyStore
	if cfg.Redis != "" {
		opts, err := goredis.ParseURL(cfg.Redis)
		if err != nil {
			// The URL may hold a password: name it without.
			return nil, errors.New("--redis is not a Redis URL: give one like redis://[:password@]host:6379/0")
		}
		rc := goredis.NewClient(opts)
		rt.closers = append(rt.closers, rc.Close)
		if err := rc.Ping(ctx).Err(); err != nil {
			return nil, fmt.Errorf("reaching Redis at %s: %w (is it running? run it with appendonly yes)", opts.Addr, err)
		}
		kek, err := keyseal.ParseKey(cfg.KeyEncryptionKey.Reveal())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvName("key-encryption-key"), err)
		}
		sealer, err := keyseal.New(kek)
		if err != nil {
			return nil, err
		}
		st := sredis.New(rc, sredis.Options{Sealer: sealer})
		rt.Store, keyStore = st, st
		if rt.Queue, err = qredis.New(ctx, rc, qredis.Options{Visibility: cfg.VisibilityTime}); err != nil {
			return nil, err
		}
		locker = sredis.NewLocker(rc, "")
		rt.Logs = sredis.NewLogStream(rc, sredis.LogOptions{})
	} else {
		db, err := sqlite.Open(ctx, filepath.Join(cfg.Data, "db.sqlite"))
		if err != nil {
			return nil, fmt.Errorf("opening the embedded store: %w", err)
		}
		rt.Store = db
		if rt.Queue, err = qsqlite.New(ctx, db, qsqlite.Options{Visibility: cfg.VisibilityTime}); err != nil {
			return nil, err
		}
		locker = inproc.NewLocker()
		rt.Logs = inproc.NewLogStream(inproc.LogOptions{})
	}
	rt.closers = append(rt.closers, rt.Store.Close)

	fs, err := feeds.OpenStore(filepath.Join(cfg.Data, "feeds"), feeds.StoreOptions{Logger: log, Sync: true})
	if err != nil {
		return nil, err
	}
	rt.Feeds = fs
	rt.Keys = keys.NewRing(filepath.Join(cfg.Data, "keys"), keyStore)
	tokens, err := keys.LoadTokens(filepath.Join(cfg.Data, "keys"))
	if err != nil {
		return nil, err
	}
	rt.Metrics = metrics.New(func() float64 {
		n, err := rt.Queue.Len(context.Background())
		if err != nil {
			return -1
		}
		return float64(n)
	})
	forges, parsers, err := openForges(cfg, rt.Store, log)
	if err != nil {
		return nil, err
	}
	rt.Service, err = NewService(cfg, Deps{Store: rt.Store, Queue: rt.Queue, Forges: forges,
		Feeds: &publish.FeedStore{Feeds: fs, Keys: rt.Keys, Locker: locker, Metrics: rt.Metrics},
		Keys:  rt.Keys, Tokens: tokens, Locker: locker, Logger: log, Metrics: rt.Metrics})
	if err != nil {
		return nil, err
	}
	inbox := rt.Service.Inbox()
	rt.Hooks.GitHook = rt.Service.remotes.WebhookHandler()
	if p := parsers[forge.GitHub]; p != nil {
		rt.Hooks.GitHubHook = forge.NewWebhookHandler(p, inbox, webhookConfig(log))
	}
	if p := parsers[forge.GitLab]; p != nil {
		rt.Hooks.GitLabHook = forge.NewWebhookHandler(p, inbox, webhookConfig(log))
	}
	fh, err := feeds.NewHandler(fs.Root(), log)
	if err != nil {
		return nil, err
	}
	rt.closers = append(rt.closers, fh.Close)
	rt.Hooks.Feeds = fh
	rt.Hooks.Metrics = rt.Metrics.Handler()
	ok = true
	return rt, nil
}

// openForges makes the forge clients and webhook parsers cfg configures. GitLab's webhook takes
// the per-project and per-group secrets registered in secrets, and the shared token when one is
// set (single-tenant installs: it speaks for every project the service's token can read).
func openForges(cfg Config, secrets store.WebhookSecretStore, log *slog.Logger) ([]forge.Forge, map[forge.Name]forge.WebhookParser, error) {
	var fs []forge.Forge
	h := map[forge.Name]forge.WebhookParser{}
	if cfg.GitHubAppID != 0 {
		key, err := os.ReadFile(cfg.GitHubPrivateKeyFile)
		if err != nil {
			return nil, h, fmt.Errorf("reading the GitHub App's private key: %w (download it from the App's settings page)", err)
		}
		c, err := github.New(github.Config{AppID: cfg.GitHubAppID, PrivateKey: key, APIURL: cfg.GitHubAPIURL, Logger: log})
		if err != nil {
			return nil, h, err
		}
		wh, err := github.NewWebhook([]byte(cfg.GitHubWebhookSecret.Reveal()))
		if err != nil {
			return nil, h, err
		}
		fs = append(fs, c)
		h[forge.GitHub] = wh
	}
	if cfg.GitLabToken != "" {
		c, err := gitlab.New(gitlab.Config{URL: cfg.GitLabURL, Token: cfg.GitLabToken.Reveal(), Logger: log})
		if err != nil {
			return nil, h, err
		}
		wh, err := gitlab.NewScopedWebhook(gitlab.WebhookConfig{SharedToken: []byte(cfg.GitLabWebhookSecret.Reveal()),
			Secrets: webhookScopes{secrets}, Groups: c})
		if err != nil {
			return nil, h, err
		}
		fs = append(fs, c)
		h[forge.GitLab] = wh
	}
	return fs, h, nil
}

// OpenExecutor connects to what runs the builds: the Docker engine (DOCKER_HOST or the local
// socket) or, with --executor kube, the Kubernetes cluster.
func (rt *Runtime) OpenExecutor(ctx context.Context) error {
	switch rt.Config.Executor {
	case ExecutorKube:
		return rt.openKube(ctx)
	case ExecutorDocker, "":
	default:
		return fmt.Errorf("--executor %q: use docker or kube", rt.Config.Executor)
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return fmt.Errorf("connecting to Docker: %w", err)
	}
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		cli.Close()
		return fmt.Errorf("the Docker engine does not answer: %w (start dockerd, or run with --workers 0 to serve without building)", err)
	}
	rt.closers = append(rt.closers, cli.Close)
	mirror, err := rt.FeedMirror()
	if err != nil {
		return err
	}
	workspace := rt.Config.Workspace
	diskDir, err := filepath.Abs(filepath.Join(rt.Config.Data, "workspaces"))
	if err != nil {
		return fmt.Errorf("the workspaces folder: %w", err)
	}
	if rt.Config.WorkspaceTmpfs {
		workspace = docker.WorkspaceTmpfs
	}
	rt.Executor = docker.New(cli, docker.Options{Network: rt.Config.Network, Logger: rt.log, TmpfsBuildDir: rt.Config.BuildTmpfs, FeedMirror: mirror,
		CachePrefix: rt.Config.CachePrefix, Pull: true, RootfsSize: rt.Config.RootfsSize,
		Workspace: workspace, DiskDir: diskDir, GitHubFeeds: rt.Config.GitHubFeeds,
		Labels: jobs.Labels()})
	return nil
}

// openKube makes the kube executor and checks that the cluster answers and lets this account
// make Jobs in the namespace. Its labels are the installation's, never this process's: any
// worker adopts or removes the Jobs another left.
func (rt *Runtime) openKube(ctx context.Context) error {
	c := rt.Config
	rc, err := kube.Config(c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("%w (--kubeconfig, or run the worker in a pod)", err)
	}
	ns := c.KubeNamespace
	if ns == "" {
		if ns, err = kube.Namespace(c.Kubeconfig); err != nil {
			return fmt.Errorf("%w: set --kube-namespace", err)
		}
	}
	medium := kube.MediumDisk
	if c.WorkspaceTmpfs {
		medium = kube.MediumMemory
	}
	opts := kube.Options{Namespace: ns, WorkspaceMedium: medium, GitHubFeeds: c.GitHubFeeds,
		Labels: map[string]string{kube.LabelInstance: c.KubeInstance}, Logger: rt.log}
	for _, q := range []struct {
		v   string
		dst **resource.Quantity
	}{{c.KubeCPURequest, &opts.CPURequest}, {c.KubeMemoryRequest, &opts.MemoryRequest}} {
		if q.v != "" {
			n, err := resource.ParseQuantity(q.v)
			if err != nil {
				return fmt.Errorf("--kube-cpu-request or --kube-memory-request %q: %w", q.v, err)
			}
			*q.dst = &n
		}
	}
	if opts.FeedMirror, err = rt.FeedMirror(); err != nil {
		return err
	}
	if c.KubeCacheStorageClass != "" {
		n, err := resource.ParseQuantity(c.KubeCacheSize)
		if err != nil {
			return fmt.Errorf("--kube-cache-size %q: %w", c.KubeCacheSize, err)
		}
		opts.CacheStorageClass, opts.CacheSize = c.KubeCacheStorageClass, &n
	}
	ex, err := kube.New(rc, opts)
	if err != nil {
		return fmt.Errorf("the kube executor: %w", err)
	}
	if err := ex.Check(ctx); err != nil {
		return err
	}
	rt.Executor = ex
	rt.log.Info("builds run as Kubernetes Jobs", "server", rc.Host, "namespace", ns, "instance", c.KubeInstance, "cache_storage_class", c.KubeCacheStorageClass)
	return nil
}

// Close releases everything Open opened, last first.
func (rt *Runtime) Close() error {
	var errs []error
	for i := len(rt.closers) - 1; i >= 0; i-- {
		errs = append(errs, rt.closers[i]())
	}
	rt.closers = nil
	return errors.Join(errs...)
}

// Serve runs the service until ctx ends: HTTP, the event loop, the janitor and (with workers)
// build jobs. Shutdown stops taking work, lets running jobs finish within the grace period and
// hands the rest back to the queue.
func (rt *Runtime) Serve(ctx context.Context, ln net.Listener, web http.Handler) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	atLeastTwoProcs()
	h := rt.Hooks
	h.Web = web
	srv := newHTTPServer(rt.Service.Router(h), rt.log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	rt.log.Info("serving", "listen", ln.Addr().String(), "public_url", rt.Config.BaseURL(), "data", rt.Config.Data, "redis", rt.Config.Redis != "")
	rt.logFirstSteps(ctx)

	if _, err := rt.Service.janitor.Reconcile(ctx, rt.Config.Redis == ""); err != nil {
		rt.log.Error("reconciling the queue with the store; pending jobs may wait", "err", err)
	}
	var wg sync.WaitGroup
	// The event stage picks each job's SDK image, so serve alone follows the registry; workers
	// build the image their job names. AwaitFirst comes before the event stage starts, so that
	// jobs planned at once wait for the registry's first answer too.
	if rt.Config.Image == "" && rt.Config.CatalogueRefresh > 0 {
		rt.Service.catalogues.AwaitFirst()
		wg.Add(1)
		go func() { defer wg.Done(); rt.Service.catalogues.Run(ctx, rt.Config.CatalogueRefresh) }()
	}
	wg.Add(3)
	go func() { defer wg.Done(); _ = rt.Service.events.Run(ctx) }()
	go func() { defer wg.Done(); rt.Service.remotes.Run(ctx) }()
	go func() { defer wg.Done(); rt.Service.janitor.Run(ctx) }()
	if rt.Config.Kubernetes {
		wg.Add(1)
		go func() { defer wg.Done(); rt.runController(ctx) }()
	}
	if rt.Config.Workers > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); rt.runWorker(ctx) }()
	}
	var err error
	select {
	case err = <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		} else {
			err = fmt.Errorf("serving HTTP on %s: %w", rt.Config.Listen, err)
		}
	case <-ctx.Done():
	}
	// Whatever ended it, the loops stop and are waited for.
	stop()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	wg.Wait()
	return err
}

// atLeastTwoProcs lets serve run Go code on two threads even when it is pinned to one core
// (GOMAXPROCS follows the CPU affinity). The store's commit waits in fsync inside a plain
// syscall, which keeps its P until the runtime's monitor takes it back — up to milliseconds
// later when it has been idle; with one P the HTTP handlers stall for that long behind every
// commit. A GOMAXPROCS the operator set is left as it is.
func atLeastTwoProcs() {
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
}

// readTimeout bounds the reading of a whole request, body included: a client that sends a
// webhook body a byte at a time holds a connection (and one of the webhook handler's reading
// slots) this long at most. 25 MiB, the largest body taken, needs 4 Mbit/s.
var readTimeout = 60 * time.Second

// newHTTPServer is the service's HTTP server. It has no write timeout: live logs stream for as
// long as a build runs.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: readTimeout,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}

// webhookConfig bounds what the webhook handlers read: bodies are buffered whole before their
// signature is checked, so at most MaxReading of them (each up to MaxBody) at once.
func webhookConfig(log *slog.Logger) forge.WebhookConfig {
	return forge.WebhookConfig{Logger: log, MaxBody: forge.DefaultMaxBody, MaxReading: forge.DefaultMaxReading}
}

// executorRetry is how often serve tries again to reach an executor (a Docker engine, a
// Kubernetes cluster) it could not reach.
const executorRetry = 30 * time.Second

// runWorker runs this process's worker, first waiting for the executor when it did not answer at
// start: jobs wait in the queue meanwhile, and start once it is up.
func (rt *Runtime) runWorker(ctx context.Context) {
	for rt.Executor == nil {
		if err := rt.OpenExecutor(ctx); err == nil {
			rt.log.Info("executor reached; builds start", "executor", rt.Config.Executor)
			break
		} else if ctx.Err() == nil {
			rt.log.Warn("no executor yet; trying again", "executor", rt.Config.Executor, "in", executorRetry, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(executorRetry):
		}
	}
	w, err := NewWorker(rt.Service, WorkerDeps{Executor: rt.Executor, Logs: rt.Logs, ID: WorkerID()})
	if err != nil {
		rt.log.Error("no worker", "err", err)
		return
	}
	w.Run(ctx)
}

// webhookScopes finds GitLab webhook secrets in the store, by their hash.
type webhookScopes struct{ store store.WebhookSecretStore }

func (w webhookScopes) WebhookScopes(ctx context.Context, sum [sha256.Size]byte) ([]gitlab.Scope, error) {
	regs, err := w.store.WebhookSecretsByHash(ctx, string(forge.GitLab), hex.EncodeToString(sum[:]))
	if err != nil {
		return nil, err
	}
	out := make([]gitlab.Scope, 0, len(regs))
	for _, r := range regs {
		out = append(out, gitlab.Scope{Group: r.ScopeKind == store.ScopeGroup, ID: r.ScopeID})
	}
	return out, nil
}
