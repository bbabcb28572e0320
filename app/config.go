package app

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder/docker"
	"github.com/openwrt-ppa/openwrt-ppa/builder/feedmirror"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// EnvPrefix starts every environment variable the service reads.
const EnvPrefix = "OPENWRT_PPA_"

// Config is everything `serve` and `worker` are told. Secrets are kept out of String() and logs.
type Config struct {
	Listen    string
	Data      string
	PublicURL string
	Redis     string
	Image     string // SDK image override for every job (tests use the stand-in)
	Network   string // build containers' network mode
	Registry  string // SDK image registry or mirror
	// CatalogueRefresh is how often serve asks the registry for new point releases (0: never,
	// the embedded table is used).
	CatalogueRefresh time.Duration
	WorkspaceTmpfs   bool // each job's /builder is a size-capped tmpfs
	// Workspace is where the Docker executor puts each job's /builder: auto, disk, tmpfs, volume
	// (docker.Workspace*); WorkspaceSize ("8Gi") is its cap, and the kube executor's emptyDir's.
	Workspace, WorkspaceSize string
	GitHubFeeds              bool // the standard feeds come from github.com/openwrt, as OpenWrt's CI action does
	// FeedMirror keeps the standard feeds the SDK pins in DATA/cache/feedmirror, fetched by the
	// service and shared read-only into builds (which then need no network for them).
	FeedMirror bool
	// FeedRewrites ("FROM=TO") point the feed mirror's URLs elsewhere, before the GitHub ones.
	FeedRewrites []string
	// BuildTmpfs mounts a size-limited tmpfs on the SDK's build_dir (the test stand-in and small
	// builds); release SDK images ship files there, so production leaves it off.
	BuildTmpfs bool
	// CachePrefix names the build cache volumes; worker processes sharing one Docker engine
	// each need their own (a volume is locked only within its process).
	CachePrefix string
	// RootfsSize caps a build container's writable layer ("20G"): needs Docker's overlay2 on XFS
	// with project quotas; elsewhere cap the disk with a size-limited data-root.
	RootfsSize string

	// Executor runs the build jobs: ExecutorDocker (the local engine) or ExecutorKube.
	Executor string
	// Kubeconfig is the kubeconfig file of the kube executor; empty: the pod's own service
	// account (in-cluster), else $KUBECONFIG or ~/.kube/config.
	Kubeconfig string
	// KubeNamespace holds the build Jobs; empty: the kubeconfig context's namespace, or in a pod
	// its own.
	KubeNamespace string
	// KubeInstance labels this installation's build Jobs: every worker of one installation
	// gives the same, so any of them adopts or removes what another left; two installations in
	// one namespace give different ones.
	KubeInstance string
	// KubeCPURequest and KubeMemoryRequest are what the scheduler reserves for a build pod
	// (quantities, "500m", "1Gi"); empty: its limits.
	KubeCPURequest, KubeMemoryRequest string
	// Kubernetes runs the controller of the Repository and Build custom resources (app/kubeapi)
	// in serve, leader-elected among replicas, on the cluster of Kubeconfig (empty: in-cluster).
	Kubernetes bool
	// KubernetesNamespace is the namespace whose Repositories and Builds it serves; empty: the
	// kubeconfig context's, or in a pod its own.
	KubernetesNamespace string
	// KubeCacheStorageClass keeps the SDK caches (dl/, feeds) of each cache scope on claims of
	// this storage class; empty: build pods have no caches. KubeCacheSize is each claim's size.
	KubeCacheStorageClass, KubeCacheSize string

	Workers        int
	JobTimeout     time.Duration
	QueueLimit     int
	KeepBuilds     int
	RepoQuotaMB    int64 // disk a repository's feeds may use
	PRFeedTTL      time.Duration
	ShutdownGrace  time.Duration
	VisibilityTime time.Duration

	GitHubAppID          int64
	GitHubPrivateKeyFile string
	GitHubWebhookSecret  Secret
	GitHubAPIURL         string
	GitHubClientID       string
	GitHubClientSecret   Secret

	GitLabURL           string
	GitLabToken         Secret
	GitLabWebhookSecret Secret
	GitLabClientID      string
	GitLabClientSecret  Secret

	// Repositories by URL (app/remote): who may add them, whether their URLs may reach this
	// network, how often they are polled, how many one user may add, extra CA roots.
	ReposAllow        string
	ReposAllowPrivate bool
	ReposPollInterval time.Duration
	ReposQuota        int
	ReposBuildMinutes int
	ReposCAFile       string

	SessionSecret    Secret
	AdminToken       Secret
	KeyEncryptionKey Secret
}

