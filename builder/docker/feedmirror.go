package docker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/mount"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// mirrorFeeds makes sure the feed mirror holds the standard feeds the job's SDK pins and returns
// their host folders by feed name (none without a mirror). It runs in the service, before the
// build, with the service's own network: the build then needs none for them.
func (e *Executor) mirrorFeeds(ctx context.Context, job builder.Job, img imageInfo, sdkVol string) (map[string]string, error) {
	m := e.opts.FeedMirror
	if m == nil {
		return nil, nil
	}
	conf, err := e.feedsConf(ctx, job, img, sdkVol)
	if err != nil {
		return nil, err
	}
	feeds, err := m.Ensure(ctx, job.Series, conf)
	if err != nil {
		return nil, err
	}
	if len(feeds) == 0 {
		e.opts.Logger.Info("the SDK pins no standard feed at a commit: the build fetches its feeds itself", "image", job.Image)
	}
	return feeds, nil
}

// feedsConf reads the SDK's feeds.conf.default, once per image (and SDK volume) in this process:
// from the SDK volume setup.sh filled, or from the image's work dir.
func (e *Executor) feedsConf(ctx context.Context, job builder.Job, img imageInfo, sdkVol string) (string, error) {
	key := img.id + "/" + sdkVol
	e.mu.Lock()
	conf, ok := e.feedConf[key]
	e.mu.Unlock()
	if ok {
		return conf, nil
	}
	var out strings.Builder
	h := helper{image: job.Image, workdir: img.workdir, network: "none", timeout: 2 * time.Minute, output: &out,
		cmd: "if [ -f feeds.conf.default ]; then cat feeds.conf.default; fi", labels: map[string]string{LabelCache: "feeds-conf"}}
	for k, v := range e.opts.Labels {
		h.labels[k] = v
	}
	if sdkVol != "" {
		h.mounts = []mount.Mount{{Type: mount.TypeVolume, Source: sdkVol, Target: img.workdir, ReadOnly: true}}
	}
	if err := e.runHelper(ctx, h); err != nil {
		return "", fmt.Errorf("%w: reading feeds.conf.default of %s: %w", builder.ErrExecutor, job.Image, err)
	}
	e.mu.Lock()
	e.feedConf[key] = out.String()
	e.mu.Unlock()
	return out.String(), nil
}
