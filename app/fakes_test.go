package app

import (
	"io"
	"log/slog"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/apptest"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
)

type harness struct {
	svc   *Service
	forge *forgetest.Forge
	feeds *apptest.MemFeeds
	cfg   Config
}

// newHarnessWith is a Service on the embedded store in the data dir dir, with tweak changing the
// configuration and the parts before the service is made.
func newHarnessWith(t *testing.T, dir string, tweak func(*Config, *Deps)) *harness {
	t.Helper()
	st, q := apptest.Open(t, dir)
	h := &harness{forge: forgetest.NewForge(forge.GitHub), feeds: &apptest.MemFeeds{},
		cfg: Config{Data: dir, PublicURL: "https://ppa.example.org", Registry: "ghcr.io/openwrt/sdk", QueueLimit: 100, PRFeedTTL: 1}}
	d := Deps{Store: st, Queue: q, Forges: []forge.Forge{h.forge}, Feeds: h.feeds,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if tweak != nil {
		tweak(&h.cfg, &d)
	}
	var err error
	h.svc, err = NewService(h.cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
