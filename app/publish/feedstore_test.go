package publish

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app/keys"
	"github.com/openwrt-ppa/openwrt-ppa/builder/buildertest"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/inproc"
)

// keyLocker is the in-process locker, noting the keys it is asked for.
type keyLocker struct {
	*inproc.Locker
	mu   sync.Mutex
	keys []string
}

func (l *keyLocker) Lock(ctx context.Context, key string, ttl time.Duration) (store.Lock, error) {
	l.mu.Lock()
	l.keys = append(l.keys, key)
	l.mu.Unlock()
	return l.Locker.Lock(ctx, key, ttl)
}

// TestPublishAndRemovalShareTheRefLock: publishing into one series/arch of a branch and removing
// the branch's feeds take the same lock (a publish during a deletion would bring the feed
// back); a tag of the same name has a lock of its own.
func TestPublishAndRemovalShareTheRefLock(t *testing.T) {
	ctx := context.Background()
	fs, err := feeds.OpenStore(t.TempDir(), feeds.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l := &keyLocker{Locker: inproc.NewLocker()}
	p := &FeedStore{Feeds: fs, Keys: keys.NewRing(t.TempDir(), nil), Locker: l}
	ipk, err := buildertest.IPK(buildertest.Control{Package: "hello", Version: "1.0-r1", Arch: "x86_64"}, map[string]string{"usr/bin/hello": "hi\n"})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "hello_1.0-r1_x86_64.ipk")
	if err := os.WriteFile(file, ipk, 0o644); err != nil {
		t.Fatal(err)
	}
	repo := store.Repository{ID: 1, Owner: "Alice", Name: "pkgs"}
	branch := feeds.FeedRef{Owner: "Alice", Repo: "pkgs", Kind: feeds.BranchFeed, Name: "v1", Series: "24.10", Arch: "x86_64"}
	if _, err := p.Publish(ctx, repo, branch, Files{Add: []string{file}, Index: Index{IndexJSON: 2}}); err != nil {
		t.Fatal(err)
	}
	whole := feeds.FeedRef{Owner: "alice", Repo: "pkgs", Kind: feeds.BranchFeed, Name: "v1"}
	if err := p.RemoveRef(ctx, whole); err != nil {
		t.Fatal(err)
	}
	tag := whole
	tag.Kind = feeds.TagFeed
	if err := p.RemoveRef(ctx, tag); err != nil {
		t.Fatal(err)
	}
	if len(l.keys) != 3 || l.keys[0] != l.keys[1] || l.keys[2] == l.keys[0] {
		t.Fatalf("lock keys %q: want publish and removal of the branch on one, the tag on another", l.keys)
	}
}
