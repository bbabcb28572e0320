package web

import (
	"encoding/json"
	"time"
)

// JobResult is the shape web reads from store.Job.Result: the per-package outcome the service
// records when a job ends (app's jobResult writes these fields; others are ignored). A bare JSON
// array of PackageResult is read as Packages too.
type JobResult struct {
	Packages []PackageResult `json:"packages"`
	// Message explains a job that failed as a whole ("series 25.12 uses apk, which is not
	// published yet", a checkout error, a timeout).
	Message string `json:"message,omitempty"`
	// ReusedFrom is the job whose result this one reused instead of building again.
	ReusedFrom int64 `json:"reused_from,omitempty"`
}

// PackageResult is one package of a job.
type PackageResult struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Size    int64  `json:"size,omitempty"`
	// Status is "built", "failed", "skipped" or "refused".
	Status string `json:"status"`
	// Step is the failing step (install, download, check, compile).
	Step string `json:"step,omitempty"`
	// Note says why a package failed or was skipped, or that an older version was kept.
	Note       string `json:"note,omitempty"`
	DurationMS int64  `json:"duration_ms,omitempty"`
}

// Timed reports whether any package has a build time, so the page shows that column.
func (r JobResult) Timed() bool {
	for _, p := range r.Packages {
		if p.DurationMS > 0 {
			return true
		}
	}
	return false
}

// Duration is how long the package took to build, or 0 when unknown.
func (p PackageResult) Duration() time.Duration {
	return time.Duration(p.DurationMS) * time.Millisecond
}

// parseResult reads a job's result; ok is false when it is empty or not in a known shape.
func parseResult(raw json.RawMessage) (res JobResult, ok bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return res, false
	}
	if raw[0] == '[' {
		return res, json.Unmarshal(raw, &res.Packages) == nil
	}
	return res, json.Unmarshal(raw, &res) == nil
}
