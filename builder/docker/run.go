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

type run struct {
	e       *Executor
	spec    builder.JobSpec
	limits  builder.Limits
	id      string
	workdir string
	release func()

	started  time.Time
	deadline *time.Timer
	killOnce sync.Once

	mu       sync.Mutex
	timedOut bool
	killedAt time.Time // when the deadline killed it
	canceled bool

	waitDone chan struct{} // closed when the container has exited (or waiting failed)
	waitErr  error
	logsDone chan struct{}
	capped   *builder.CappedLog
	rec      *recorder
	lines    *builder.LineWriter

	completeOnce sync.Once
	closeOnce    sync.Once
	closeErr     error
}

var _ builder.Run = (*run)(nil)

func newRun(e *Executor, spec builder.JobSpec, l builder.Limits, id, workdir string, release func()) *run {
	capped := builder.NewCappedLog(spec.Log, l.LogBytes, logTailLines)
	rec := &recorder{next: capped, n: logTailLines}
	return &run{
		e: e, spec: spec, limits: l, id: id, workdir: workdir, release: release,
		waitDone: make(chan struct{}), logsDone: make(chan struct{}),
		capped: capped, rec: rec, lines: builder.NewLineWriter(rec),
	}
}

func (r *run) ID() string { return r.id }

func (r *run) start(ctx context.Context) error {
	if _, err := r.e.cli.ContainerStart(ctx, r.id, client.ContainerStartOptions{}); err != nil {
		close(r.logsDone)
		close(r.waitDone)
		return fmt.Errorf("%w: starting the build container: %w", builder.ErrExecutor, err)
	}
	r.started = time.Now()
	// The wall clock runs from here; the kill happens even if nobody is in Wait.
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
	bg := context.WithoutCancel(ctx)
	go r.followLogs(bg)
	go r.waitExit(bg)
	return nil
}

func (r *run) followLogs(ctx context.Context) {
	defer close(r.logsDone)
	logs, err := r.e.cli.ContainerLogs(ctx, r.id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		r.lines.Write([]byte("[openwrt-ppa: cannot read the build log: " + err.Error() + "]\n"))
		return
	}
	defer logs.Close()
	go func() {
		// A stalled stream must not hold the run after the container ended.
		select {
		case <-r.waitDone:
			select {
			case <-r.logsDone:
			case <-time.After(logGrace):
				logs.Close()
			}
		case <-r.logsDone:
		}
	}()
	_, _ = stdcopy.StdCopy(r.lines, r.lines, logs)
	r.lines.Flush()
}

func (r *run) waitExit(ctx context.Context) {
	defer close(r.waitDone)
	w := r.e.cli.ContainerWait(ctx, r.id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-w.Result:
	case err := <-w.Error:
		r.waitErr = err
	}
}

func (r *run) kill() {
	r.killOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = r.e.cli.ContainerKill(ctx, r.id, client.ContainerKillOptions{Signal: "KILL"})
	})
}

// Wait waits for the container to end and the log to drain.
func (r *run) Wait(ctx context.Context) (builder.Exit, error) {
	select {
	case <-r.waitDone:
	case <-ctx.Done():
		return builder.Exit{}, ctx.Err()
	}
	select {
	case <-r.logsDone:
	case <-ctx.Done():
		return builder.Exit{}, ctx.Err()
	}
	r.completeOnce.Do(func() {
		r.completeLog(ctx)
		r.capped.Close()
	})
	if r.deadline != nil {
		r.deadline.Stop()
	}
	if r.waitErr != nil {
		return builder.Exit{}, fmt.Errorf("%w: waiting for the build container: %w", builder.ErrExecutor, r.waitErr)
	}
	ins, err := r.e.cli.ContainerInspect(ctx, r.id, client.ContainerInspectOptions{})
	if err != nil {
		return builder.Exit{}, fmt.Errorf("%w: inspecting the build container: %w", builder.ErrExecutor, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ex := builder.Exit{TimedOut: r.timedOut, Canceled: r.canceled && !r.timedOut}
	if st := ins.Container.State; st != nil {
		ex.Code, ex.OOMKilled = st.ExitCode, st.OOMKilled
		if fin, err := time.Parse(time.RFC3339Nano, st.FinishedAt); err == nil && fin.After(r.started) {
			ex.Duration = fin.Sub(r.started)
			if r.timedOut && fin.Before(r.killedAt) {
				ex.TimedOut = false // it had ended before the kill
			}
		}
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

// Close removes the container (and its anonymous volumes); the cache volumes stay.
func (r *run) Close(ctx context.Context) error {
	r.closeOnce.Do(func() {
		if r.deadline != nil {
			r.deadline.Stop()
		}
		_, err := r.e.cli.ContainerRemove(ctx, r.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !isNotFound(err) {
			r.closeErr = fmt.Errorf("%w: removing build container %s: %w", builder.ErrExecutor, r.id, err)
		}
		// Removing stops the log stream and the wait, so the goroutines end.
		select {
		case <-r.logsDone:
		case <-time.After(logGrace):
		}
		r.release()
	})
	return r.closeErr
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
