package forgetest

import (
	"fmt"
	"strings"
	"sync"
)

// Call is one request a fake API received.
type Call struct {
	Method string
	Path   string // unescaped path
	Query  string
	Auth   string // the Authorization header (GitHub) or PRIVATE-TOKEN (GitLab)
	Body   []byte
	Status int // what the fake answered
}

// String is "METHOD /path", the form call sequences are asserted in.
func (c Call) String() string { return c.Method + " " + c.Path }

// recorder keeps the calls a fake received, in order.
type recorder struct {
	mu       sync.Mutex
	calls    []Call
	watchers []func(Call)
}

func (r *recorder) add(c Call) {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	watchers := r.watchers
	r.mu.Unlock()
	for _, w := range watchers {
		w(c)
	}
}

// Watch makes the fake call fn with every request it records from now on, as it records it
// (after answering it, before sending the answer), so a test or benchmark can wait for a call
// or time it. fn runs on the request's goroutine: it must be quick and safe for concurrent use.
func (r *recorder) Watch(fn func(Call)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watchers = append(r.watchers[:len(r.watchers):len(r.watchers)], fn)
}

// Calls returns every request received so far.
func (r *recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Sequence returns the received calls as "METHOD /path" lines.
func (r *recorder) Sequence() []string {
	var out []string
	for _, c := range r.Calls() {
		out = append(out, c.String())
	}
	return out
}

// Reset forgets the calls received so far.
func (r *recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

// DiffSequence returns "" when got equals want, else a readable account of the difference.
func DiffSequence(got, want []string) string {
	if strings.Join(got, "\n") == strings.Join(want, "\n") {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "call sequence differs\n got (%d):\n", len(got))
	for _, g := range got {
		fmt.Fprintf(&b, "  %s\n", g)
	}
	fmt.Fprintf(&b, " want (%d):\n", len(want))
	for _, w := range want {
		fmt.Fprintf(&b, "  %s\n", w)
	}
	return b.String()
}
