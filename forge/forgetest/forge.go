package forgetest

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// Forge is an in-memory forge.Forge for tests of the service's logic: it keeps checks, replies
// and reactions, answers permissions, files and pulls from its maps, and records each call as
// a line ("ReportCheck openwrt-ppa: 24.10/x86_64 queued"). Set Err to make every call fail.
type Forge struct {
	mu        sync.Mutex
	NameValue forge.Name
	Writers   map[string]bool        // logins that may trigger builds
	Files     map[string][]byte      // "sha:path"
	Pulls     map[int]forge.Pull     // by number
	Checks    map[string]forge.Check // by id, as last reported
	Reports   []forge.Check          // every report, in order, with its id
	Replies   []string
	Reactions []forge.Reaction
	Err       error
	ReadErr   error // makes ReadFile alone fail (a forge that cannot be reached for a moment)
	calls     []string
	nextID    int
}

var _ forge.Forge = (*Forge)(nil)

// NewForge returns an empty fake of the named forge.
func NewForge(name forge.Name) *Forge {
	return &Forge{NameValue: name, Writers: map[string]bool{}, Files: map[string][]byte{},
		Pulls: map[int]forge.Pull{}, Checks: map[string]forge.Check{}}
}

// Calls returns the calls made so far, one line each.
func (f *Forge) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *Forge) record(format string, args ...any) error {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	return f.Err
}

// Name returns NameValue.
func (f *Forge) Name() forge.Name { return f.NameValue }

// ReportCheck keeps c under its id, assigning one when c.ID is empty.
func (f *Forge) ReportCheck(_ context.Context, _ forge.Repo, c forge.Check) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ReportCheck %s %s", c.Name, c.State); err != nil {
		return "", err
	}
	if c.ID == "" {
		f.nextID++
		c.ID = strconv.Itoa(f.nextID)
	}
	f.Checks[c.ID] = c
	f.Reports = append(f.Reports, c)
	return c.ID, nil
}

// Reply keeps body.
func (f *Forge) Reply(_ context.Context, _ forge.Repo, number int, body string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Reply #%d", number); err != nil {
		return err
	}
	f.Replies = append(f.Replies, body)
	return nil
}

// React keeps r.
func (f *Forge) React(_ context.Context, _ forge.Repo, c forge.CommentRef, r forge.Reaction) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("React %d %s", c.ID, r); err != nil {
		return err
	}
	f.Reactions = append(f.Reactions, r)
	return nil
}

// ReadFile answers from Files.
func (f *Forge) ReadFile(_ context.Context, _ forge.Repo, sha, path string) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("ReadFile %s %s", sha, path); err != nil {
		return nil, false, err
	}
	if f.ReadErr != nil {
		return nil, false, f.ReadErr
	}
	data, ok := f.Files[sha+":"+path]
	return data, ok, nil
}

// Pull answers from Pulls.
func (f *Forge) Pull(_ context.Context, _ forge.Repo, number int) (forge.Pull, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Pull #%d", number); err != nil {
		return forge.Pull{}, err
	}
	p, ok := f.Pulls[number]
	if !ok {
		return forge.Pull{}, fmt.Errorf("forgetest: no pull request #%d", number)
	}
	return p, nil
}

// CanTrigger answers from Writers.
func (f *Forge) CanTrigger(_ context.Context, _ forge.Repo, u forge.User) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("CanTrigger %s", u.Login); err != nil {
		return false, err
	}
	return f.Writers[u.Login], nil
}

// SetReadErr makes ReadFile fail with err (nil: answer again), safely while the service runs.
func (f *Forge) SetReadErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ReadErr = err
}

// Snapshot returns copies of the reports, replies and reactions so far.
func (f *Forge) Snapshot() ([]forge.Check, []string, []forge.Reaction) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]forge.Check(nil), f.Reports...), append([]string(nil), f.Replies...), append([]forge.Reaction(nil), f.Reactions...)
}
