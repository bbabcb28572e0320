package model

import "github.com/openwrt-ppa/openwrt-ppa/internal/store"

// Result is what a job leaves in store.Job.Result: the per-package outcome the check summary,
// the build page and the API show.
type Result struct {
	Packages []PackageResult `json:"packages,omitempty"`
	// Message explains a job that failed as a whole (configuration, checkout, timeout…).
	Message string `json:"message,omitempty"`
	// ReusedFrom is the job whose result this one reuses.
	ReusedFrom int64 `json:"reused_from,omitempty"`
	// Artifacts is the folder (under the data dir's cache) holding the built packages, so a
	// reused result can be published to another feed.
	Artifacts string `json:"artifacts,omitempty"`
	// IndexJSON is the index.json version the feed was written with.
	IndexJSON int `json:"index_json,omitempty"`
	// Format is the packages' format, as the catalogue marks the series: "apk" (25.12,
	// snapshots) or "ipk" ("" in results of before apk feeds: ipk).
	Format string `json:"format,omitempty"`
}

// PackageResult is one package of a job.
type PackageResult struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Size    int64  `json:"size,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	File    string `json:"file,omitempty"`
	Status  string `json:"status"` // built, failed, skipped, refused
	Step    string `json:"step,omitempty"`
	Note    string `json:"note,omitempty"`
	// DurationMS is how long the package took to build.
	DurationMS int64 `json:"duration_ms,omitempty"`
}

// Outcome is how a job ends.
type Outcome struct {
	Status store.Status
	Title  string
	Text   string // intro of the check summary
	Result *Result
}

// Failed is the outcome of a job stopped by err before it built anything.
func Failed(title string, err error) Outcome {
	return Outcome{Status: store.StatusFailure, Title: title, Text: err.Error()}
}

// CountBuilt is how many of ps were built.
func CountBuilt(ps []PackageResult) int { return CountStatus(ps, "built") }

// CountStatus is how many of ps have status.
func CountStatus(ps []PackageResult, status string) int {
	n := 0
	for _, p := range ps {
		if p.Status == status {
			n++
		}
	}
	return n
}
