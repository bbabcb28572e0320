package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// loadConfig reads .openwrt-ppa.yml at the commit; without one, the configuration stored for
// the repository (a Kubernetes Repository's spec) stands in for it, and without that the
// defaults. A mistake in either is a *builder.ConfigError (shown on a check); a forge or store
// that cannot be reached is a model.RetryError.
func (r *eventRun) loadConfig(ctx context.Context, repo store.Repository, sha string) (builder.Config, []byte, error) {
	f, err := r.forges.Get(forge.Name(repo.Forge))
	if err != nil {
		return builder.Config{}, nil, err
	}
	raw, found, err := f.ReadFile(ctx, model.ForgeRepo(repo), sha, builder.ConfigFile)
	if err != nil {
		return builder.Config{}, nil, model.Retry(fmt.Errorf("reading %s at %s: %w", builder.ConfigFile, sha, err))
	}
	var stored store.RepoConfig
	if !found {
		stored, err = r.store.RepoConfig(ctx, repo.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			stored = store.RepoConfig{}
		case err != nil:
			return builder.Config{}, nil, model.Retry(fmt.Errorf("reading the stored configuration of %s: %w", repo.Path(), err))
		}
	}
	return model.ParseConfig(raw, found, stored)
}
