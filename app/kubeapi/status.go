package kubeapi

import (
	"encoding/json"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/openwrt-ppa/openwrt-ppa/api/v1alpha1"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// phase is the Build phase of a stored state.
func phase(s store.Status) v1.BuildPhase {
	switch s {
	case store.StatusRunning:
		return v1.BuildRunning
	case store.StatusSuccess, store.StatusSkipped:
		return v1.BuildSucceeded
	case store.StatusFailure, store.StatusTimedOut:
		return v1.BuildFailed
	case store.StatusCancelled:
		return v1.BuildCancelled
	}
	return v1.BuildQueued
}

// packageStatus maps a job result's package status onto the three the CRD knows.
func packageStatus(s string) string {
	switch s {
	case "built", "skipped":
		return s
	}
	return "failed" // failed, refused
}

// buildStatus is a Build's status as the store has it; old keeps its conditions' times.
func buildStatus(old v1.BuildStatus, gen int64, b store.Build, jobs []store.Job, logURL func(store.Job) string) v1.BuildStatus {
	st := v1.BuildStatus{Phase: phase(b.Status), Conditions: append([]metav1.Condition(nil), old.Conditions...)}
	start := b.Started
	if start.IsZero() {
		start = b.Created
	}
	if !start.IsZero() {
		t := metav1.NewTime(start.UTC().Truncate(1e9))
		st.StartTime = &t
	}
	if b.Status.Final() && !b.Finished.IsZero() {
		t := metav1.NewTime(b.Finished.UTC().Truncate(1e9))
		st.CompletionTime = &t
	}
	for _, j := range jobs {
		js := v1.JobStatus{Series: j.Series, Arch: j.Arch, State: phase(j.Status), LogURL: logURL(j)}
		var res model.Result
		if len(j.Result) > 0 && json.Unmarshal(j.Result, &res) == nil {
			for _, p := range res.Packages {
				if len(js.Packages) == 512 {
					break
				}
				js.Packages = append(js.Packages, v1.PackageResult{Name: p.Name, Version: p.Version, Status: packageStatus(p.Status), Reason: truncate(p.Note, 1024)})
			}
		}
		st.Jobs = append(st.Jobs, js)
		if len(st.Jobs) == 1024 {
			break
		}
	}
	setCondition(&st, gen, CondStarted, true, "Started", "stored as build "+strconv.FormatInt(b.ID, 10)+" of commit "+b.CommitSHA)
	return st
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
