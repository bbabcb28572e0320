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
//
// A follow stream can also end early for good: the kubelet stops following when it reaches the
// end of a log file that it rotated (containerLogMaxSize) after the container exited, so a slow
// reader of a flood loses everything the node wrote to the newer file — the driver's closing
// line among it. So once the build ended without that line, catchUp reads the rest.
func (r *run) followLogs(ctx context.Context, done chan struct{}) {
	defer close(done)
	defer r.lines.Flush()
	var last time.Time
	defer func() { r.catchUp(last) }()
	for attempt := 0; ; attempt++ {
		opts := &corev1.PodLogOptions{Container: ctrBuild, Follow: true, Timestamps: true}
		if !last.IsZero() {
			opts.SinceTime = &metav1.Time{Time: last.Truncate(time.Second)}
		}
		stream, err := r.openLog(ctx, opts)
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

// catchUp reads, without following, what the node still holds of the build container's log
// after the line stamped last, when the followed copy lacks the driver's closing line (it
// broke off, or supervise stopped a slow one). A log already over its cap needs only its
// tail; one under it gets everything after last, which the cap then bounds. It runs on a
// context of its own: the follow context may be what stopped the stream.
func (r *run) catchUp(last time.Time) {
	r.lines.Flush() // a line cut off mid-way must not run into the next one
	if r.last == driverDone {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), logCatchUp)
	defer cancel()
	p, err := r.e.cs.CoreV1().Pods(r.e.opts.Namespace).Get(ctx, r.pod, metav1.GetOptions{})
	if err != nil {
		return // deleted (nothing left to read) or the API is away
	}
	if _, _, ended := buildEnded(p, r.started); !ended {
		return // stopped while the build runs: the run is being torn down
	}
	opts := &corev1.PodLogOptions{Container: ctrBuild, Timestamps: true}
	if !last.IsZero() {
		opts.SinceTime = &metav1.Time{Time: last.Truncate(time.Second)}
	}
	if r.capped.Truncated() {
		tail := int64(logTailLines - 1) // the note takes one line of the tail
		opts.TailLines = &tail
	}
	stream, err := r.openLog(ctx, opts)
	if err != nil {
		r.e.opts.Logger.Warn("could not read the rest of a build log", "job", r.job, "err", err)
		return
	}
	defer stream.Close()
	// Only a catch-up that brings lines says so: a build killed before the driver's end has none.
	copyLines(stream, &noteFirst{w: r.lines, note: catchUpNote}, last)
	r.lines.Flush()
}

// catchUpNote goes before the lines catchUp read again.
const catchUpNote = "[openwrt-ppa: the log stream broke off; the rest is read again from the node, which may have rotated away lines in between]\n"

// noteFirst writes note before the first bytes written to it.
type noteFirst struct {
	w    io.Writer
	note string
}

func (n *noteFirst) Write(p []byte) (int, error) {
	if n.note != "" && len(p) > 0 {
		_, _ = io.WriteString(n.w, n.note)
		n.note = ""
	}
	return n.w.Write(p)
}

// openLog opens the build container's log; tests replace Executor.podLogs.
func (r *run) openLog(ctx context.Context, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	if r.e.podLogs != nil {
		return r.e.podLogs(ctx, r.pod, opts)
	}
	return r.e.cs.CoreV1().Pods(r.e.opts.Namespace).GetLogs(r.pod, opts).Stream(ctx)
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
