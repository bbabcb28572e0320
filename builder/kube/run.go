package kube

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

const (
	// cleanupTimeout bounds deleting a Job after the caller's context ended.
	cleanupTimeout = 60 * time.Second
	// logTailLines is how much of a flooded log survives the cap.
	logTailLines = 200
	// logGrace is how long Wait waits for the log stream to drain after the build ended.
	logGrace = 10 * time.Second
	// logCatchUp bounds reading again what a broken-off log stream missed.
	logCatchUp = 30 * time.Second
	// pollEvery is how often a run looks at its pod.
	pollEvery = time.Second
	// driverDone is the driver's last line when it ran to its end.
	driverDone = "::openwrt-ppa:: done"
)

type run struct {
	e       *Executor
	spec    builder.JobSpec
	limits  builder.Limits
	job     string // the Job's name
	uid     string // the Job's UID: its pods carry it
	workdir string
	// cacheClaim is the job's cache claim, which it holds until Close ("" without caches).
	cacheClaim string
	pod        string // set by waitForPod (or adopt), then fixed

	started  time.Time
	deadline *time.Timer

	mu       sync.Mutex
	timedOut bool
	canceled bool
	exit     builder.Exit
	podGone  string // why the pod is no longer there to collect from ("" while it is)

	waitDone chan struct{} // closed when the build ended and its log drained, or waiting failed
	waitErr  error
	capped   *builder.CappedLog
	lines    *builder.LineWriter
	last     string // the last line streamed (only the log goroutine writes it)

	completeOnce sync.Once
	closeOnce    sync.Once
	closeErr     error
}

var _ builder.Run = (*run)(nil)

func newRun(e *Executor, spec builder.JobSpec, l builder.Limits, job *batchv1.Job) *run {
	capped := builder.NewCappedLog(spec.Log, l.LogBytes, logTailLines)
	r := &run{e: e, spec: spec, limits: l, job: job.Name, uid: string(job.UID), workdir: e.opts.WorkDir,
		waitDone: make(chan struct{}), capped: capped}
	r.cacheClaim = job.Annotations[annCacheClaim]
	if wd := job.Annotations[annWorkdir]; wd != "" {
		r.workdir = wd
	}
	r.lines = builder.NewLineWriter(builder.LogFunc(func(l string) { r.last = l; capped.Line(l) }))
	return r
}

// ID is the Job's name.
func (r *run) ID() string { return r.job }

func (r *run) podSelector() string { return "controller-uid=" + r.uid }

// waitForPod waits until the Job's pod runs its io container (the SDK copied into the
// workspace), failing early on what will not pass by itself: an image that cannot be pulled,
// a failed copy, a rejected pod.
func (r *run) waitForPod(ctx context.Context) error {
	pods := r.e.cs.CoreV1().Pods(r.e.opts.Namespace)
	jobs := r.e.cs.BatchV1().Jobs(r.e.opts.Namespace)
	var why string
	t := time.NewTicker(pollEvery / 2)
	defer t.Stop()
	for {
		list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: r.podSelector()})
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("%w: listing the pods of Job %s: %w", builder.ErrExecutor, r.job, err)
		}
		if list != nil && len(list.Items) > 0 {
			p := &list.Items[0]
			r.pod = p.Name
			ready, reason, fatal := podStarted(p)
			if ready {
				return nil
			}
			if fatal {
				return fmt.Errorf("%w: the build pod %s did not start: %s", builder.ErrExecutor, p.Name, reason)
			}
			why = reason
		} else if j, err := jobs.Get(ctx, r.job, metav1.GetOptions{}); err == nil {
			// No pod: the Job controller says why (quota, admission) in its conditions.
			why = "no pod yet"
			for _, c := range j.Status.Conditions {
				if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobFailed || c.Type == batchv1.JobFailureTarget) {
					return fmt.Errorf("%w: the build Job %s failed before its pod ran: %s: %s", builder.ErrExecutor, r.job, c.Reason, c.Message)
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: the build pod of Job %s was not running after %s (%s)", builder.ErrExecutor, r.job, r.e.opts.StartTimeout, why)
		case <-t.C:
		}
	}
}

