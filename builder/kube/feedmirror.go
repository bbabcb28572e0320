package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// feedMirrorDir is where a build pod holds the mirrored standard feeds (Options.FeedMirror):
// on the source volume, which the build sees read-only, one folder per feed. The driver links
// each feed there (src-link) instead of cloning it, so builds need no network for them.
const feedMirrorDir = inMount + "/feedmirror"

// DefaultFeedMirrorBytes bounds the mirrored feeds streamed into one pod when
// Options.FeedMirrorBytes is not set: room for the five standard feeds without history.
const DefaultFeedMirrorBytes = 2 << 30

// sendFeedMirror streams the mirror's trees of the standard feeds the pod's SDK pins into the
// pod, before the sources (whose marker starts the build). The pins are read in the pod, from
// the SDK copy the io container sees; an SDK without feeds.conf.default (a snapshot image,
// which fetches its SDK in the build) gets none, and its build clones its feeds itself.
//
// Streaming costs each build a copy through the API server, but it gives the pod the mirror
// with no network, no claim shared between trust scopes, and nothing of the worker's disk
// mounted into untrusted pods.
func (r *run) sendFeedMirror(ctx context.Context) error {
	m := r.e.opts.FeedMirror
	if m == nil {
		return nil
	}
	var conf, stderr strings.Builder
	err := r.e.exec(ctx, r.pod, ctrIO, []string{"/bin/sh", "-c", "if [ -f " + r.workdir + "/feeds.conf.default ]; then head -c 65536 " + r.workdir + "/feeds.conf.default; fi"}, nil, &conf, &stderr)
	if err != nil {
		return fmt.Errorf("%w: reading feeds.conf.default in the build pod %s: %w: %s", builder.ErrExecutor, r.pod, err, strings.TrimSpace(stderr.String()))
	}
	feeds, err := m.Ensure(ctx, r.spec.Job.Series, conf.String())
	if err != nil {
		return err
	}
	if len(feeds) == 0 {
		r.e.opts.Logger.Info("the SDK pins no standard feed at a commit: the build fetches its feeds itself", "image", r.spec.Job.Image)
		return nil
	}
	names := make([]string, 0, len(feeds))
	for n := range feeds {
		names = append(names, n)
	}
	sort.Strings(names)
	start := time.Now()
	noGit := func(rel string) bool { return rel == ".git" } // a src-link feed is its files
	for _, n := range names {
		dest := feedMirrorDir + "/" + n // n is a pinned feed's name, checked by ParsePins
		if err := r.streamTree(ctx, feeds[n], r.e.opts.FeedMirrorBytes, noGit, "mkdir -p "+dest+" && tar -x -f - -C "+dest); err != nil {
			return fmt.Errorf("%w: streaming the mirrored feed %s into the build pod %s: %w", builder.ErrExecutor, n, r.pod, err)
		}
	}
	r.e.opts.Logger.Info("streamed the mirrored standard feeds into the build pod", "pod", r.pod, "feeds", strings.Join(names, ","),
		"seconds", time.Since(start).Round(time.Millisecond).Seconds())
	return nil
}
