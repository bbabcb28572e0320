package builder

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cleanupTimeout bounds removing a build's container after the caller's context has ended.
const cleanupTimeout = 30 * time.Second

// Execute runs one job on ex from start to cleanup and returns its result. outDir receives the
// collected packages and logs. The error is only for failures of the executor itself (wrapping
// ErrExecutor) or of collecting; a failed build is a Result with Status JobFailed. Canceling ctx
// kills the build and returns a JobCanceled result.
func Execute(ctx context.Context, ex Executor, spec JobSpec, outDir string) (Result, error) {
	res := Result{Job: spec.Job, Started: time.Now()}
	tail := NewLogTail(50)
	spec.Log = MultiSink{spec.Log, tail}
	run, err := ex.Start(ctx, spec)
	if err != nil {
		return res, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_ = run.Close(cctx)
	}()

	exit, err := run.Wait(ctx)
	if ctx.Err() != nil && err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		_ = run.Cancel(cctx)
		exit, err = run.Wait(cctx)
		cancel()
		exit.Canceled = true
	}
	if err != nil {
		return res, fmt.Errorf("waiting for the build of %s: %w", spec.Job.Name(), err)
	}
	res.Exit = exit

	// Collect even after a failure or a timeout: the logs explain it.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	col, err := run.Collect(cctx, outDir)
	if err != nil {
		return res, fmt.Errorf("collecting the outputs of %s: %w", spec.Job.Name(), err)
	}
	res.Refused = col.Refused
	for _, f := range col.Packages {
		res.Files = append(res.Files, filepath.Join(outDir, f))
	}
	var results string
	if col.Results != "" {
		results = filepath.Join(outDir, col.Results)
	}
	states, jobFailed, err := readResults(results, spec.Job.Units)
	if err != nil {
		return res, err
	}
	res.Packages = packageResults(spec.Job, col, outDir, states, jobFailed, exit)
	res.LogTail = tail.Lines()
	for i := range res.Packages {
		// No per-step log (install, a job step, a kill): the end of the job's log explains it.
		if p := &res.Packages[i]; p.Status == PackageFailed && len(p.Log) == 0 {
			p.Log = lastLines(res.LogTail, 30)
		}
		explainFullDisk(&res.Packages[i], spec.Limits.WithDefaults().WorkspaceSize)
	}
	res.Finished = time.Now()
	res.Status, res.Message = summarize(res, jobFailed)
	return res, nil
}

func summarize(res Result, jobFailed string) (JobStatus, string) {
	var built, failed, skipped []string
	for _, p := range res.Packages {
		switch p.Status {
		case PackageBuilt:
			built = append(built, p.Name)
		case PackageFailed:
			failed = append(failed, p.Name)
		case PackageSkipped:
			skipped = append(skipped, p.Name)
		}
	}
	counts := fmt.Sprintf("%d built, %d failed, %d skipped", len(built), len(failed), len(skipped))
	switch {
	case res.Exit.TimedOut:
		return JobTimedOut, fmt.Sprintf("killed at the time limit after %s; %s", res.Exit.Duration.Round(time.Second), counts)
	case res.Exit.Canceled:
		return JobCanceled, "canceled; " + counts
	case jobFailed != "":
		return JobFailed, "the job step " + jobFailed + " failed; " + counts
	case res.Exit.OOMKilled:
		return JobFailed, "killed: out of memory; " + counts
	case len(failed) > 0:
		return JobFailed, counts + " (failed: " + strings.Join(failed, ", ") + ")"
	case res.Exit.Code != 0:
		return JobFailed, fmt.Sprintf("the build driver exited with status %d; %s", res.Exit.Code, counts)
	}
	return JobSucceeded, counts
}

func lastLines(l []string, n int) []string {
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return append([]string(nil), l...)
}

// IsExecutorError reports whether err is a failure of the executor rather than of the build.
func IsExecutorError(err error) bool { return errors.Is(err, ErrExecutor) }

// explainFullDisk names the cap when a package failed because the job's workspace filled up:
// "No space left on device" deep in a compile log does not say that the build is what is too
// big, nor what to change.
func explainFullDisk(p *PackageResult, capBytes int64) {
	if p.Status != PackageFailed || !slices.ContainsFunc(p.Log, func(l string) bool { return strings.Contains(l, "No space left on device") }) {
		return
	}
	p.Reason = fmt.Sprintf("%s failed: disk full: the job's workspace (the SDK's work dir) holds at most %s (its disk cap); "+
		"the build wrote more. Raise the cap (--workspace-size) or build fewer packages per job", cmp.Or(p.Step, "the build"), SizeText(capBytes))
}

// SizeText writes a byte count the way people set it: "8G", "24M", else in bytes.
func SizeText(n int64) string {
	for _, u := range []struct {
		s     string
		shift uint
	}{{"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.s
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
