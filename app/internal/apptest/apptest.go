// Package apptest holds the parts the stage tests of app share: a store and queue on a fresh
// SQLite file, and a feed storage that records what was published and removed.
package apptest

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/app/publish"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	qsqlite "github.com/openwrt-ppa/openwrt-ppa/internal/queue/sqlite"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/sqlite"
)

// Open returns the embedded store and queue in dir, closed when the test ends.
func Open(t testing.TB, dir string) (*sqlite.DB, *qsqlite.Queue) {
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
	return st, q
}

// Queued is how many jobs wait in q.
func Queued(t testing.TB, q interface {
	Len(context.Context) (int, error)
}) int {
	t.Helper()
	n, err := q.Len(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// MemFeeds records publishes and removals.
type MemFeeds struct {
	mu        sync.Mutex
	Published map[string][]string // feed URL path → files
	Removed   []string            // "<owner>/<repo> <ref name>"
}

var _ publish.Feeds = (*MemFeeds)(nil)

// Publish records the files of req under the feed's URL path.
func (m *MemFeeds) Publish(_ context.Context, _ store.Repository, ref feeds.FeedRef, req publish.Files) (*feeds.PublishResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := ref.URLPath()
	if err != nil {
		return nil, err
	}
	if m.Published == nil {
		m.Published = map[string][]string{}
	}
	m.Published[p] = req.Add
	res := &feeds.PublishResult{Feed: ref, URLPath: p}
	for _, f := range req.Add {
		res.Added = append(res.Added, feeds.PackageInfo{Name: filepath.Base(f), Filename: filepath.Base(f)})
	}
	res.Index = res.Added
	return res, nil
}

// List lists nothing: every publish starts from an empty feed.
func (m *MemFeeds) List(_ context.Context, ref feeds.FeedRef) ([]feeds.PackageInfo, error) {
	return nil, nil
}

// RemoveRef records the removal.
func (m *MemFeeds) RemoveRef(_ context.Context, ref feeds.FeedRef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Removed = append(m.Removed, ref.Owner+"/"+ref.Repo+" "+ref.Name)
	return nil
}
