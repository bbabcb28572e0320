package upkeep

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/datadir"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

func TestPruneLogsKeepsTheNewestBuildsPerRef(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.svc.cfg.KeepBuilds = 2
	repo, err := h.svc.store.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "1", Owner: "a", Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i := 0; i < 4; i++ {
		b, err := h.svc.store.CreateBuild(ctx, store.Build{RepoID: repo.ID, CommitSHA: sha1, Ref: store.Ref{Kind: store.RefBranch, Name: "main"},
			Trigger: store.TriggerPush, Status: store.StatusSuccess})
		if err != nil {
			t.Fatal(err)
		}
		js, err := h.svc.store.CreateJobs(ctx, []store.Job{{BuildID: b.ID, Series: "24.10", Arch: "x86_64", Status: store.StatusSuccess}})
		if err != nil {
			t.Fatal(err)
		}
		rel := datadir.JobLogPath(repo.ID, b.ID, js[0].ID)
		full := filepath.Join(h.svc.data.Logs(), rel)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("log\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.store.UpdateJob(ctx, js[0].ID, func(j *store.Job) error { j.LogPath = rel; return nil }); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, full)
	}
	n, err := h.svc.PruneLogs(ctx)
	if err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want the 2 oldest", n, err)
	}
	for i, p := range paths {
		_, err := os.Stat(p)
		if kept := err == nil; kept != (i >= 2) {
			t.Errorf("log of build %d kept=%v", i+1, kept)
		}
	}
}
