package docker

import (
	"context"
	"fmt"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// logTailLines is how much of a flooded log survives the cap.
const logTailLines = 200

// logGrace is how long Wait waits for the log stream to drain after the container ended.
const logGrace = 10 * time.Second

// phase is one container of a job: "fetch" (with the job's network), "build" (none), or "all".
type phase struct {
	name string
	id   string
	done string // the driver's last line when the phase ran to its end
}

type run struct {
	e         *Executor
	spec      builder.JobSpec
	limits    builder.Limits
	phases    []phase
	workdir   string
	workspace string // the job's workspace volume, removed by Close
	holder    string // the container that keeps a tmpfs workspace mounted, if any
	disk      string // the disk workspace's file, if any
	release   func()

	started  time.Time
	deadline *time.Timer

	mu       sync.Mutex
	cur      int  // the phase running (or the last one that ran)
	killed   bool // no further phase starts
	timedOut bool
	killedAt time.Time // when the deadline killed it
	canceled bool
	exit     builder.Exit // of the last phase that ran, without the flags

	waitDone chan struct{} // closed when the last phase has ended and its log drained (or waiting failed)
	waitErr  error
	capped   *builder.CappedLog
	rec      *recorder
	lines    *builder.LineWriter

	completeOnce sync.Once
	closeOnce    sync.Once
	closeErr     error
}

var _ builder.Run = (*run)(nil)

func newRun(e *Executor, spec builder.JobSpec, l builder.Limits, phases []phase, workdir, workspace string, release func()) *run {
	capped := builder.NewCappedLog(spec.Log, l.LogBytes, logTailLines)
	rec := &recorder{next: capped, n: logTailLines}
	return &run{
		e: e, spec: spec, limits: l, phases: phases, workdir: workdir, workspace: workspace, release: release,
		waitDone: make(chan struct{}), capped: capped, rec: rec, lines: builder.NewLineWriter(rec),
	}
}

// ID is the container of the phase running (or the last that ran).
func (r *run) ID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.phases[r.cur].id
}

func (r *run) start(ctx context.Context) error {
	if _, err := r.e.cli.ContainerStart(ctx, r.phases[0].id, client.ContainerStartOptions{}); err != nil {
		close(r.waitDone)
		return fmt.Errorf("%w: starting the build container: %w", builder.ErrExecutor, sdkTooBig(err, r.limits))
	}
	r.started = time.Now()
	// The wall clock runs from here over every phase; the kill happens even if nobody is in Wait.
	r.deadline = time.AfterFunc(r.limits.Timeout, func() {
		select {
		case <-r.waitDone:
			return // it ended on its own just in time
		default:
		}
		r.mu.Lock()
		r.timedOut, r.killedAt = true, time.Now()
		r.mu.Unlock()
		r.kill()
	})
	go r.supervise(context.WithoutCancel(ctx))
	return nil
}

