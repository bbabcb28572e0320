package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	qsqlite "github.com/openwrt-ppa/openwrt-ppa/internal/queue/sqlite"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/sqlite"
)

// memFeeds records publishes and removals.
type memFeeds struct {
	mu        sync.Mutex
	published map[string][]string // feed URL path → files
	removed   []string
}

func (m *memFeeds) Publish(_ context.Context, _ store.Repository, ref feeds.FeedRef, req PublishFiles) (*feeds.PublishResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := ref.URLPath()
	if err != nil {
		return nil, err
	}
	if m.published == nil {
		m.published = map[string][]string{}
	}
	m.published[p] = req.Add
	res := &feeds.PublishResult{Feed: ref, URLPath: p}
	for _, f := range req.Add {
		res.Added = append(res.Added, feeds.PackageInfo{Name: filepath.Base(f), Filename: filepath.Base(f)})
	}
	res.Index = res.Added
	return res, nil
}

func (m *memFeeds) List(_ context.Context, ref feeds.FeedRef) ([]feeds.PackageInfo, error) {
	return nil, nil
}

func (m *memFeeds) RemoveRef(_ context.Context, ref feeds.FeedRef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removed = append(m.removed, ref.Owner+"/"+ref.Repo+" "+ref.Name)
	return nil
}

type harness struct {
	svc   *Service
	forge *forgetest.Forge
	queue *qsqlite.Queue
	feeds *memFeeds
	cfg   Config
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, t.TempDir(), nil)
}

// newHarnessWith is newHarness on the data dir dir, with tweak changing the configuration and
// the parts before the service is made.
func newHarnessWith(t *testing.T, dir string, tweak func(*Config, *Deps)) *harness {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q, err := qsqlite.New(ctx, st, qsqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{forge: forgetest.NewForge(forge.GitHub), queue: q, feeds: &memFeeds{},
		cfg: Config{Data: dir, PublicURL: "https://ppa.example.org", Registry: "ghcr.io/openwrt/sdk", QueueLimit: 100, PRFeedTTL: 1}}
	d := Deps{Store: st, Queue: h.queue, Forges: []forge.Forge{h.forge}, Feeds: h.feeds,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if tweak != nil {
		tweak(&h.cfg, &d)
	}
	h.svc, err = NewService(h.cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// queued is how many jobs wait in the queue.
func (h *harness) queued(t *testing.T) int {
	t.Helper()
	n, err := h.queue.Len(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
