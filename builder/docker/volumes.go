package docker

import (
	"context"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// ensureVolumes makes the cache volumes when missing; created reports whether one was new.
func (e *Executor) ensureVolumes(ctx context.Context, job builder.Job, names ...string) (created bool, err error) {
	for _, name := range names {
		_, err := e.cli.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
		if err == nil {
			continue
		}
		if !cerrdefs.IsNotFound(err) {
			return false, fmt.Errorf("%w: looking up cache volume %s: %w", builder.ErrExecutor, name, err)
		}
		labels := map[string]string{LabelCache: "1", LabelSeries: job.Series, LabelArch: job.Arch}
		for k, v := range e.opts.Labels {
			labels[k] = v
		}
		if _, err := e.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: labels}); err != nil {
			return false, fmt.Errorf("%w: making cache volume %s: %w", builder.ErrExecutor, name, err)
		}
		created = true
	}
	return created, nil
}

// initVolumes gives new cache volumes to the build user. Docker copies the owner of the image's
// folder into a new volume, but an image without dl/ or feeds/ would leave them to root. A
// short helper container from the same image, root with only CAP_CHOWN and no network, runs
// chown on the two volume roots and nothing else; it runs once per new pair of volumes.
// (CopyToContainer with CopyUIDGID cannot do it: the engine resolves "1000:1000" on the host.)
func (e *Executor) initVolumes(ctx context.Context, image, dlVol, feedsVol string) error {
	labels := map[string]string{LabelCache: "init"}
	for k, v := range e.opts.Labels {
		labels[k] = v
	}
	pids := int64(16)
	created, err := e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image: image, User: "0:0", Entrypoint: []string{"/bin/sh", "-c"},
			Cmd:    []string{"chown 1000:1000 /cache/dl /cache/feeds"},
			Labels: labels, NetworkDisabled: true,
		},
		HostConfig: &container.HostConfig{
			NetworkMode: "none", CapDrop: []string{"ALL"}, CapAdd: []string{"CHOWN"},
			SecurityOpt: []string{"no-new-privileges"},
			Resources:   container.Resources{Memory: 64 << 20, PidsLimit: &pids},
			Mounts: []mount.Mount{
				{Type: mount.TypeVolume, Source: dlVol, Target: "/cache/dl"},
				{Type: mount.TypeVolume, Source: feedsVol, Target: "/cache/feeds"},
			},
		},
	})
	if err != nil {
		return fmt.Errorf("%w: preparing the cache volumes: %w", builder.ErrExecutor, err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = e.cli.ContainerRemove(rctx, created.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	w := e.cli.ContainerWait(wctx, created.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := e.cli.ContainerStart(wctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("%w: preparing the cache volumes: %w", builder.ErrExecutor, err)
	}
	select {
	case res := <-w.Result:
		if res.StatusCode != 0 {
			return fmt.Errorf("%w: preparing the cache volumes: chown in %s exited with %d (the image needs sh and chown)", builder.ErrExecutor, image, res.StatusCode)
		}
	case err := <-w.Error:
		return fmt.Errorf("%w: preparing the cache volumes: %w", builder.ErrExecutor, err)
	}
	return nil
}
