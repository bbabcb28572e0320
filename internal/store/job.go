package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// Job builds one series and arch of a build.
type Job struct {
	ID      int64  `json:"id"`
	BuildID int64  `json:"build_id"`
	Series  string `json:"series"` // "24.10"
	Arch    string `json:"arch"`   // "x86_64"
	Image   string `json:"image"`  // the SDK image it runs in
	// ContentKey identifies what the job builds (repository, commit, series, arch, config):
	// a successful job with the same key has a result that can be reused.
	ContentKey string `json:"content_key"`
	Status     Status `json:"status"`
	CheckRunID string `json:"check_run_id"` // the forge's check run or commit status, once created
	// Result holds the per-package results, as the builder reports them.
	Result   json.RawMessage `json:"result,omitempty"`
	LogPath  string          `json:"log_path"` // relative to the data dir's logs/, empty once deleted
	Created  time.Time       `json:"created"`
	Started  time.Time       `json:"started"`
	Finished time.Time       `json:"finished"`
	Attempts int             `json:"attempts"`  // how many times a worker started it
	WorkerID string          `json:"worker_id"` // the worker that runs or ran it
}

// CheckJob reports ErrInvalid when j cannot be stored.
func CheckJob(j Job) error {
	if j.Series == "" || j.Arch == "" {
		return fmt.Errorf("job needs a series and an arch (got %q, %q): %w", j.Series, j.Arch, ErrInvalid)
	}
	if len(j.Result) > 0 && !json.Valid(j.Result) {
		return fmt.Errorf("job result is not valid JSON: %w", ErrInvalid)
	}
	return j.Status.Check()
}
