package store

import (
	"context"
	"fmt"
)

// ClaimCheckRun records id as job jobID's check run unless the job has one already, and
// returns the job's check run id after the call: id when this caller won, the first
// reporter's otherwise. Two reporters of one job (the service's "queued" and a worker's "in
// progress", which can race in Redis mode) thus agree on one check run; the loser updates the
// winner's and closes the one it made. It rests on UpdateJob's atomicity, so it is one
// read-modify-write in every implementation. An empty id is ErrInvalid; a missing job
// ErrNotFound.
func ClaimCheckRun(ctx context.Context, s JobStore, jobID int64, id string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("claiming a check run for job %d: empty id: %w", jobID, ErrInvalid)
	}
	j, err := s.UpdateJob(ctx, jobID, func(j *Job) error {
		if j.CheckRunID == "" {
			j.CheckRunID = id
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("claiming a check run for job %d: %w", jobID, err)
	}
	return j.CheckRunID, nil
}
