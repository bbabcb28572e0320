package kube

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// followLogs streams the build container's log into the run's line writer until the container
// ended. A stream that breaks first (an API server restart, a kubelet hiccup) is opened again
// from the last line's timestamp; lines at or before it are dropped, so none comes twice.
func (r *run) followLogs(ctx context.Context, done chan struct{}) {
	defer close(done)
	defer r.lines.Flush()
	var last time.Time
	for attempt := 0; ; attempt++ {
		opts := &corev1.PodLogOptions{Container: ctrBuild, Follow: true, Timestamps: true}
		if !last.IsZero() {
			opts.SinceTime = &metav1.Time{Time: last.Truncate(time.Second)}
		}
		stream, err := r.e.cs.CoreV1().Pods(r.e.opts.Namespace).GetLogs(r.pod, opts).Stream(ctx)
		if err == nil {
			last = copyLines(stream, r.lines, last)
			stream.Close()
		}
		if ctx.Err() != nil || r.buildTerminated(ctx) {
			return
		}
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(pollEvery):
			}
		}
	}
}

// copyLines writes the lines of a timestamped log stream after "after" to w (without their
// timestamps) and returns the timestamp of the last one.
func copyLines(r io.Reader, w io.Writer, after time.Time) time.Time {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			// A line longer than the buffer comes in pieces; only the first has a timestamp.
			ts, rest, ok := bytes.Cut(line, []byte{' '})
			t, perr := time.Parse(time.RFC3339Nano, string(ts))
			switch {
			case ok && perr == nil && !t.After(after) && !after.IsZero():
				// seen before the stream was opened again
			case ok && perr == nil:
				after = t
				_, _ = w.Write(rest)
			default:
				_, _ = w.Write(line)
			}
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				_, _ = w.Write(line)
			}
		}
		if err != nil {
			return after
		}
	}
}

// buildTerminated reports whether the build container ended (or its pod is gone).
func (r *run) buildTerminated(ctx context.Context) bool {
	p, err := r.e.cs.CoreV1().Pods(r.e.opts.Namespace).Get(ctx, r.pod, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true
	}
	if err != nil {
		return false // the API is away: follow again, supervise decides
	}
	_, _, done := buildEnded(p, r.started)
	return done
}