// supervise runs the phases one after the other on the same workspace; a phase that fails or is
// killed ends the job.
func (r *run) supervise(ctx context.Context) {
	defer close(r.waitDone)
	for i, p := range r.phases {
		if i > 0 {
			r.mu.Lock()
			if r.killed {
				r.mu.Unlock()
				return
			}
			_, err := r.e.cli.ContainerStart(ctx, p.id, client.ContainerStartOptions{})
			if err == nil {
				r.cur = i
			}
			r.mu.Unlock()
			if err != nil {
				r.waitErr = fmt.Errorf("starting the %s phase: %w", p.name, err)
				return
			}
		}
		logsDone := make(chan struct{})
		lctx, stopLogs := context.WithCancel(ctx)
		go r.followLogs(lctx, p.id, logsDone)
		w := r.e.cli.ContainerWait(ctx, p.id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		select {
		case <-w.Result:
		case err := <-w.Error:
			stopLogs()
			r.waitErr = err
			return
		}
		select { // a stalled stream must not hold the run after the container ended
		case <-logsDone:
		case <-time.After(logGrace):
		}
		stopLogs()
		<-logsDone
		r.completeLog(ctx, p.id, p.done)
		ins, err := r.e.cli.ContainerInspect(ctx, p.id, client.ContainerInspectOptions{})
		if err != nil {
			r.waitErr = fmt.Errorf("inspecting the build container: %w", err)
			return
		}
		ex := builder.Exit{}
		if st := ins.Container.State; st != nil {
			ex.Code, ex.OOMKilled = st.ExitCode, st.OOMKilled
			if fin, err := time.Parse(time.RFC3339Nano, st.FinishedAt); err == nil && fin.After(r.started) {
				ex.Duration = fin.Sub(r.started)
			}
		}
		r.mu.Lock()
		r.exit = ex
		r.mu.Unlock()
		if ex.Code != 0 || ex.OOMKilled {
			return
		}
	}
}

func (r *run) followLogs(ctx context.Context, id string, done chan struct{}) {
	defer close(done)
	logs, err := r.e.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		r.lines.Write([]byte("[openwrt-ppa: cannot read the build log: " + err.Error() + "]\n"))
		return
	}
	defer logs.Close()
	_, _ = stdcopy.StdCopy(r.lines, r.lines, logs)
	r.lines.Flush()
}

func (r *run) kill() {
	r.mu.Lock()
	r.killed = true
	id := r.phases[r.cur].id
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = r.e.cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "KILL"})
}

// Wait waits for the last phase to end and its log to drain.
func (r *run) Wait(ctx context.Context) (builder.Exit, error) {
	select {
	case <-r.waitDone:
	case <-ctx.Done():
		return builder.Exit{}, ctx.Err()
	}
	r.completeOnce.Do(func() { r.capped.Close() })
	if r.deadline != nil {
		r.deadline.Stop()
	}
	if r.waitErr != nil {
		return builder.Exit{}, fmt.Errorf("%w: waiting for the build container: %w", builder.ErrExecutor, r.waitErr)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ex := r.exit
	ex.TimedOut, ex.Canceled = r.timedOut, r.canceled && !r.timedOut
	if r.timedOut && ex.Duration > 0 && r.started.Add(ex.Duration).Before(r.killedAt) && r.cur == len(r.phases)-1 {
		ex.TimedOut = false // it had ended before the kill
	}
	if ex.Duration == 0 {
		ex.Duration = time.Since(r.started)
	}
	return ex, nil
}

// Cancel kills the build now.
func (r *run) Cancel(ctx context.Context) error {
	r.mu.Lock()
	r.canceled = true
	r.mu.Unlock()
	r.kill()
	return nil
}

// Close removes the phase containers (and their anonymous volumes) and the job's workspace; the
// cache volumes stay.
func (r *run) Close(ctx context.Context) error {
	r.closeOnce.Do(func() {
		if r.deadline != nil {
			r.deadline.Stop()
		}
		for _, id := range append(ids(r.phases), r.holder) {
			if id == "" {
				continue
			}
			_, err := r.e.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !isNotFound(err) && r.closeErr == nil {
				r.closeErr = fmt.Errorf("%w: removing build container %s: %w", builder.ErrExecutor, id, err)
			}
		}
		// Removing stops the log stream and the wait, so the supervisor ends.
		select {
		case <-r.waitDone:
		case <-time.After(logGrace):
		}
		if r.workspace != "" {
			if _, err := r.e.cli.VolumeRemove(ctx, r.workspace, client.VolumeRemoveOptions{Force: true}); err != nil && !isNotFound(err) && r.closeErr == nil {
				r.closeErr = fmt.Errorf("%w: removing the workspace volume %s: %w", builder.ErrExecutor, r.workspace, err)
			}
		}
		if r.disk != "" {
			if err := r.e.removeDisk(ctx, r.disk); err != nil && r.closeErr == nil {
				r.closeErr = fmt.Errorf("%w: removing the workspace disk: %w", builder.ErrExecutor, err)
			}
		}
		r.release()
	})
	return r.closeErr
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
