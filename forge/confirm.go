package forge

import (
	"context"
	"errors"
	"fmt"
)

// Confirmer is the optional capability of re-reading from the forge's API what a delivery
// claims, for forges whose webhooks are not signed per repository (GitLab's token is one
// secret for many projects, so whoever knows it can write any body). The service calls it
// before it builds anything on the delivery's word.
type Confirmer interface {
	// Confirm returns ev with what the API says in place of what the delivery said (project
	// ids, fork or not, the head commit, the note's author), or an error: one that wraps
	// ErrUnconfirmed when the API contradicts the delivery in a way that cannot be corrected
	// (drop the event; retrying will not help), any other when the forge could not be asked
	// (retry later). Events it has nothing to confirm come back unchanged.
	Confirm(ctx context.Context, ev Event) (Event, error)
}

// ErrUnconfirmed matches every *UnconfirmedError.
var ErrUnconfirmed = errors.New("the forge does not confirm the delivery")

// UnconfirmedError says what the forge's API contradicted.
type UnconfirmedError struct {
	What      string // "merge request", "note author", …
	Delivered string // what the delivery said
	Forge     string // what the API says
}

func (e *UnconfirmedError) Error() string {
	return fmt.Sprintf("%v: %s is %q on the forge, the delivery said %q", ErrUnconfirmed, e.What, e.Forge, e.Delivered)
}

// Is makes errors.Is(err, ErrUnconfirmed) true.
func (e *UnconfirmedError) Is(target error) bool { return target == ErrUnconfirmed }
