package kube

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// Collect copies the package files and logs out of the ended build's workspace into dir: tar
// runs in the pod's io container (never the build's), and a builder.Collector checks every
// entry of its stream, as the Docker executor's archives are checked.
func (r *run) Collect(ctx context.Context, dir string) (builder.Collected, error) {
	spec := r.spec
	spec.Limits = r.limits
	c := builder.NewCollector(dir, spec)
	r.mu.Lock()
	gone := r.podGone
	r.mu.Unlock()
	if gone != "" {
		col := c.Collected()
		col.Refused = append(col.Refused, "no outputs: "+gone)
		return col, nil
	}
	// Names were validated by Start (ValidateSpec), so they are plain words in the command.
	wd := r.workdir
	var notes []string
	for _, out := range []struct {
		parent, base string
		fn           func(io.Reader) error
	}{
		{wd + "/bin/packages/" + r.spec.Job.Arch, r.spec.FeedName, c.Packages},
		// Nonshared packages (PKG_FLAGS:=nonshared) land in the target's folder.
		{wd + "/bin", "targets", c.TargetPackages},
		{wd, "logs", c.Logs},
	} {
		note, err := r.copyOut(ctx, out.parent, out.base, out.fn)
		if err != nil {
			return c.Collected(), err
		}
		if note != "" {
			notes = append(notes, note)
		}
	}
	col := c.Collected()
	col.Refused = append(col.Refused, notes...)
	return col, nil
}

// copyOut streams the tar archive of parent/base (entries "base/…") from the io container to
// fn; a missing path is no error. note reports tar's complaints (unreadable files the build
// left), which are the build's doing.
func (r *run) copyOut(ctx context.Context, parent, base string, fn func(io.Reader) error) (note string, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan error, 1)
	script := "cd '" + parent + "' 2>/dev/null || exit 0; [ -e '" + base + "' ] || [ -L '" + base + "' ] || exit 0; exec tar -c -f - '" + base + "'"
	go func() {
		err := r.e.exec(ctx, r.pod, ctrIO, []string{"/bin/sh", "-c", script}, nil, pw, &limitedWriter{w: &stderr, left: 4 << 10})
		done <- err // before the reader sees the end, so it finds the status there
		pw.CloseWithError(io.EOF)
	}()
	ferr := fn(pr)
	if ferr == nil {
		// tar's end-of-archive comes before its padding and its exit status.
		_, _ = io.CopyN(io.Discard, pr, 1<<20)
	}
	var eerr error
	select {
	case eerr = <-done:
	default:
		// The collector stopped early (a cap): end the command rather than read all it sends.
		cancel()
		_ = pr.CloseWithError(errStreamEnded)
		<-done
	}
	if ferr != nil {
		return "", ferr
	}
	switch {
	case eerr == nil:
		return "", nil
	case isExitError(eerr):
		return fmt.Sprintf("%s/%s: tar in the pod complained: %s", parent, base, strings.TrimSpace(stderr.String())), nil
	}
	return "", fmt.Errorf("%w: copying %s/%s out of the build pod %s: %w", builder.ErrExecutor, parent, base, r.pod, eerr)
}

// limitedWriter keeps the first left bytes written to it.
type limitedWriter struct {
	w    io.Writer
	left int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.left > 0 {
		n := min(len(p), l.left)
		_, _ = l.w.Write(p[:n])
		l.left -= n
	}
	return len(p), nil
}
