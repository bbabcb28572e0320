package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/feedmirror"
)

// feedsMount is where a build sees the mirror's tree of a pinned feed, read-only:
// feedsMount + "/" + name.
const feedsMount = "/openwrt-ppa/feeds"

// mirrorFeeds reads the SDK's feeds.conf.default (from what the job's workspace is filled
// with), has the mirror sync its pinned feeds (fetching outside the build, only what it lacks)
// and returns their trees. An SDK pinning nothing gets none; a pin the mirror cannot serve
// fails the job before it starts, as its clone would fail inside without a network.
func (e *Executor) mirrorFeeds(ctx context.Context, job builder.Job, img imageInfo, ws, holder, sdkVol string, labels map[string]string) ([]feedmirror.Tree, error) {
	key := img.id + "/" + sdkVol
	e.mu.Lock()
	pins, known := e.pins[key]
	e.mu.Unlock()
	if !known {
		conf, err := e.readFeedsConf(ctx, job.Image, img.workdir, ws, holder, sdkVol, labels)
		if err != nil {
			return nil, fmt.Errorf("%w: reading the SDK's feeds.conf.default: %w", builder.ErrExecutor, err)
		}
		lines, err := feedmirror.ParseConf(conf)
		if err != nil {
			return nil, fmt.Errorf("%w: the SDK's feeds.conf.default in %s: %w", builder.ErrExecutor, job.Image, err)
		}
		pins = feedmirror.Pins(lines)
		e.mu.Lock()
		e.pins[key] = pins
		e.mu.Unlock()
	}
	if len(pins) == 0 {
		return nil, nil
	}
	want := make([]feedmirror.Pin, len(pins))
	for i, p := range pins {
		want[i] = p
		if e.opts.GitHubFeeds {
			want[i].Via = feedmirror.GitHubURL(p.URL)
		}
	}
	start := time.Now()
	res, err := e.opts.FeedMirror.Sync(ctx, job.Series, want)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", builder.ErrExecutor, err)
	}
	e.opts.Logger.Info("feed mirror ready", "series", job.Series, "feeds", len(res.Trees), "fetched", strings.Join(res.Fetched, ","), "seconds", time.Since(start).Seconds())
	return res.Trees, nil
}

// readFeedsConf copies feeds.conf.default out of the SDK the job will use, without running
// anything: from the SDK volume (an image whose setup.sh fetched it), the workspace holder (a
// tmpfs workspace, already filled) or a container created, never started, on the workspace
// volume (which fills it from the image, as the job's first container would). A missing file
// is no error: nothing is pinned.
func (e *Executor) readFeedsConf(ctx context.Context, image, workdir, ws, holder, sdkVol string, labels map[string]string) ([]byte, error) {
	if holder != "" && sdkVol == "" {
		return e.copyFile(ctx, holder, wsCopyMount+"/feeds.conf.default")
	}
	m := mount.Mount{Type: mount.TypeVolume, Source: ws, Target: workdir}
	if sdkVol != "" {
		m = mount.Mount{Type: mount.TypeVolume, Source: sdkVol, Target: workdir, ReadOnly: true}
	}
	c, err := e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: image, User: "1000:1000", WorkingDir: workdir, Entrypoint: []string{"/bin/true"},
			Labels: labels, NetworkDisabled: true},
		HostConfig: &container.HostConfig{NetworkMode: "none", CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges"},
			Mounts: []mount.Mount{m}, Runtime: e.opts.Runtime},
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = e.cli.ContainerRemove(rctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}()
	return e.copyFile(ctx, c.ID, workdir+"/feeds.conf.default")
}

// copyFile reads one small regular file out of a container (nil if it is not there).
func (e *Executor) copyFile(ctx context.Context, id, path string) ([]byte, error) {
	res, err := e.cli.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: path})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	h, err := tr.Next()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if h.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	const limit = 64 << 10
	b, err := io.ReadAll(io.LimitReader(tr, limit+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// feedMounts are the read-only binds of the trees and the driver's OPENWRT_PPA_FEED_LINKS.
func feedMounts(trees []feedmirror.Tree) ([]mount.Mount, string) {
	var ms []mount.Mount
	var links []string
	for _, t := range trees {
		dst := feedsMount + "/" + t.Name
		ms = append(ms, mount.Mount{Type: mount.TypeBind, Source: t.Dir, Target: dst, ReadOnly: true})
		links = append(links, t.Name+" "+t.Commit+" "+dst)
	}
	return ms, strings.Join(links, " ")
}
