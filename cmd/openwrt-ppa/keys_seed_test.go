package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// seedKeys registers a repository in the data dir and makes its four keys (usign and apk, main
// and preview).
func seedKeys(t *testing.T, data string) {
	t.Helper()
	ctx := context.Background()
	rt, err := app.Open(ctx, app.Config{Data: data, Workers: 0}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	repo, err := rt.Store.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "42", Owner: "alice", Name: "pkgs"})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []store.KeyKind{store.KeyMain, store.KeyPreview} {
		if _, err := rt.Keys.Secret(ctx, repo.ID, kind); err != nil {
			t.Fatal(err)
		}
		if _, err := rt.Keys.APKSecret(ctx, repo.ID, kind); err != nil {
			t.Fatal(err)
		}
	}
}
