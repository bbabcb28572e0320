package kubeapi

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/openwrt-ppa/openwrt-ppa/api/v1alpha1"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// specConfig is the configuration obj's spec gives repository id; ok is false when the spec sets
// none of branches, series, archs and packages (the file's defaults then decide).
func specConfig(obj *v1.Repository, id int64) (c store.RepoConfig, ok bool) {
	s := obj.Spec
	c = store.RepoConfig{RepoID: id, Branches: s.Branches, Series: s.Series, Archs: s.Archs, Packages: s.Packages,
		SetBy: registrant(obj.Namespace, obj.Name)}
	return c, c.Sets()
}

// syncConfig makes the configuration stored for repository id what obj's spec says: written
// only when it differs (a reconcile every few seconds writes nothing), removed when the spec
// sets none. One that another Repository object stored is left alone and reported: two objects
// must not take turns at one repository's matrix. The repository's .openwrt-ppa.yml, where it
// has one, wins over either.
func (r *reconciler) syncConfig(ctx context.Context, obj *v1.Repository, id int64) (refusal string, err error) {
	want, set := specConfig(obj, id)
	have, err := r.store.RepoConfig(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		have = store.RepoConfig{}
	case err != nil:
		return "", fmt.Errorf("reading the stored configuration of %s: %w", obj.Name, err)
	}
	theirs := have.RepoID != 0 && have.SetBy != want.SetBy
	switch {
	case theirs && set:
		return fmt.Sprintf("the repository's branches, series, archs and packages are set by %s already: delete one of the two Repositories, or leave these fields out of one", have.SetBy), nil
	case theirs, !set && have.RepoID == 0, set && have.SameSettings(want):
		return "", nil
	case !set:
		if err := r.store.DeleteRepoConfig(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("removing the stored configuration of %s: %w", obj.Name, err)
		}
		r.log.Info("Repository's build configuration removed: the defaults apply", "namespace", obj.Namespace, "name", obj.Name, "repo_id", id)
		return "", nil
	}
	if _, err := r.store.PutRepoConfig(ctx, want); err != nil {
		return "", fmt.Errorf("storing the configuration of %s: %w", obj.Name, err)
	}
	r.log.Info("Repository's build configuration stored", "namespace", obj.Namespace, "name", obj.Name, "repo_id", id,
		"series", want.Series, "archs", want.Archs, "packages", want.Packages, "branches", want.Branches)
	return "", nil
}

// dropConfig removes the configuration obj stored for repository id; one another object
// stored stays.
func (r *reconciler) dropConfig(ctx context.Context, obj *v1.Repository, id int64) error {
	have, err := r.store.RepoConfig(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("reading the stored configuration of %s: %w", obj.Name, err)
	case have.SetBy != registrant(obj.Namespace, obj.Name):
		return nil
	}
	if err := r.store.DeleteRepoConfig(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("removing the stored configuration of %s: %w", obj.Name, err)
	}
	return nil
}
