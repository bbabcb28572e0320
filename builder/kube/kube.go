// Package kube is the builder.Executor that runs each job as a Kubernetes Job in one namespace,
// through client-go: the SDK image as user 1000 with no capabilities, no privilege escalation,
// the runtime's seccomp profile, no service-account token and no service variables; CPU and
// memory limits; the workspace an emptyDir with a sizeLimit; a deadline and no retries. The
// repository goes into the pod and the outputs come out through the API (exec with tar, as
// kubectl cp does), so the pod holds no credential at all.
//
// A build pod has four containers on the same volumes:
//   - init "nonet" writes nonet (nonet.go) into a small volume the build sees read-only;
//   - init "workspace" copies the image's work dir (the SDK) into the workspace emptyDir;
//   - "io" sleeps, holding the source volume writable: the executor streams the repository in
//     through it before the build starts, and the outputs out of it after the build ended;
//   - "build" waits for the sources, then runs the driver (builder.DriverScript) in two
//     phases: download with the pod's network, then check and compile with none, under the
//     seccomp filter of nonet, which refuses every socket but Unix and netlink ones (a pod
//     cannot leave its network namespace, and a NetworkPolicy holds only where the CNI
//     enforces it). Its exit status is the build's. It sees the sources read-only and writes
//     only its emptyDirs.
//
// Sources and outputs pass the API server, so the worker needs pods/exec in the namespace;
// the build pod needs nothing.
package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/feedmirror"
)

var _ builder.Executor = (*Executor)(nil)

// Labels and annotations on the Jobs and pods the executor makes.
const (
	LabelManaged    = "app.kubernetes.io/managed-by" // = ManagedBy, on everything the executor makes
	LabelComponent  = "app.kubernetes.io/component"  // = "build": what a NetworkPolicy for build pods selects
	LabelRepository = "openwrt-ppa.repository"       // the repository, made a label value (full name in the annotation)
	LabelBuild      = "openwrt-ppa.build"            // JobSpec.BuildID
	LabelJob        = "openwrt-ppa.job"              // JobSpec.JobID: what adoption looks for
	LabelJobKey     = "openwrt-ppa.job-key"          // the first 32 hex digits of the job's key
	LabelSeries     = "openwrt-ppa.series"
	LabelArch       = "openwrt-ppa.arch"
	// LabelInstance names the installation (the service passes it in Options.Labels): what a
	// NetworkPolicy of one installation's build pods selects.
	LabelInstance = "openwrt-ppa.instance"

	ManagedBy = "openwrt-ppa"

	annRepository = "openwrt-ppa.repository"
	annJobKey     = "openwrt-ppa.job-key"
	annWorkdir    = "openwrt-ppa.workdir"
	annTimeout    = "openwrt-ppa.timeout"
	// annSources is set once the repository is in the pod: only such a Job can be adopted.
	annSources = "openwrt-ppa.sources"
)

// Workspace media (Options.WorkspaceMedium).
const (
	// MediumDisk puts the workspace on the node's disk; the kubelet evicts a pod whose
	// workspace outgrows its sizeLimit, which it notices within its housekeeping interval
	// (about 10 s), so a fast writer can overshoot by what it writes in that time.
	MediumDisk = ""
	// MediumMemory makes the workspace a tmpfs of the sizeLimit: a hard cap (the build gets
	// "No space left on device"), counted against the pod's memory.
	MediumMemory = "Memory"
)