// Secret is a string that never prints.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// LogValue keeps a Secret out of slog output, whatever the handler.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON keeps a Secret out of JSON.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Reveal returns the secret's text, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// option describes one setting: its flag, its environment variable and where its value goes.
type option struct {
	name   string // flag name; the environment variable is EnvPrefix + upper snake case
	usage  string
	secret bool // also read from NAME_FILE, never shown
	bind   func(fs *flag.FlagSet, name, usage string)
}

func (c *Config) options() []option {
	str := func(p *string, def string) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, u string) { fs.StringVar(p, n, def, u) }
	}
	sec := func(p *Secret) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, u string) {
			fs.Func(n, u, func(v string) error { *p = Secret(v); return nil })
		}
	}
	num := func(p *int, def int) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, u string) { fs.IntVar(p, n, def, u) }
	}
	dur := func(p *time.Duration, def time.Duration) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, u string) { fs.DurationVar(p, n, def, u) }
	}
	return []option{
		{name: "listen", usage: "address to serve HTTP on", bind: str(&c.Listen, "127.0.0.1:8080")},
		{name: "data", usage: "data directory (feeds, keys, db.sqlite, logs, cache)", bind: str(&c.Data, "./data")},
		{name: "public-url", usage: "public base URL of this service, used in feed and build links", bind: str(&c.PublicURL, "")},
		{name: "redis", usage: "redis://… URL: queue and shared state in Redis (scale-out); empty = embedded SQLite", bind: str(&c.Redis, "")},
		{name: "image", usage: "SDK image to use for every job instead of the catalogue's (e.g. the test stand-in)", bind: str(&c.Image, "")},
		{name: "network", usage: "docker executor: network mode of build containers (downloads need one; 'none' forbids all); on Kubernetes a NetworkPolicy does this", bind: str(&c.Network, "bridge")},
		{name: "registry", usage: "registry or mirror of the official SDK images", bind: str(&c.Registry, "ghcr.io/openwrt/sdk")},
		{name: "catalogue-refresh", usage: "how often to ask the registry for the newest point release of each series (0 = never: use the embedded table)", bind: dur(&c.CatalogueRefresh, 24*time.Hour)},
		{name: "workspace-tmpfs", usage: "give each job's SDK work dir (/builder) a size-capped tmpfs: a real disk cap, held in memory (kube executor: the workspace emptyDir in memory, counted against the pod's memory)", bind: func(fs *flag.FlagSet, n, u string) { fs.BoolVar(&c.WorkspaceTmpfs, n, false, u) }},
		{name: "workspace", usage: "docker executor: each job's SDK work dir (/builder): disk (an ext4 file of --workspace-size in DATA/workspaces on a loop device, mounted by the engine: a real cap on disk; the worker needs root, losetup and mkfs.ext4), tmpfs (capped, in memory; as --workspace-tmpfs), volume (no cap), or auto (disk where loop devices work, else volume, said in the log)", bind: str(&c.Workspace, "auto")},
		{name: "workspace-size", usage: "disk cap of each job's SDK work dir (/builder), where the build writes, e.g. 8Gi or 20G (docker: --workspace disk or tmpfs; kube: the workspace emptyDir's sizeLimit)", bind: str(&c.WorkspaceSize, "8Gi")},
		{name: "github-feeds", usage: "fetch the standard feeds from github.com/openwrt instead of git.openwrt.org (as OpenWrt's own CI action does)", bind: func(fs *flag.FlagSet, n, u string) { fs.BoolVar(&c.GitHubFeeds, n, true, u) }},
		{name: "feed-mirror", usage: "keep the standard feeds the SDK pins in DATA/cache/feedmirror, fetched by the service and shared read-only into builds, instead of a clone in every build's cache", bind: func(fs *flag.FlagSet, n, u string) { fs.BoolVar(&c.FeedMirror, n, true, u) }},
		{name: "feed-url-rewrite", usage: "FROM=TO: fetch the mirrored feeds whose URL starts with FROM from TO instead (repeatable or comma-separated; applied before --github-feeds), e.g. https://git.openwrt.org/=https://git.example.org/openwrt/", bind: func(fs *flag.FlagSet, n, u string) {
			fs.Func(n, u, func(v string) error {
				for _, r := range strings.Split(v, ",") {
					if r = strings.TrimSpace(r); r != "" {
						if _, err := feedmirror.ParseRewrite(r); err != nil {
							return err
						}
						c.FeedRewrites = append(c.FeedRewrites, r)
					}
				}
				return nil
			})
		}},
		{name: "build-tmpfs", usage: "docker executor: mount a size-limited tmpfs on the SDK's build_dir (for the test stand-in; release SDK images need it off)", bind: func(fs *flag.FlagSet, n, u string) { fs.BoolVar(&c.BuildTmpfs, n, false, u) }},
		{name: "cache-volume-prefix", usage: "docker executor: name prefix of the SDK cache volumes (dl/, feeds); give each worker process on one Docker engine its own", bind: str(&c.CachePrefix, "openwrt-ppa-cache")},
		{name: "rootfs-size", usage: "docker executor: disk cap of a build container's writable layer, e.g. 20G (needs Docker's overlay2 on XFS with project quotas); the SDK work dir /builder is capped by --workspace-size: see --workspace", bind: str(&c.RootfsSize, "")},
		{name: "executor", usage: "where build jobs run: docker (the local Docker engine) or kube (a Kubernetes Job per build job)", bind: str(&c.Executor, ExecutorDocker)},
		{name: "kubeconfig", usage: "kube executor: kubeconfig file of the cluster (empty: in a pod its service account, else $KUBECONFIG or ~/.kube/config)", bind: str(&c.Kubeconfig, "")},
		{name: "kube-namespace", usage: "kube executor: namespace of the build Jobs (empty: the kubeconfig context's, or in a pod its own)", bind: str(&c.KubeNamespace, "")},
		{name: "kube-instance", usage: "kube executor: label value naming this installation on its build Jobs; the same for all its workers, different per installation sharing a namespace", bind: str(&c.KubeInstance, "openwrt-ppa")},
		{name: "kube-cpu-request", usage: "kube executor: CPU the scheduler reserves for a build pod, e.g. 500m (empty: its limit, 2 CPUs: builds never compete for what they were promised)", bind: str(&c.KubeCPURequest, "")},
		{name: "kube-cache-storage-class", usage: "kube executor: storage class of the claims that keep the SDK caches (dl/, feeds) per repository and trust scope (empty: no caches; every build downloads its sources afresh)", bind: str(&c.KubeCacheStorageClass, "")},
		{name: "kube-cache-size", usage: "kube executor: the size each cache claim asks for", bind: str(&c.KubeCacheSize, "10Gi")},
		{name: "kube-memory-request", usage: "kube executor: memory the scheduler reserves for a build pod, e.g. 1Gi (empty: its limit, 4Gi)", bind: str(&c.KubeMemoryRequest, "")},
		{name: "kubernetes", usage: "run the controller of the Repository and Build custom resources (docs/kubernetes.md), leader-elected among serve replicas; the cluster is --kubeconfig's, or in a pod its own", bind: func(fs *flag.FlagSet, n, u string) { fs.BoolVar(&c.Kubernetes, n, false, u) }},
		{name: "kubernetes-namespace", usage: "--kubernetes: namespace of the Repositories and Builds it serves (empty: the kubeconfig context's, or in a pod its own)", bind: str(&c.KubernetesNamespace, "")},
		{name: "workers", usage: "build jobs run at once by this process (0 = none: serve only)", bind: num(&c.Workers, 1)},
		{name: "job-timeout", usage: "wall-clock limit of one build job", bind: dur(&c.JobTimeout, 2*time.Hour)},
		{name: "queue-limit", usage: "queued jobs beyond which new non-forced jobs wait (0 = no limit)", bind: num(&c.QueueLimit, 100)},
		{name: "repo-quota-mb", usage: "megabytes a repository's feeds may use on disk (0 = no limit)", bind: func(fs *flag.FlagSet, n, u string) { fs.Int64Var(&c.RepoQuotaMB, n, 2048, u) }},
		{name: "keep-builds", usage: "build logs kept per branch", bind: num(&c.KeepBuilds, 20)},
		{name: "pr-feed-ttl", usage: "how long a closed pull request's feed stays", bind: dur(&c.PRFeedTTL, 7*24*time.Hour)},
		{name: "shutdown-grace", usage: "how long running jobs may finish on shutdown before they are handed back to the queue", bind: dur(&c.ShutdownGrace, 30*time.Second)},
		{name: "visibility-timeout", usage: "Redis mode: a job whose worker stopped heartbeating this long is taken by another", bind: dur(&c.VisibilityTime, 2*time.Minute)},
		{name: "github-app-id", usage: "GitHub App id", bind: func(fs *flag.FlagSet, n, u string) { fs.Int64Var(&c.GitHubAppID, n, 0, u) }},
		{name: "github-private-key-file", usage: "the GitHub App's private key (PEM file)", bind: str(&c.GitHubPrivateKeyFile, "")},
		{name: "github-webhook-secret", usage: "the GitHub App's webhook secret", secret: true, bind: sec(&c.GitHubWebhookSecret)},
		{name: "github-api-url", usage: "GitHub API base URL (GitHub Enterprise Server, tests)", bind: str(&c.GitHubAPIURL, "https://api.github.com/")},
		{name: "github-client-id", usage: "the GitHub App's OAuth client id (sign-in)", bind: str(&c.GitHubClientID, "")},
		{name: "github-client-secret", usage: "the GitHub App's OAuth client secret (sign-in)", secret: true, bind: sec(&c.GitHubClientSecret)},
		{name: "gitlab-url", usage: "GitLab base URL", bind: str(&c.GitLabURL, "https://gitlab.com/")},
		{name: "gitlab-token", usage: "GitLab access token (api scope) for commit statuses and notes", secret: true, bind: sec(&c.GitLabToken)},
		{name: "gitlab-webhook-secret", usage: "one secret token for every GitLab project's webhook (single-tenant installs; a shared service registers a secret per project or group with openwrt-ppa gitlab-secrets)", secret: true, bind: sec(&c.GitLabWebhookSecret)},
		{name: "gitlab-client-id", usage: "GitLab OAuth application id (sign-in)", bind: str(&c.GitLabClientID, "")},
		{name: "gitlab-client-secret", usage: "GitLab OAuth application secret (sign-in)", secret: true, bind: sec(&c.GitLabClientSecret)},
		{name: "repos-allow", usage: "who may add repositories by URL: users (signed-in users, within --repos-quota, and admins), admins, or off", bind: str(&c.ReposAllow, "users")},
		{name: "repos-allow-private", usage: "let repository URLs reach loopback, link-local and private addresses (tests; a git server on this network)", bind: func(fs *flag.FlagSet, n, u string) { fs.BoolVar(&c.ReposAllowPrivate, n, false, u) }},
		{name: "repos-poll-interval", usage: "how often each repository by URL is polled for new commits (its push webhook makes it look at once)", bind: dur(&c.ReposPollInterval, 5*time.Minute)},
		{name: "repos-quota", usage: "repositories by URL one signed-in user may add", bind: num(&c.ReposQuota, 5)},
		{name: "repos-build-minutes", usage: "build minutes per calendar month (UTC) for all the repositories by URL one signed-in user added; beyond them new commits wait for the next month (0: no bound; admins have none)", bind: num(&c.ReposBuildMinutes, 0)},
		{name: "repos-ca-file", usage: "PEM file of extra CA roots for https repository URLs (an install's own CA)", bind: str(&c.ReposCAFile, "")},
		{name: "session-secret", usage: "key that signs web sessions and CSRF tokens", secret: true, bind: sec(&c.SessionSecret)},
		{name: "admin-token", usage: "bearer token with every right on the API", secret: true, bind: sec(&c.AdminToken)},
		{name: "key-encryption-key", usage: "Redis mode: key that encrypts signing keys at rest (32 bytes, base64 or hex)", secret: true, bind: sec(&c.KeyEncryptionKey)},
	}
}

