package app

import (
	"context"
	"io"

	"github.com/openwrt-ppa/openwrt-ppa/app/keys"
)

// ExportKeys writes every repository's signing keys to w (`openwrt-ppa keys export`).
func (rt *Runtime) ExportKeys(ctx context.Context, w io.Writer) (int, error) {
	return keys.Export(ctx, rt.Store, rt.Keys, w)
}

// ImportKeys installs the keys of a backup made by ExportKeys (`openwrt-ppa keys import`).
func (rt *Runtime) ImportKeys(ctx context.Context, r io.Reader, replace bool) (int, error) {
	return keys.Import(ctx, rt.Store, rt.Keys, r, replace)
}

// ReadToken returns the read token of a private repository, for its owner's routers.
func (rt *Runtime) ReadToken(ctx context.Context, owner, name string) (string, error) {
	repo, err := rt.Store.RepositoryByPath(ctx, owner, name)
	if err != nil {
		return "", err
	}
	return rt.Service.tokens.Token(repo), nil
}
