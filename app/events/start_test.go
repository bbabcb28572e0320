package events

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// gatedStore holds each CreateBuild's answer until n builds were created, so the callers that
// made them go on only when every one of their builds is in the store: the order in which two
// concurrent starts could interleave at worst.
type gatedStore struct {
	store.Store
	n       int
	mu      sync.Mutex
	created int
	all     chan struct{}
}

func (g *gatedStore) CreateBuild(ctx context.Context, b store.Build) (store.Build, error) {
	b, err := g.Store.CreateBuild(ctx, b)
	g.mu.Lock()
	g.created++
	if g.created == g.n {
		close(g.all)
	}
	g.mu.Unlock()
	<-g.all
	return b, err
}

// TestConcurrentStartsEachGetTheirBuild: two Build resources started at once on the same ref
// are answered each with the build made for it, not both with the newer one (which a lookup of
// the ref's latest build after starting gave).
func TestConcurrentStartsEachGetTheirBuild(t *testing.T) {
	h := newHarness(t)
	h.deliver(t, push("d1", "main", sha1))
	repo, err := h.svc.store.RepositoryByPath(context.Background(), "alice", "pkgs")
	if err != nil {
		t.Fatal(err)
	}
	const starts = 2
	h.svc.store = &gatedStore{Store: h.svc.store, n: starts, all: make(chan struct{})}

	ids := make([]int64, starts)
	errs := make([]error, starts)
	var wg sync.WaitGroup
	for i := range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = h.svc.StartBuild(context.Background(), BuildRequest{RepoID: repo.ID,
				Ref: store.Ref{Kind: store.RefBranch, Name: "main"}, SHA: sha2, Force: true,
				Actor: "alice", DeliveryID: fmt.Sprintf("build-%d", i)})
		}()
	}
	wg.Wait()
	for i := range starts {
		if errs[i] != nil {
			t.Fatalf("start %d: %v", i, errs[i])
		}
		b, err := h.svc.store.Build(context.Background(), ids[i])
		if err != nil {
			t.Fatalf("start %d answered build %d: %v", i, ids[i], err)
		}
		if want := fmt.Sprintf("build-%d", i); b.DeliveryID != want {
			t.Errorf("start %q was answered with build %d, which start %q made", want, b.ID, b.DeliveryID)
		}
	}
	if ids[0] == ids[1] {
		t.Errorf("both starts were answered with build %d", ids[0])
	}
}