// EnvName is the environment variable of a flag: OPENWRT_PPA_ + upper snake case.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// BindFlags registers every setting on fs; usage lines name the environment variable too.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	for _, o := range c.options() {
		o.bind(fs, o.name, o.usageWithEnv())
	}
}

func (o option) usageWithEnv() string {
	u := o.usage + " (env " + EnvName(o.name)
	if o.secret {
		u += " or " + EnvName(o.name) + "_FILE"
	}
	return u + ")"
}

// Parse fills c from args, then from the environment for every flag args did not set, then checks
// the result. lookup is os.LookupEnv in production.
func (c *Config) Parse(fs *flag.FlagSet, args []string, lookup func(string) (string, bool)) error {
	c.BindFlags(fs)
	return c.parse(fs, args, lookup, nil)
}

// ParseOnly is Parse for a command that reads only the settings it names: only their flags are on
// fs (so --help lists them and no other is accepted) and only their environment variables are
// read; every other setting keeps its default.
func (c *Config) ParseOnly(fs *flag.FlagSet, args []string, lookup func(string) (string, bool), names ...string) error {
	only := map[string]bool{}
	for _, n := range names {
		only[n] = true
	}
	// The defaults come from binding every setting, on a flag set nobody parses.
	c.BindFlags(flag.NewFlagSet("defaults", flag.ContinueOnError))
	for _, o := range c.options() {
		if only[o.name] {
			o.bind(fs, o.name, o.usageWithEnv())
			delete(only, o.name)
		}
	}
	if len(only) > 0 { // a programming mistake: the names are the program's
		return fmt.Errorf("ParseOnly: no settings called %v", slices.Sorted(maps.Keys(only)))
	}
	return c.parse(fs, args, lookup, func(name string) bool { return fs.Lookup(name) != nil })
}

