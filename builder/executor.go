package builder

import (
	"context"
	_ "embed"
	"errors"
	"time"
)

// Executor runs build jobs in sandboxes. The Docker executor (builder/docker) runs one container
// per job; a Kubernetes executor runs one Job/Pod per job. Implementations are safe for
// concurrent use.
//
// Start makes and starts the sandbox and returns at once; the build log flows to spec.Log while it
// runs. Errors from Start mean the build never ran (no image, engine down) and are worth a retry;
// build failures are never errors, they are reported by Wait and Collect.
type Executor interface {
	Start(ctx context.Context, spec JobSpec) (Run, error)
}

// Run is one started build.
//
// Wait blocks until the build ends, the wall-clock limit (spec.Limits.Timeout, counted from
// Start) kills it, Cancel kills it, or ctx ends (ctx ending does not kill the build: call
// Cancel). When Wait returns with a finished Exit, every log line has been delivered.
// Collect copies the outputs into dir (after Wait); it never follows symlinks and caps sizes.
// Close removes what the run made (container, temporary volumes; never the cache volumes) and
// must be called once, whatever happened; it is safe after Cancel.
type Run interface {
	ID() string
	Wait(ctx context.Context) (Exit, error)
	Collect(ctx context.Context, dir string) (Collected, error)
	Cancel(ctx context.Context) error
	Close(ctx context.Context) error
}

// JobSpec is what an executor needs to run a job.
type JobSpec struct {
	Job       Job
	SourceDir string // host folder of the checkout; mounted read-only as the feed source
	FeedName  string // the feed name the repository's packages get in feeds.conf; DefaultFeedName if empty
	Limits    Limits
	Log       LogSink // receives the build log line by line; may be nil
	// CacheScope separates the SDK caches (dl/, feeds checkouts) of builds that must not share
	// them: builds run untrusted code that can poison a cache for the next build, so the service
	// gives each repository, and within it pull requests apart from branches and tags, a scope of
	// its own. Lower-case letters and digits, at most 32; empty shares one cache (the CLI).
	CacheScope string
	// BuildID and JobID name the service's build and job ("" outside the service). Executors
	// label what they make with them; the Kubernetes executor adopts the Job that a worker which
	// died left running for the same JobID instead of starting the build again.
	BuildID, JobID string
}

// DefaultFeedName is the feeds.conf name of the repository's own feed inside the SDK.
const DefaultFeedName = "openwrt_ppa"

// Limits bound what a build can use. Zero fields take the values of DefaultLimits.
type Limits struct {
	Timeout       time.Duration // wall clock from start to kill
	MemoryBytes   int64         // memory, without swap
	NanoCPUs      int64         // CPU quota (1e9 = one CPU)
	Pids          int64         // processes and threads
	WorkspaceSize int64         // size-limited workspace (tmpfs /tmp, and build_dir where used)
	LogBytes      int64         // log forwarded to the sink; beyond it only the tail is kept
	OutputBytes   int64         // all collected files together
	FileBytes     int64         // one collected package file
}

// DefaultLimits are the limits of a job that sets none.
func DefaultLimits() Limits {
	return Limits{
		Timeout:       60 * time.Minute,
		MemoryBytes:   4 << 30,
		NanoCPUs:      2e9,
		Pids:          2048,
		WorkspaceSize: 8 << 30,
		LogBytes:      32 << 20,
		OutputBytes:   512 << 20,
		FileBytes:     128 << 20,
	}
}

// WithDefaults fills zero fields with DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int64, def int64) {
		if *v <= 0 {
			*v = def
		}
	}
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	set(&l.MemoryBytes, d.MemoryBytes)
	set(&l.NanoCPUs, d.NanoCPUs)
	set(&l.Pids, d.Pids)
	set(&l.WorkspaceSize, d.WorkspaceSize)
	set(&l.LogBytes, d.LogBytes)
	set(&l.OutputBytes, d.OutputBytes)
	set(&l.FileBytes, d.FileBytes)
	return l
}

// Exit is how a build ended.
type Exit struct {
	Code      int
	TimedOut  bool // killed at the wall-clock limit
	Canceled  bool // killed by Cancel
	OOMKilled bool
	Duration  time.Duration
}

// Collected is what Collect copied out, as paths below the dir given to Collect.
type Collected struct {
	Packages []string          // package files (packages/<name>.ipk)
	Logs     map[string]string // "<unit>/<step>" → log file (logs/<unit>/<step>.txt)
	Results  string            // the driver's results file ("" when the build wrote none)
	Refused  []string          // entries not copied, and why (symlinks, sizes, odd names)
}

// ErrExecutor wraps failures of the executor itself (engine unreachable, image missing), as
// opposed to failures of the build.
var ErrExecutor = errors.New("executor failure")

//go:embed driver.sh
var driverScript string

// DriverScript is the shell program executors run inside the SDK container: the gh-action-sdk
// sequence with per-package results. See driver.sh for its inputs.
func DriverScript() string { return driverScript }
