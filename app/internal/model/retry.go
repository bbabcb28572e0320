package model

import (
	"context"
	"errors"
	"time"
)

// RetryError marks a failure worth retrying the whole event for (nothing was created yet).
type RetryError struct{ Err error }

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// Retry marks err (nil stays nil) as worth retrying the whole event for.
func Retry(err error) error {
	if err == nil {
		return nil
	}
	return &RetryError{err}
}

// IsRetry reports whether err was marked by Retry.
func IsRetry(err error) bool {
	var rt *RetryError
	return errors.As(err, &rt)
}

// ErrAlreadyFinished stops a transition of a job another worker or event already ended.
var ErrAlreadyFinished = errors.New("job already finished")

// retryDelays are the pauses between tries of a step that must not be lost to a passing failure.
func retryDelays() []time.Duration {
	return []time.Duration{time.Second, 3 * time.Second, 9 * time.Second}
}

// Stop ends WithRetries at once with its error.
type Stop struct{ Err error }

func (b Stop) Error() string { return b.Err.Error() }
func (b Stop) Unwrap() error { return b.Err }

// WithRetries runs fn until it succeeds, returns a Stop, the tries run out, or ctx ends.
func WithRetries(ctx context.Context, fn func() error) error {
	err := fn()
	for _, d := range retryDelays() {
		if err == nil || errors.As(err, new(Stop)) || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		err = fn()
	}
	return err
}

// ReplayWindow is how long the inbox remembers a delivery (its id and its body's hash) to refuse
// it a second time; the janitor prunes events older than that. A delivery that says it was sent
// longer ago than this is refused outright, or a captured one could be replayed once forgotten.
const ReplayWindow = 30 * 24 * time.Hour
