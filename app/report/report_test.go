package report

import (
	"context"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/apptest"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/metrics"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// racingForge is the fake forge where another reporter records its check run for the job
// while ours is being created.
type racingForge struct {
	*forgetest.Forge
	st    store.Store
	jobID int64
}

func (f racingForge) ReportCheck(ctx context.Context, r forge.Repo, c forge.Check) (string, error) {
	if c.ID == "" {
		if _, err := store.ClaimCheckRun(ctx, f.st, f.jobID, "other"); err != nil {
			return "", err
		}
	}
	return f.Forge.ReportCheck(ctx, r, c)
}

// TestDuplicateCheckIsClosed: without a shared lock, two reporters may each create a check for
// one job; the one the store did not keep closes its own and reports on the kept one.
func TestDuplicateCheckIsClosed(t *testing.T) {
	ctx := context.Background()
	st, _ := apptest.Open(t, t.TempDir())
	repo, err := st.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "1", Owner: "alice", Name: "pkgs", DefaultBranch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.CreateBuild(ctx, store.Build{RepoID: repo.ID, CommitSHA: "1111111111111111111111111111111111111111",
		Ref: store.Ref{Kind: store.RefBranch, Name: "main"}, Trigger: store.TriggerPush, Status: store.StatusQueued})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := st.CreateJobs(ctx, []store.Job{{BuildID: b.ID, Series: "24.10", Arch: "x86_64", Status: store.StatusRunning}})
	if err != nil {
		t.Fatal(err)
	}
	f := racingForge{Forge: forgetest.NewForge(forge.GitHub), st: st, jobID: jobs[0].ID}
	r := &Reporter{Forges: model.Forges{forge.GitHub: f}, Store: st, Metrics: metrics.New(nil), Now: time.Now}
	j := jobs[0]
	if err := r.Job(ctx, repo, b, &j, forge.CheckInProgress, "building", ""); err != nil {
		t.Fatal(err)
	}
	reports, _, _ := f.Snapshot()
	if len(reports) != 3 || reports[1].ID != reports[0].ID || reports[1].State != forge.CheckCancelled || reports[1].Title != "superseded" ||
		reports[2].ID != "other" || reports[2].State != forge.CheckInProgress || j.CheckRunID != "other" {
		t.Fatalf("reports %+v, job's check %q: want ours created, closed as superseded, and the kept one updated", reports, j.CheckRunID)
	}
}
