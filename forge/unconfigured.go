package forge

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotConfigured is what an Unconfigured forge returns from every call.
var ErrNotConfigured = errors.New("forge not configured")

// Unconfigured returns a Forge that refuses every call with a message naming the settings
// that would enable it: the app can route an event of a forge it has no credentials for (a
// GitLab webhook on a GitHub-only install) without nil checks.
func Unconfigured(name Name, settings string) Forge {
	return unconfigured{name: name, settings: settings}
}

type unconfigured struct {
	name     Name
	settings string
}

func (u unconfigured) err() error {
	return fmt.Errorf("%w: %s: set %s", ErrNotConfigured, u.name, u.settings)
}

func (u unconfigured) Name() Name { return u.name }
func (u unconfigured) ReportCheck(context.Context, Repo, Check) (string, error) {
	return "", u.err()
}
func (u unconfigured) Reply(context.Context, Repo, int, string) error          { return u.err() }
func (u unconfigured) React(context.Context, Repo, CommentRef, Reaction) error { return u.err() }
func (u unconfigured) ReadFile(context.Context, Repo, string, string) ([]byte, bool, error) {
	return nil, false, u.err()
}
func (u unconfigured) Pull(context.Context, Repo, int) (Pull, error) { return Pull{}, u.err() }
func (u unconfigured) CanTrigger(context.Context, Repo, User) (bool, error) {
	return false, u.err()
}
