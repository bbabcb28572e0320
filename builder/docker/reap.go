package docker

import (
	"context"
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// RemoveContainers force-removes the containers, running or not, that an executor made (build
// and cache-initialising containers), that carry the label key, and for whose labels remove
// returns true: for instance the build containers of a worker process that died, which nobody
// else stops before their wall-clock limit. The jobs' workspace volumes so chosen go with them,
// with their disks (loop device and file), and so do disk files in DiskDir that no volume names.
// It returns how many containers and volumes it removed. A container that
// vanishes meanwhile is not an error; the first failure is returned after trying the rest.
func (e *Executor) RemoveContainers(ctx context.Context, label string, remove func(labels map[string]string) bool) (int, error) {
	if label == "" {
		return 0, errors.New("removing containers needs a label key")
	}
	list, err := e.cli.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", label)})
	if err != nil {
		return 0, fmt.Errorf("%w: listing containers labelled %s: %w", builder.ErrExecutor, label, err)
	}
	n := 0
	var errs []error
	for _, c := range list.Items {
		_, ours := c.Labels[LabelJob]
		if _, cache := c.Labels[LabelCache]; !ours && !cache {
			continue // not an executor's container: leave it alone whatever its label says
		}
		v, ok := c.Labels[label]
		if !ok || !remove(c.Labels) {
			continue
		}
		_, err := e.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		switch {
		case err == nil:
			n++
			e.opts.Logger.Info("removed a left-behind build container", "container", c.ID, label, v)
		case cerrdefs.IsNotFound(err):
		default:
			errs = append(errs, fmt.Errorf("removing container %.12s: %w", c.ID, err))
		}
	}
	// The jobs' workspace volumes (never the cache or SDK volumes) go too: a dead worker's
	// Close never ran, and each holds a copy of the SDK and the build's work.
	vols, err := e.cli.VolumeList(ctx, client.VolumeListOptions{Filters: make(client.Filters).Add("label", label)})
	if err != nil {
		return n, errors.Join(append(errs, fmt.Errorf("%w: listing volumes labelled %s: %w", builder.ErrExecutor, label, err))...)
	}
	for _, v := range vols.Items {
		_, job := v.Labels[LabelJob]
		if _, cache := v.Labels[LabelCache]; !job || cache || !remove(v.Labels) {
			continue
		}
		_, err := e.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
		switch {
		case err == nil:
			n++
			e.opts.Logger.Info("removed a left-behind workspace volume", "volume", v.Name, label, v.Labels[label])
		case cerrdefs.IsNotFound(err):
		default:
			errs = append(errs, fmt.Errorf("removing volume %s: %w", v.Name, err))
			continue
		}
		// A disk workspace's loop device and file go with its volume.
		if disk, ok := e.diskOf(v.Labels); ok {
			if err := e.removeDisk(ctx, disk); err != nil {
				errs = append(errs, fmt.Errorf("removing the workspace disk of %s: %w", v.Name, err))
			}
		}
	}
	// Disk files whose volume never was made, or went without us.
	swept, err := e.sweepDisks(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("%w: sweeping workspace disks: %w", builder.ErrExecutor, err))
	}
	return n + swept, errors.Join(errs...)
}