// Options configure the executor.
type Options struct {
	// Namespace holds the build Jobs (default "default"). The worker needs, there: jobs create,
	// get, list, patch, delete; pods get, list; pods/log get; pods/exec create and get.
	Namespace string
	// WorkDir is the SDK images' work dir, which the workspace replaces (default "/builder", as
	// the SDK container contract says; Kubernetes cannot read an image's WORKDIR).
	WorkDir string
	// WorkspaceMedium is MediumDisk (default) or MediumMemory.
	WorkspaceMedium string
	// SourceBytes caps the repository tree streamed in (default builder.DefaultMaxCheckoutBytes);
	// the source volume's sizeLimit is that plus a margin.
	SourceBytes int64
	// CPURequest and MemoryRequest are what the scheduler reserves for a build (default: the
	// limits, so builds never compete for what they were promised).
	CPURequest, MemoryRequest *resource.Quantity
	// StartTimeout bounds scheduling, the image, copying the SDK and streaming the sources in
	// (default 10 min); a pod not running by then is an executor error.
	StartTimeout time.Duration
	// CollectGrace is how long the pod lives past the build's time limit for its outputs to be
	// copied out (default 10 min): activeDeadlineSeconds is StartTimeout+Timeout+CollectGrace.
	CollectGrace time.Duration
	// TTLAfterFinished lets the Job controller remove a Job nobody deleted (its worker died and
	// nobody adopted it) this long after its deadline ended it (default 10 min).
	TTLAfterFinished time.Duration
	// ImagePullPolicy is the pods' pull policy (default IfNotPresent; pods of a moving tag,
	// builder.Job.MovingImage, get Always instead of IfNotPresent).
	ImagePullPolicy string
	// ServiceAccount runs the pods (default: the namespace's "default"); its token is never mounted.
	ServiceAccount string
	// NodeSelector and PriorityClass place the build pods.
	NodeSelector  map[string]string
	PriorityClass string
	// CacheStorageClass, when set, keeps the SDK caches (dl/ and feeds/) of each cache scope,
	// series and arch on a PersistentVolumeClaim of this storage class, made on first use and
	// kept (see cache.go); one build at a time uses a claim. Empty: no caches, every build
	// downloads its sources and clones its feeds afresh.
	CacheStorageClass string
	// CacheSize is each cache claim's storage request (default DefaultCacheSize). Whether it
	// caps anything is the storage's business (hostPath and local volumes do not).
	CacheSize *resource.Quantity
	// FeedMirror, when set, keeps the standard feeds the SDK's feeds.conf.default pins; the
	// executor streams the trees into each build pod, whose driver links them (src-link)
	// instead of cloning (see feedmirror.go). FeedMirrorBytes bounds them per pod (default
	// DefaultFeedMirrorBytes).
	FeedMirror      *feedmirror.Mirror
	FeedMirrorBytes int64
	// GitHubFeeds fetches the standard feeds from github.com/openwrt, as gh-action-sdk does.
	GitHubFeeds bool
	// Labels are added to every Job and pod (an installation's name; tests mark theirs), and
	// adoption and RemoveJobs only consider Jobs that carry all of them: so they must be the same
	// for every worker that may take over another's job — no per-process values here.
	Labels map[string]string
	Logger *slog.Logger
}

// Executor runs jobs as Kubernetes Jobs. It is safe for concurrent use.
type Executor struct {
	cfg  *rest.Config
	cs   kubernetes.Interface
	opts Options
	// podLogs, when set, opens a pod's log in place of the API (tests: the fake clientset
	// serves no real logs).
	podLogs func(ctx context.Context, pod string, opts *corev1.PodLogOptions) (io.ReadCloser, error)
}

// New returns an executor talking to the cluster of cfg (see Config).
func New(cfg *rest.Config, opts Options) (*Executor, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: a Kubernetes client: %w", builder.ErrExecutor, err)
	}
	return newExecutor(cfg, cs, opts)
}

func newExecutor(cfg *rest.Config, cs kubernetes.Interface, opts Options) (*Executor, error) {
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.WorkDir == "" {
		opts.WorkDir = "/builder"
	}
	if opts.SourceBytes <= 0 {
		opts.SourceBytes = builder.DefaultMaxCheckoutBytes
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Minute
	}
	if opts.CollectGrace <= 0 {
		opts.CollectGrace = 10 * time.Minute
	}
	if opts.TTLAfterFinished <= 0 {
		opts.TTLAfterFinished = 10 * time.Minute
	}
	if opts.ImagePullPolicy == "" {
		opts.ImagePullPolicy = "IfNotPresent"
	}
	if opts.FeedMirrorBytes <= 0 {
		opts.FeedMirrorBytes = DefaultFeedMirrorBytes
	}
	if opts.CacheSize == nil {
		opts.CacheSize = resource.NewQuantity(DefaultCacheSize, resource.BinarySI)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case !dnsLabelRe.MatchString(opts.Namespace):
		return nil, fmt.Errorf("namespace %q is not a Kubernetes namespace name", opts.Namespace)
	case !absPathRe.MatchString(opts.WorkDir):
		return nil, fmt.Errorf("work dir %q: give an absolute path of plain names", opts.WorkDir)
	case opts.WorkspaceMedium != MediumDisk && opts.WorkspaceMedium != MediumMemory:
		return nil, fmt.Errorf("workspace medium %q: use %q (disk) or %q", opts.WorkspaceMedium, MediumDisk, MediumMemory)
	case opts.CacheStorageClass != "" && len(validation.IsDNS1123Subdomain(opts.CacheStorageClass)) > 0:
		return nil, fmt.Errorf("cache storage class %q is not a storage class name: give one that `kubectl get storageclass` lists", opts.CacheStorageClass)
	case opts.CacheSize.Sign() <= 0:
		return nil, fmt.Errorf("cache size %s: give a positive quantity such as 20Gi", opts.CacheSize)
	case opts.ImagePullPolicy != "IfNotPresent" && opts.ImagePullPolicy != "Always" && opts.ImagePullPolicy != "Never":
		return nil, fmt.Errorf("image pull policy %q: use IfNotPresent, Always or Never", opts.ImagePullPolicy)
	}
	for k, v := range opts.Labels {
		if !validLabelKey(k) || !validLabelValue(v) {
			return nil, fmt.Errorf("label %s=%s is not a valid Kubernetes label", k, v)
		}
	}
	return &Executor{cfg: cfg, cs: cs, opts: opts}, nil
}