// StoreSettings are the settings of the commands that only open the store (keys, gitlab-secrets).
var StoreSettings = []string{"data", "redis", "key-encryption-key"}

// serveOnly are the settings of the parts only serve runs: the web side, webhook intake, the event
// loop and upkeep. A worker runs jobs, publishes and reports, and takes every other setting.
var serveOnly = map[string]bool{
	"listen": true, "catalogue-refresh": true, "queue-limit": true, "keep-builds": true, "pr-feed-ttl": true,
	"session-secret": true, "admin-token": true, "gitlab-webhook-secret": true,
	"github-client-id": true, "github-client-secret": true, "gitlab-client-id": true, "gitlab-client-secret": true,
	"kubernetes": true, "kubernetes-namespace": true,
}

// WorkerSettings are the settings `worker` reads: every one but those only serve uses.
func WorkerSettings() []string {
	var c Config
	var out []string
	for _, o := range c.options() {
		if !serveOnly[o.name] {
			out = append(out, o.name)
		}
	}
	return out
}

// parse parses fs, then reads the environment of the settings bound (bound nil: all).
func (c *Config) parse(fs *flag.FlagSet, args []string, lookup func(string) (string, bool), bound func(string) bool) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, o := range c.options() {
		if set[o.name] || bound != nil && !bound(o.name) {
			continue
		}
		env := EnvName(o.name)
		v, ok := lookup(env)
		if !ok && o.secret {
			if file, fok := lookup(env + "_FILE"); fok {
				b, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("reading %s_FILE: %w (point it at a readable file holding the secret)", env, err)
				}
				v, ok = strings.TrimRight(string(b), "\r\n"), true
			}
		}
		if !ok {
			continue
		}
		if err := fs.Set(o.name, v); err != nil {
			return fmt.Errorf("environment variable %s: %w", env, err)
		}
	}
	return c.validate()
}

