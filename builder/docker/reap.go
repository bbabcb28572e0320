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
// else stops before their wall-clock limit. It returns how many it removed. A container that
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
	return n, errors.Join(errs...)
}
