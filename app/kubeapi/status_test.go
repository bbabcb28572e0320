package kubeapi

import (
	"encoding/json"
	"testing"
	"time"

	v1 "github.com/openwrt-ppa/openwrt-ppa/api/v1alpha1"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

func TestBuildStatusFromStore(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 4, 0, 0, 500, time.UTC)
	res, _ := json.Marshal(model.Result{Packages: []model.PackageResult{
		{Name: "hello", Version: "1.0-r1", Status: "built"},
		{Name: "kmod-x", Status: "refused", Note: "kernel modules are refused"},
	}})
	cases := []struct {
		name      string
		build     store.Status
		jobs      []store.Status
		phase     v1.BuildPhase
		jobPhases []v1.BuildPhase
		done      bool
	}{
		{"queued", store.StatusQueued, []store.Status{store.StatusQueued}, v1.BuildQueued, []v1.BuildPhase{v1.BuildQueued}, false},
		{"running", store.StatusRunning, []store.Status{store.StatusRunning, store.StatusQueued}, v1.BuildRunning, []v1.BuildPhase{v1.BuildRunning, v1.BuildQueued}, false},
		{"succeeded", store.StatusSuccess, []store.Status{store.StatusSuccess, store.StatusSkipped}, v1.BuildSucceeded, []v1.BuildPhase{v1.BuildSucceeded, v1.BuildSucceeded}, true},
		{"failed", store.StatusFailure, []store.Status{store.StatusTimedOut}, v1.BuildFailed, []v1.BuildPhase{v1.BuildFailed}, true},
		{"cancelled", store.StatusCancelled, []store.Status{store.StatusCancelled}, v1.BuildCancelled, []v1.BuildPhase{v1.BuildCancelled}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := store.Build{ID: 7, Status: tc.build, CommitSHA: sha("c"), Created: t0, Started: t0.Add(time.Second), Finished: t0.Add(time.Minute)}
			var jobs []store.Job
			for i, s := range tc.jobs {
				jobs = append(jobs, store.Job{ID: int64(i + 1), Series: "24.10", Arch: "x86_64", Status: s, Result: res})
			}
			st := buildStatus(v1.BuildStatus{}, 1, b, jobs, func(j store.Job) string { return "log/" + j.Arch })
			if st.Phase != tc.phase || len(st.Jobs) != len(tc.jobPhases) {
				t.Fatalf("phase %s jobs %+v", st.Phase, st.Jobs)
			}
			for i, want := range tc.jobPhases {
				if st.Jobs[i].State != want || st.Jobs[i].LogURL != "log/x86_64" {
					t.Errorf("job %d: %+v, want %s", i, st.Jobs[i], want)
				}
			}
			p := st.Jobs[0].Packages
			if len(p) != 2 || p[0].Status != "built" || p[0].Version != "1.0-r1" || p[1].Status != "failed" || p[1].Reason == "" {
				t.Errorf("packages %+v", p)
			}
			if st.StartTime == nil || !st.StartTime.Time.Equal(t0.Add(time.Second).Truncate(time.Second)) {
				t.Errorf("start %v", st.StartTime)
			}
			if (st.CompletionTime != nil) != tc.done {
				t.Errorf("completion %v, want set: %v", st.CompletionTime, tc.done)
			}
		})
	}
}