// podStarted reports whether the pod's io container runs, or else what it waits for and
// whether that is hopeless.
func podStarted(p *corev1.Pod) (ready bool, why string, fatal bool) {
	if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
		return false, fmt.Sprintf("the pod ended (%s): %s %s", p.Status.Phase, p.Status.Reason, p.Status.Message), true
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			why = "not scheduled: " + c.Reason + ": " + c.Message
		}
	}
	for _, s := range p.Status.InitContainerStatuses {
		if t := s.State.Terminated; t != nil && t.ExitCode != 0 {
			if s.Name == ctrNonet {
				return false, fmt.Sprintf("writing nonet, which cuts the compile phase off the network, failed with status %d (%s; the log of init container %s says why)", t.ExitCode, t.Reason, ctrNonet), true
			}
			return false, fmt.Sprintf("copying the SDK into the workspace failed with status %d (%s; is the workspace size enough?)", t.ExitCode, t.Reason), true
		}
		if w := s.State.Waiting; w != nil {
			if hopeless(w.Reason) {
				return false, w.Reason + ": " + w.Message, true
			}
			why = "init: " + w.Reason
		}
	}
	for _, s := range p.Status.ContainerStatuses {
		if w := s.State.Waiting; w != nil {
			if hopeless(w.Reason) {
				return false, w.Reason + ": " + w.Message, true
			}
			why = s.Name + ": " + w.Reason
		}
		if s.Name == ctrIO {
			if s.State.Running != nil {
				return true, "", false
			}
			if s.State.Terminated != nil {
				return false, "the io container ended", true
			}
		}
	}
	if why == "" {
		why = string(p.Status.Phase)
	}
	return false, why, false
}

// hopeless are the waiting reasons that need a person (an image name, a missing image).
func hopeless(reason string) bool {
	switch reason {
	case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError":
		return true
	}
	return false
}

// begin starts the time limit (counted from started) and the supervisor.
func (r *run) begin(started time.Time) {
	r.started = started
	left := time.Until(started.Add(r.limits.Timeout))
	r.deadline = time.AfterFunc(max(left, 0), func() {
		select {
		case <-r.waitDone:
			return
		default:
		}
		r.mu.Lock()
		r.timedOut = true
		r.mu.Unlock()
		r.signal("USR1")
	})
	go r.supervise(context.Background())
}

// signal sends sig to PID 1 of the build container (buildWrapper), which then ends the build.
func (r *run) signal(sig string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr strings.Builder
	err := r.e.exec(ctx, r.pod, ctrBuild, []string{"/bin/sh", "-c", "kill -" + sig + " 1"}, nil, nil, &stderr)
	if err != nil && !isExitError(err) && !r.buildTerminated(ctx) {
		// The API cannot reach the pod: deleting the Job stops it, at the cost of its outputs.
		r.e.opts.Logger.Warn("could not signal the build; deleting its Job", "job", r.job, "err", err, "stderr", stderr.String())
		_ = r.e.deleteJob(ctx, r.job)
	}
}

// supervise follows the build container's log and state until it ended.
func (r *run) supervise(ctx context.Context) {
	defer close(r.waitDone)
	logsDone := make(chan struct{})
	lctx, stopLogs := context.WithCancel(ctx)
	// Whatever way the build ended, the log goroutine is done before Wait returns: no line
	// reaches the job's log after Wait (or Close) returned.
	defer func() { stopLogs(); <-logsDone }()
	go r.followLogs(lctx, logsDone)
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	streamEnd := (<-chan struct{})(logsDone)
	for {
		p, err := r.e.cs.CoreV1().Pods(r.e.opts.Namespace).Get(ctx, r.pod, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			r.mu.Lock()
			r.podGone = "the build pod was deleted"
			r.exit = builder.Exit{Code: 137}
			if !r.canceled {
				r.waitErr = fmt.Errorf("the build pod %s was deleted before the build ended (was its Job deleted, or its deadline reached?)", r.pod)
			}
			r.mu.Unlock()
			return
		case err == nil:
			if ex, gone, done := buildEnded(p, r.started); done {
				r.mu.Lock()
				r.exit, r.podGone = ex, gone
				r.mu.Unlock()
				select { // a stalled stream must not hold the run after the build ended
				case <-logsDone:
				case <-time.After(logGrace):
				}
				stopLogs()
				<-logsDone
				if gone != "" {
					r.lines.Write([]byte("[openwrt-ppa: " + gone + "]\n"))
				}
				return
			}
		}
		select {
		case <-t.C:
		case <-streamEnd:
			// The stream ended: the build probably did too; look at once, then at the pace.
			streamEnd = nil
		}
	}
}

