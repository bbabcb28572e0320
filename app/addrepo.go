package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/openwrt-ppa/openwrt-ppa/app/remote"
	"github.com/openwrt-ppa/openwrt-ppa/app/web"
	"github.com/openwrt-ppa/openwrt-ppa/internal/giturl"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// registrar is web's Registrar over app/remote, turning its errors into the API's kinds.
type registrar struct{ r *remote.Remotes }

var _ web.Registrar = registrar{}

func userID(u web.User) string {
	if u.Admin() {
		return remote.AddedByAdmin
	}
	return u.Forge + ":" + u.Login
}

func (g registrar) AddRepo(ctx context.Context, u web.User, url, name string) (web.AddedRepo, error) {
	a, err := g.r.Add(ctx, remote.AddRequest{URL: url, Name: name, AddedBy: userID(u), Admin: u.Admin()})
	if err != nil {
		return web.AddedRepo{}, registerError(err)
	}
	return web.AddedRepo{Repo: a.Repo, URL: a.Remote.URL, WebhookURL: a.WebhookURL, WebhookSecret: a.WebhookSecret, DeployKey: a.DeployKey}, nil
}

func (g registrar) RemoveRepo(ctx context.Context, u web.User, repo store.Repository) error {
	if repo.Forge != store.ForgeGit {
		return fmt.Errorf("%w: %s was not added by URL; its forge's App or webhook decides", web.ErrRegisterForbidden, repo.Path())
	}
	if !u.Admin() {
		rem, err := g.r.Store().Remote(ctx, repo.ID)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %s was removed already", web.ErrRegisterRefused, repo.Path())
		}
		if err != nil {
			return err
		}
		if rem.AddedBy != userID(u) {
			return fmt.Errorf("%w: only whoever added %s, or an admin, may remove it", web.ErrRegisterForbidden, repo.Path())
		}
	}
	return registerError(g.r.Remove(ctx, repo.ID))
}

// RepoRemote shows the adder (or an admin) the repository's URL, webhook, secret and deploy key.
func (g registrar) RepoRemote(ctx context.Context, u web.User, repo store.Repository) (web.AddedRepo, bool, error) {
	if repo.Forge != store.ForgeGit {
		return web.AddedRepo{}, false, nil
	}
	rem, err := g.r.Store().Remote(ctx, repo.ID)
	if errors.Is(err, store.ErrNotFound) {
		return web.AddedRepo{}, false, nil
	}
	if err != nil {
		return web.AddedRepo{}, false, err
	}
	if !u.Admin() && rem.AddedBy != userID(u) {
		return web.AddedRepo{}, false, nil
	}
	return web.AddedRepo{Repo: repo, URL: rem.URL, WebhookURL: g.r.WebhookURL(repo.ID), WebhookSecret: rem.WebhookSecret,
		DeployKey: remote.PublicKey(rem, remote.KeyComment(repo)), LastError: rem.LastError}, true, nil
}

func registerError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, giturl.ErrRefused):
		return fmt.Errorf("%w: %w", web.ErrRegisterRefused, err)
	case errors.Is(err, remote.ErrNotAllowed):
		return fmt.Errorf("%w: %w", web.ErrRegisterForbidden, err)
	case errors.Is(err, remote.ErrNameTaken):
		return fmt.Errorf("%w: %w", web.ErrRegisterConflict, err)
	}
	return err
}
