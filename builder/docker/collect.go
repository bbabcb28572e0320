package docker

import (
	"context"
	"fmt"
	"io"

	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// Collect copies the package files and logs out of the (stopped) container into dir through a
// builder.Collector, which checks every entry.
func (r *run) Collect(ctx context.Context, dir string) (builder.Collected, error) {
	spec := r.spec
	spec.Limits = r.limits
	c := builder.NewCollector(dir, spec)
	feed := spec.FeedName
	if feed == "" {
		feed = builder.DefaultFeedName
	}
	if err := r.copyOut(ctx, r.workdir+"/bin/packages/"+r.spec.Job.Arch+"/"+feed, c.Packages); err != nil {
		return c.Collected(), err
	}
	// Nonshared packages (PKG_FLAGS:=nonshared) land in the target's folder.
	if err := r.copyOut(ctx, r.workdir+"/bin/targets", c.TargetPackages); err != nil {
		return c.Collected(), err
	}
	err := r.copyOut(ctx, r.workdir+"/logs", c.Logs)
	return c.Collected(), err
}

// copyOut streams the tar archive of a container path to fn; a missing path is no error.
func (r *run) copyOut(ctx context.Context, src string, fn func(io.Reader) error) error {
	res, err := r.e.cli.CopyFromContainer(ctx, r.ID(), client.CopyFromContainerOptions{SourcePath: src})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: copying %s out of the build container: %w", builder.ErrExecutor, src, err)
	}
	defer res.Content.Close()
	return fn(res.Content)
}
