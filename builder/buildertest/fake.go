// Package buildertest holds a fake builder.Executor that runs no container: it plays out the
// outcome a test scripts (packages built, failed, skipped, a hang until the time limit) and
// writes real .ipk files, so code above the builder can be tested without Docker.
package buildertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

var _ builder.Executor = (*Executor)(nil)

// Outcome is what a fake build does.
type Outcome struct {
	Failed   map[string]string // package → failing step (download, check, compile)
	Skipped  []string          // packages not selected for the arch
	Version  string            // version of the packages made; default "1.0-r1"
	Log      []string          // extra build log lines
	Hang     bool              // run until canceled or the time limit
	StartErr error             // Start fails with this (an executor failure)
	JobFail  string            // a job step (setup, feeds-update, defconfig) fails
}

// Executor is the fake. Script decides each job's outcome (nil: every package builds).
type Executor struct {
	Script func(spec builder.JobSpec) Outcome
	// APK makes the .apk file of a package for a job of an apk series (builder cannot import
	// feeds' writer: tests above pass feeds/apktest.APK). Without it such a job makes no files.
	APK func(name, version, arch string, payload []byte) ([]byte, error)

	mu      sync.Mutex
	started []builder.JobSpec
	open    int
}

// Started lists the specs of every Start call, in order.
func (e *Executor) Started() []builder.JobSpec {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]builder.JobSpec(nil), e.started...)
}

// Open is the number of runs started and not yet closed (0 when everything was cleaned up).
func (e *Executor) Open() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.open
}

// Start plays out the scripted outcome.
func (e *Executor) Start(ctx context.Context, spec builder.JobSpec) (builder.Run, error) {
	var out Outcome
	if e.Script != nil {
		out = e.Script(spec)
	}
	e.mu.Lock()
	e.started = append(e.started, spec)
	e.mu.Unlock()
	if out.StartErr != nil {
		return nil, fmt.Errorf("%w: %w", builder.ErrExecutor, out.StartErr)
	}
	e.mu.Lock()
	e.open++
	e.mu.Unlock()
	r := &run{e: e, spec: spec, out: out, limits: spec.Limits.WithDefaults(), start: time.Now(), done: make(chan struct{}), cancel: make(chan struct{})}
	go r.play()
	return r, nil
}

type run struct {
	e      *Executor
	spec   builder.JobSpec
	out    Outcome
	limits builder.Limits
	start  time.Time

	once    sync.Once
	closed  sync.Once
	cancel  chan struct{}
	done    chan struct{}
	exit    builder.Exit
	results []string
}

func (r *run) ID() string { return "fake-" + r.spec.Job.Name() }

func (r *run) log(line string) {
	if r.spec.Log != nil {
		r.spec.Log.Line(line)
	}
}

func (r *run) play() {
	defer close(r.done)
	for _, l := range r.out.Log {
		r.log(l)
	}
	if r.out.JobFail != "" {
		r.results = append(r.results, "job failed "+r.out.JobFail)
		r.log("::openwrt-ppa:: job step " + r.out.JobFail + " failed")
		r.exit = builder.Exit{Code: 3, Duration: time.Since(r.start)}
		return
	}
	skipped := map[string]bool{}
	for _, p := range r.out.Skipped {
		skipped[p] = true
	}
	for _, u := range r.spec.Job.Units {
		allSkipped := true
		for _, p := range u.Packages {
			allSkipped = allSkipped && skipped[p]
		}
		if allSkipped {
			r.results = append(r.results, "unit "+u.Name+" skipped defconfig")
			continue
		}
		failed := ""
		for _, p := range u.Packages {
			if s := r.out.Failed[p]; s != "" {
				failed = s
			}
		}
		r.log("::openwrt-ppa:: package " + u.Name + " compile")
		if r.out.Hang {
			r.results = append(r.results, "unit "+u.Name+" start compile")
			select {
			case <-r.cancel:
				r.exit = builder.Exit{Code: 137, Canceled: true, Duration: time.Since(r.start)}
			case <-time.After(r.limits.Timeout):
				r.exit = builder.Exit{Code: 137, TimedOut: true, Duration: time.Since(r.start)}
			}
			return
		}
		if failed != "" {
			r.results = append(r.results, "unit "+u.Name+" failed "+failed)
			r.log("::openwrt-ppa:: package " + u.Name + " " + failed + " failed (2)")
			continue
		}
		r.results = append(r.results, "unit "+u.Name+" ok compile")
	}
	r.log("::openwrt-ppa:: done")
	r.exit = builder.Exit{Duration: time.Since(r.start)}
}

func (r *run) Wait(ctx context.Context) (builder.Exit, error) {
	select {
	case <-r.done:
		return r.exit, nil
	case <-ctx.Done():
		return builder.Exit{}, ctx.Err()
	}
}

func (r *run) Cancel(context.Context) error {
	r.once.Do(func() { close(r.cancel) })
	return nil
}

func (r *run) Close(context.Context) error {
	r.closed.Do(func() {
		_ = r.Cancel(context.Background())
		<-r.done
		r.e.mu.Lock()
		r.e.open--
		r.e.mu.Unlock()
	})
	return nil
}

// Collect writes real package files for the packages built, logs for the failed ones, and the
// driver's results file, as the Docker executor would.
func (r *run) Collect(_ context.Context, dir string) (builder.Collected, error) {
	col := builder.Collected{Logs: map[string]string{}}
	version := r.out.Version
	if version == "" {
		version = "1.0-r1"
	}
	skipped := map[string]bool{}
	for _, p := range r.out.Skipped {
		skipped[p] = true
	}
	states := map[string]string{}
	for _, l := range r.results {
		f := strings.Fields(l)
		if len(f) == 4 {
			states[f[1]] = f[2]
			if f[2] == "failed" {
				rel := filepath.Join("logs", f[1], f[3]+".txt")
				if err := writeFile(filepath.Join(dir, rel), []byte("fake "+f[3]+" of "+f[1]+"\nerror: scripted failure\n")); err != nil {
					return col, err
				}
				col.Logs[f[1]+"/"+f[3]] = filepath.ToSlash(rel)
			}
		}
	}
	for _, u := range r.spec.Job.Units {
		if states[u.Name] != "ok" {
			continue
		}
		for _, p := range u.Packages {
			if skipped[p] {
				continue
			}
			name := p + "_" + version + "_" + r.spec.Job.Arch + ".ipk"
			var data []byte
			var err error
			if r.spec.Job.Format == builder.FormatAPK {
				if r.e.APK == nil {
					continue
				}
				name = p + "-" + version + ".apk"
				data, err = r.e.APK(p, version, r.spec.Job.Arch, []byte("#!/bin/sh\necho "+p+"\n"))
			} else {
				data, err = IPK(Control{Package: p, Version: version, Arch: r.spec.Job.Arch, Description: "fake build of " + p},
					map[string]string{"usr/bin/" + p: "#!/bin/sh\necho " + p + "\n"})
			}
			if err != nil {
				return col, err
			}
			if err := writeFile(filepath.Join(dir, "packages", name), data); err != nil {
				return col, err
			}
			col.Packages = append(col.Packages, "packages/"+name)
		}
	}
	if err := writeFile(filepath.Join(dir, "logs", "results.txt"), []byte(strings.Join(r.results, "\n")+"\n")); err != nil {
		return col, err
	}
	col.Results = "logs/results.txt"
	return col, nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