func (c *Config) validate() error {
	var errs []error
	if c.Data == "" {
		errs = append(errs, errors.New("--data is empty: give the data directory"))
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--public-url %q is not an http(s) URL: give the address users reach this service at, e.g. https://ppa.example.org", c.PublicURL))
		}
	}
	for _, r := range c.FeedRewrites {
		if _, err := feedmirror.ParseRewrite(r); err != nil {
			errs = append(errs, fmt.Errorf("--feed-url-rewrite: %w", err))
		}
	}
	if c.Workers < 0 {
		errs = append(errs, errors.New("--workers is negative: give 0 or more"))
	}
	if c.ReposBuildMinutes < 0 {
		errs = append(errs, errors.New("--repos-build-minutes is negative: give 0 (no bound) or more"))
	}
	if (c.GitHubAppID != 0) != (c.GitHubPrivateKeyFile != "") {
		errs = append(errs, fmt.Errorf("the GitHub App needs both %s and %s", EnvName("github-app-id"), EnvName("github-private-key-file")))
	}
	if c.GitHubAppID != 0 && c.GitHubWebhookSecret == "" {
		errs = append(errs, fmt.Errorf("the GitHub App needs its webhook secret: set %s", EnvName("github-webhook-secret")))
	}
	if _, err := c.WorkspaceBytes(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateExecutor()...)
	if c.KubernetesNamespace != "" {
		if !c.Kubernetes {
			errs = append(errs, errors.New("--kubernetes-namespace is a setting of --kubernetes: add --kubernetes, or drop it"))
		} else if msgs := validation.IsDNS1123Label(c.KubernetesNamespace); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--kubernetes-namespace %q is not a namespace name (%s): give the namespace of the Repository and Build objects", c.KubernetesNamespace, strings.Join(msgs, "; ")))
		}
	}
	if c.Redis != "" && c.KeyEncryptionKey == "" {
		errs = append(errs, fmt.Errorf("Redis mode keeps signing keys in Redis and needs %s to encrypt them", EnvName("key-encryption-key")))
	}
	return errors.Join(errs...)
}

