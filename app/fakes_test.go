package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	qsqlite "github.com/openwrt-ppa/openwrt-ppa/internal/queue/sqlite"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/sqlite"
)

// fakeForge records every report the service sends and answers reads from maps.
type fakeForge struct {
	mu       sync.Mutex
	files    map[string]string // sha + ":" + path → content
	writers  map[string]bool
	pulls    map[int]forge.Pull
	checks   []forge.Check
	replies  []string
	reacts   []forge.Reaction
	nextID   int
	failRead error
}

var _ forge.Forge = (*fakeForge)(nil)

func newFakeForge() *fakeForge {
	return &fakeForge{files: map[string]string{}, writers: map[string]bool{}, pulls: map[int]forge.Pull{}}
}

func (f *fakeForge) Name() forge.Name { return forge.GitHub }

func (f *fakeForge) ReportCheck(_ context.Context, _ forge.Repo, c forge.Check) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.ID == "" {
		f.nextID++
		c.ID = strconv.Itoa(f.nextID)
	}
	f.checks = append(f.checks, c)
	return c.ID, nil
}

func (f *fakeForge) Reply(_ context.Context, _ forge.Repo, n int, body string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies = append(f.replies, fmt.Sprintf("#%d %s", n, body))
	return nil
}

func (f *fakeForge) React(_ context.Context, _ forge.Repo, _ forge.CommentRef, r forge.Reaction) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reacts = append(f.reacts, r)
	return nil
}

func (f *fakeForge) ReadFile(_ context.Context, _ forge.Repo, sha, path string) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRead != nil {
		return nil, false, f.failRead
	}
	c, ok := f.files[sha+":"+path]
	return []byte(c), ok, nil
}

func (f *fakeForge) Pull(_ context.Context, _ forge.Repo, n int) (forge.Pull, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pulls[n]
	if !ok {
		return forge.Pull{}, fmt.Errorf("no pull request %d", n)
	}
	return p, nil
}

func (f *fakeForge) CanTrigger(_ context.Context, _ forge.Repo, u forge.User) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writers[u.Login], nil
}

func (f *fakeForge) snapshot() ([]forge.Check, []string, []forge.Reaction) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]forge.Check(nil), f.checks...), append([]string(nil), f.replies...), append([]forge.Reaction(nil), f.reacts...)
}

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
	forge *fakeForge
	queue *qsqlite.Queue
	feeds *memFeeds
	cfg   Config
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q, err := qsqlite.New(ctx, st, qsqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{forge: newFakeForge(), queue: q, feeds: &memFeeds{},
		cfg: Config{Data: dir, PublicURL: "https://ppa.example.org", Registry: "ghcr.io/openwrt/sdk", QueueLimit: 100, PRFeedTTL: 1}}
	h.svc, err = NewService(h.cfg, Deps{Store: st, Queue: h.queue, Forges: []forge.Forge{h.forge}, Feeds: h.feeds,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
