package forge

import "errors"

// Sentinels a webhook parser wraps; Handler maps each to one HTTP status, in one place.
var (
	// ErrUnauthorized: the signature or token is missing or wrong (401).
	ErrUnauthorized = errors.New("webhook not authenticated")
	// ErrMalformed: the body is not the event its headers announce (400).
	ErrMalformed = errors.New("malformed webhook")
	// ErrIgnored matches every *IgnoredError (202, nothing stored).
	ErrIgnored = errors.New("event ignored")
)

// IgnoredError says a delivery was authentic and well-formed but asks nothing of the service
// (a comment without a command, a check_suite "requested" that duplicates the push…).
// Test with errors.Is(err, ErrIgnored).
type IgnoredError struct {
	Event  string // the forge's event name
	Reason string
}

func (e *IgnoredError) Error() string { return "ignored " + e.Event + " event: " + e.Reason }

// Is makes errors.Is(err, ErrIgnored) true.
func (e *IgnoredError) Is(target error) bool { return target == ErrIgnored }

// Ignore returns an *IgnoredError.
func Ignore(event, reason string) error { return &IgnoredError{Event: event, Reason: reason} }