// The executors --executor names.
const (
	ExecutorDocker = "docker"
	ExecutorKube   = "kube"
)

// validateExecutor checks the executor's settings, and that no setting of the other one is given
// (it would be ignored, and with it what the operator meant: a --network none on Kubernetes
// would leave the builds' network open).
func (c *Config) validateExecutor() []error {
	var errs []error
	switch c.Executor {
	case ExecutorDocker:
		if k, err := docker.ParseWorkspace(c.Workspace); err != nil {
			errs = append(errs, fmt.Errorf("--%w", err))
		} else if c.WorkspaceTmpfs && k != docker.WorkspaceAuto && k != docker.WorkspaceTmpfs {
			errs = append(errs, fmt.Errorf("--workspace-tmpfs and --workspace %s contradict each other: drop one", k))
		}
		if c.Kubeconfig != "" && !c.Kubernetes {
			errs = append(errs, errors.New("--kubeconfig is a setting of the kube executor and of --kubernetes: add one of them, or drop it"))
		}
		if c.KubeNamespace != "" || c.KubeCPURequest != "" || c.KubeMemoryRequest != "" || c.KubeCacheStorageClass != "" {
			errs = append(errs, errors.New("--kube-namespace, --kube-cache-storage-class and --kube-*-request are settings of the kube executor: add --executor kube, or drop them"))
		}
	case ExecutorKube:
		if c.KubeNamespace != "" {
			if msgs := validation.IsDNS1123Label(c.KubeNamespace); len(msgs) > 0 {
				errs = append(errs, fmt.Errorf("--kube-namespace %q is not a namespace name (%s): give the namespace the build Jobs go to, e.g. openwrt-ppa-builds", c.KubeNamespace, strings.Join(msgs, "; ")))
			}
		}
		if msgs := validation.IsValidLabelValue(c.KubeInstance); c.KubeInstance == "" || len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--kube-instance %q is not a label value: give at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit (e.g. the Helm release's name)", c.KubeInstance))
		}
		for _, q := range []struct{ flag, v string }{{"kube-cpu-request", c.KubeCPURequest}, {"kube-memory-request", c.KubeMemoryRequest}} {
			if q.v == "" {
				continue
			}
			if n, err := resource.ParseQuantity(q.v); err != nil || n.Sign() <= 0 {
				errs = append(errs, fmt.Errorf("--%s %q is not a positive Kubernetes quantity: give one like 500m (CPU) or 1Gi (memory), or leave it empty for the limit", q.flag, q.v))
			}
		}
		if c.KubeCacheStorageClass != "" {
			if msgs := validation.IsDNS1123Subdomain(c.KubeCacheStorageClass); len(msgs) > 0 {
				errs = append(errs, fmt.Errorf("--kube-cache-storage-class %q is not a storage class name (%s): give one `kubectl get storageclass` lists, or leave it empty for no caches", c.KubeCacheStorageClass, strings.Join(msgs, "; ")))
			}
			if n, err := resource.ParseQuantity(c.KubeCacheSize); err != nil || n.Sign() <= 0 {
				errs = append(errs, fmt.Errorf("--kube-cache-size %q is not a positive Kubernetes quantity: give one like 20Gi", c.KubeCacheSize))
			}
		}
		if c.Network != "bridge" && c.Network != "" {
			errs = append(errs, fmt.Errorf("--network %q is a Docker network mode and means nothing to the kube executor: restrict build pods with a NetworkPolicy (the Helm chart has one), and drop --network", c.Network))
		}
		if c.Workspace != "" && c.Workspace != docker.WorkspaceAuto {
			errs = append(errs, fmt.Errorf("--workspace %s is the Docker executor's: on Kubernetes the workspace is an emptyDir of --workspace-size (in memory with --workspace-tmpfs); drop --workspace", c.Workspace))
		}
		if c.RootfsSize != "" {
			errs = append(errs, errors.New("--rootfs-size is the Docker executor's: on Kubernetes the build workspace is an emptyDir whose sizeLimit caps the disk; drop --rootfs-size"))
		}
	default:
		errs = append(errs, fmt.Errorf("--executor %q: use docker (builds on the local Docker engine) or kube (builds as Kubernetes Jobs)", c.Executor))
	}
	return errs
}

// WorkspaceBytes is --workspace-size in bytes.
func (c *Config) WorkspaceBytes() (int64, error) {
	if c.WorkspaceSize == "" {
		return 0, nil // builder.DefaultLimits
	}
	q, err := resource.ParseQuantity(c.WorkspaceSize)
	if err != nil || q.Value() < 64<<20 {
		return 0, fmt.Errorf("--workspace-size %q: give a size of 64Mi or more, e.g. 8Gi or 20G", c.WorkspaceSize)
	}
	return q.Value(), nil
}

// BaseURL is the public URL without a trailing slash, falling back to the listen address.
func (c *Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return "http://" + c.Listen
}