// Config returns the client configuration: the kubeconfig file at path, or, when path is
// empty, the pod's own service account (in-cluster: KUBERNETES_SERVICE_HOST and the mounted
// token), else $KUBECONFIG or ~/.kube/config.
func Config(path string) (*rest.Config, error) {
	if path == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		} else if !errors.Is(err, rest.ErrNotInCluster) {
			return nil, fmt.Errorf("the in-cluster Kubernetes configuration: %w", err)
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no Kubernetes configuration (give a kubeconfig, or run in a pod with a service account): %w", err)
	}
	return cfg, nil
}

// Namespace is the namespace a client of Config(path) works in unless told another: the
// kubeconfig context's, or in a pod (path empty) the pod's own; else "default".
func Namespace(path string) (string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	} else if _, err := rest.InClusterConfig(); err == nil {
		// As Config: in a pod, the pod's own account, whatever kubeconfig files lie around.
		rules = &clientcmd.ClientConfigLoadingRules{}
	}
	ns, _, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).Namespace()
	if err != nil {
		return "", fmt.Errorf("the namespace of the Kubernetes configuration: %w (give one)", err)
	}
	return ns, nil
}

var (
	dnsLabelRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	absPathRe  = regexp.MustCompile(`^(/[A-Za-z0-9._-]+)+$`)
	jobIDRe    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`)
)

// Start makes the job's Job, waits for its pod, streams the repository in and starts the build;
// or, when a Job of a dead worker runs for the same JobID, adopts it.
func (e *Executor) Start(ctx context.Context, spec builder.JobSpec) (builder.Run, error) {
	if spec.FeedName == "" {
		spec.FeedName = builder.DefaultFeedName
	}
	if err := builder.ValidateSpec(spec); err != nil {
		return nil, err
	}
	for _, id := range []string{spec.BuildID, spec.JobID} {
		if id != "" && !jobIDRe.MatchString(id) {
			return nil, fmt.Errorf("build or job id %q: use at most 63 letters, digits, '.', '_' and '-'", id)
		}
	}
	if spec.Job.Image == "" {
		return nil, errors.New("the job names no SDK image")
	}
	limits := spec.Limits.WithDefaults()
	src, err := filepath.Abs(spec.SourceDir)
	if err != nil {
		return nil, fmt.Errorf("source folder: %w", err)
	}
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("source folder %s is not a folder: %v", src, err)
	}
	if spec.JobID != "" {
		if r, err := e.adopt(ctx, spec, limits); err != nil || r != nil {
			return r, err
		}
	}
	job := e.jobFor(spec, limits, "owppa-"+nameSafe(spec.Job.Series)+"-"+nameSafe(spec.Job.Arch)+"-"+randomHex(5))
	if claim := job.Annotations[annCacheClaim]; claim != "" {
		if err := e.lockCache(ctx, spec, job.Name); err != nil {
			return nil, err
		}
	}
	created, err := e.cs.BatchV1().Jobs(e.opts.Namespace).Create(ctx, job, createOpts)
	if err != nil {
		if claim := job.Annotations[annCacheClaim]; claim != "" {
			e.unlockCache(context.WithoutCancel(ctx), claim, job.Name)
		}
		return nil, fmt.Errorf("%w: creating the build Job in namespace %s: %w", builder.ErrExecutor, e.opts.Namespace, err)
	}
	r := newRun(e, spec, limits, created)
	fail := func(err error) (builder.Run, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_ = r.Close(cctx)
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, e.opts.StartTimeout)
	defer cancel()
	if err := r.waitForPod(sctx); err != nil {
		return fail(err)
	}
	if err := r.sendFeedMirror(sctx); err != nil {
		return fail(err)
	}
	if err := r.sendSources(sctx, src); err != nil {
		return fail(err)
	}
	r.begin(time.Now())
	e.opts.Logger.Info("build started", "job", spec.Job.Name(), "kube_job", created.Name, "pod", r.pod, "namespace", e.opts.Namespace, "image", spec.Job.Image)
	return r, nil
}

// createOpts names the executor as the field manager of what it makes.
var createOpts = metav1CreateOptions()

// nameSafe makes s a piece of a DNS label: lower case, [a-z0-9-], at most 20 characters.
func nameSafe(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	out := strings.Trim(string(b), "-")
	if len(out) > 20 {
		out = strings.Trim(out[:20], "-")
	}
	if out == "" {
		out = "x"
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
