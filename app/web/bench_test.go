package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/sqlite"
)

// BenchmarkRepoPage renders the repository page of a repository with 50 branches and 1,000
// builds of history on the real SQLite store (issue 6: ≤ 20 ms median). It reports the median
// render time as median-ms beside the mean ns/op.
func BenchmarkRepoPage(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "db.sqlite"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	repo, err := st.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "1", Owner: "alice", Name: "packages", DefaultBranch: "branch-00"})
	if err != nil {
		b.Fatal(err)
	}
	feeds := &fakeFeeds{}
	statuses := []store.Status{store.StatusSuccess, store.StatusFailure, store.StatusSuccess, store.StatusRunning}
	for i := range 1000 {
		ref := store.Ref{Kind: store.RefBranch, Name: fmt.Sprintf("branch-%02d", i%50)}
		bl, err := st.CreateBuild(ctx, store.Build{RepoID: repo.ID, CommitSHA: fmt.Sprintf("%040x", i), Ref: ref,
			Trigger: store.TriggerPush, Actor: "alice", Status: statuses[i%len(statuses)]})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.CreateJobs(ctx, []store.Job{{BuildID: bl.ID, Series: "24.10", Arch: "x86_64"}, {BuildID: bl.ID, Series: "24.10", Arch: "mipsel_24kc"}}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 50 {
		ref := store.Ref{Kind: store.RefBranch, Name: fmt.Sprintf("branch-%02d", i)}
		for _, arch := range []string{"x86_64", "mipsel_24kc", "aarch64_cortex-a53"} {
			feeds.add(repo.ID, ref, "24.10", arch, t0, Package{Name: "hello", Version: "1.0-r1", Filename: "hello.ipk", Size: 2048})
		}
	}
	feeds.keys[repo.ID] = map[store.KeyKind]string{store.KeyMain: mainFP}
	h, err := New(Options{History: st, Feeds: feeds, PublicURL: "https://ppa.example.org",
		SessionSecret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/alice/packages", nil)
	render := func() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
	render()
	var times []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		render()
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
}