// buildEnded reads the build container's end from the pod: its exit, and when the pod itself
// ended (evicted, deadline) why nothing can be copied out of it.
func buildEnded(p *corev1.Pod, started time.Time) (ex builder.Exit, gone string, done bool) {
	podOver := p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded || p.DeletionTimestamp != nil
	if podOver {
		gone = "the build pod ended"
		if p.Status.Reason != "" {
			gone += " (" + p.Status.Reason + ": " + p.Status.Message + ")"
		}
		gone += "; its outputs are lost"
	}
	for _, s := range p.Status.ContainerStatuses {
		if s.Name != ctrBuild {
			continue
		}
		if t := s.State.Terminated; t != nil {
			ex.Code = int(t.ExitCode)
			ex.OOMKilled = t.Reason == "OOMKilled"
			if fin := t.FinishedAt.Time; fin.After(started) {
				ex.Duration = fin.Sub(started)
			}
			return ex, gone, true
		}
	}
	if podOver && p.Status.Phase != corev1.PodPending {
		return builder.Exit{Code: 137}, gone, true
	}
	return ex, "", false
}

// Wait waits for the build to end and its log to drain.
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
		return builder.Exit{}, fmt.Errorf("%w: waiting for the build: %w", builder.ErrExecutor, r.waitErr)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ex := r.exit
	// The pod's own timer (a worker that died and an adopted run) ends with exitTimeLimit.
	ex.TimedOut = r.timedOut || ex.Code == exitTimeLimit && time.Since(r.started) >= r.limits.Timeout
	ex.Canceled = r.canceled && !ex.TimedOut
	if ex.Duration == 0 {
		ex.Duration = time.Since(r.started)
	}
	return ex, nil
}

// Cancel stops the build now; its logs stay to be collected, and Close deletes the Job.
func (r *run) Cancel(ctx context.Context) error {
	r.mu.Lock()
	r.canceled = true
	r.mu.Unlock()
	select {
	case <-r.waitDone:
		return nil
	default:
	}
	if r.pod == "" {
		return r.e.deleteJob(ctx, r.job)
	}
	r.signal("TERM")
	return nil
}

// Close deletes the Job and waits until its pod is gone.
func (r *run) Close(ctx context.Context) error {
	r.closeOnce.Do(func() {
		if r.deadline != nil {
			r.deadline.Stop()
		}
		r.closeErr = r.e.deleteJob(ctx, r.job)
		if r.closeErr != nil {
			r.e.opts.Logger.Warn("could not delete a build Job", "kube_job", r.job, "err", r.closeErr)
		}
		ended := r.started.IsZero() // never begun: no supervisor, and the driver never ran
		if !ended {
			select {
			case <-r.waitDone:
				ended = true
			case <-time.After(logGrace):
			}
		}
		if r.cacheClaim == "" {
			return
		}
		// A Job that is gone, or whose build container ended, no longer uses the claim. A
		// Job that could not be deleted would otherwise hold it until its TTL removes it.
		// The context may be what made the deletion fail: the unlock has one of its own.
		if r.closeErr == nil || ended {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			defer cancel()
			r.e.unlockCache(uctx, r.cacheClaim, r.job)
			return
		}
		r.e.opts.Logger.Warn("the build of a Job that could not be deleted may still run: its cache claim stays locked until the Job is gone",
			"kube_job", r.job, "claim", r.cacheClaim)
	})
	return r.closeErr
}

// deleteJob deletes a Job with foreground propagation and waits until it and its pods are gone,
// so no build pod outlives it.
func (e *Executor) deleteJob(ctx context.Context, name string) error {
	jobs := e.cs.BatchV1().Jobs(e.opts.Namespace)
	fg := metav1.DeletePropagationForeground
	err := jobs.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &fg})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: deleting build Job %s: %w", builder.ErrExecutor, name, err)
	}
	t := time.NewTicker(pollEvery / 2)
	defer t.Stop()
	for {
		_, err := jobs.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: build Job %s was still being deleted: %w", builder.ErrExecutor, name, ctx.Err())
		case <-t.C:
		}
	}
}
