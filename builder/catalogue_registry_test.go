package builder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRegistryTagsFollowsTheTokenFlow: a registry that answers 401 with a bearer realm, as
// ghcr.io does for public images, gets an anonymous token from the realm and the tag list with
// it, over every page.
func TestRegistryTagsFollowsTheTokenFlow(t *testing.T) {
	var srv *httptest.Server
	var mu sync.Mutex
	var asked []string
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		switch {
		case r.URL.Path == "/token":
			if r.Header.Get("Authorization") != "" || r.URL.Query().Get("scope") != "repository:openwrt/sdk:pull" {
				http.Error(w, "want an anonymous pull token", http.StatusBadRequest)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"token": "anon-123"})
		case r.Header.Get("Authorization") != "Bearer anon-123":
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="test-registry",scope="repository:openwrt/sdk:pull"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case r.URL.Path == "/v2/openwrt/sdk/tags/list" && r.URL.Query().Get("last") == "":
			w.Header().Set("Link", `</v2/openwrt/sdk/tags/list?n=2&last=x86_64-24.10.6>; rel="next"`)
			_ = json.NewEncoder(w).Encode(map[string]any{"name": "openwrt/sdk", "tags": []string{"x86_64-24.10.5", "x86_64-24.10.6"}})
		case r.URL.Path == "/v2/openwrt/sdk/tags/list":
			_ = json.NewEncoder(w).Encode(map[string]any{"name": "openwrt/sdk", "tags": []string{"x86_64-v24.10.7"}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	repo := strings.TrimPrefix(srv.URL, "http://") + "/openwrt/sdk"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tags, err := RegistryTags{}.ListTags(ctx, repo)
	if err != nil {
		t.Fatalf("listing through the token flow: %v (asked %v)", err, asked)
	}
	if strings.Join(tags, " ") != "x86_64-24.10.5 x86_64-24.10.6 x86_64-v24.10.7" {
		t.Errorf("tags %v, want both pages", tags)
	}
	if !strings.Contains(strings.Join(asked, " "), "/token?") {
		t.Errorf("no token was asked for: %v", asked)
	}
}

// lockedLister is a TagLister a test changes while Run reads it.
type lockedLister struct {
	mu    sync.Mutex
	tags  []string
	calls int
	fails int         // how many calls to come fail, as an unreachable registry does
	at    []time.Time // when each call came
}

func (l *lockedLister) ListTags(ctx context.Context, _ string) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	l.at = append(l.at, time.Now())
	if l.fails > 0 {
		l.fails--
		return nil, errors.New("dial tcp: connect: network is unreachable")
	}
	return l.tags, ctx.Err()
}

func (l *lockedLister) set(tags ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tags = tags
}

// TestCatalogueSourceRunFollowsTheRegistry: Run asks at once and then every interval, so a point
// release pushed while the service runs is planned with, without a restart; it stops with ctx.
func TestCatalogueSourceRunFollowsTheRegistry(t *testing.T) {
	base, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	l := &lockedLister{tags: []string{"x86_64-24.10.7"}}
	src := NewCatalogueSource(base, "", l, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); src.Run(ctx, 20*time.Millisecond) }()
	waitRelease(t, src, "24.10.7")
	l.set("x86_64-24.10.7", "x86_64-24.10.8")
	waitRelease(t, src, "24.10.8")
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
	l.mu.Lock()
	n := l.calls
	l.mu.Unlock()
	time.Sleep(60 * time.Millisecond)
	if l.mu.Lock(); l.calls != n {
		t.Errorf("Run still asks the registry after its context ended (%d, then %d calls)", n, l.calls)
	}
	l.mu.Unlock()
}

// waitRelease waits until src plans 24.10 x86_64 with release want.
func waitRelease(t *testing.T, src *CatalogueSource, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		img, _ := src.Current().Image("24.10", "x86_64", ImageOptions{})
		if img.Release == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("release %s, want %s", img.Release, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCatalogueSourceRunRetriesAFailureSoon: a registry unreachable when the service starts is
// asked again soon, not a refresh interval (a day) later, with each wait twice the last; once it
// answers, its newest point release is planned with.
func TestCatalogueSourceRunRetriesAFailureSoon(t *testing.T) {
	base, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	l := &lockedLister{tags: []string{"x86_64-24.10.9"}, fails: 3}
	src := NewCatalogueSource(base, "", l, nil)
	src.firstRetry = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); src.Run(ctx, time.Hour) }()
	defer func() { cancel(); <-done }()
	waitRelease(t, src, "24.10.9")
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.at) != 4 {
		t.Fatalf("%d calls, want 3 failures and 1 answer", len(l.at))
	}
	// Timers never fire early, so each gap is at least its wait: 20ms, 40ms, 80ms.
	for i, want := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond} {
		if gap := l.at[i+1].Sub(l.at[i]); gap < want {
			t.Errorf("retry %d came after %v, want at least %v (doubling)", i+1, gap, want)
		}
	}
}

func TestNextRetry(t *testing.T) {
	for _, c := range []struct {
		prev, limit, want time.Duration
	}{
		{0, 24 * time.Hour, time.Minute},
		{time.Minute, 24 * time.Hour, 2 * time.Minute},
		{16 * time.Hour, 24 * time.Hour, 24 * time.Hour},
		{24 * time.Hour, 24 * time.Hour, 24 * time.Hour},
		{0, 300 * time.Millisecond, 300 * time.Millisecond}, // an interval below a minute is the cap
	} {
		if got := nextRetry(c.prev, CatalogueRetry, c.limit); got != c.want {
			t.Errorf("nextRetry(%v, limit %v) = %v, want %v", c.prev, c.limit, got, c.want)
		}
	}
}

// TestCatalogueRefreshFailureSaysWhatIsInUse: the warning of a failed refresh names the table
// planned with (the embedded one, or the registry's last answer) and its releases; a refresh cut
// short by shutdown logs and records nothing.
func TestCatalogueRefreshFailureSaysWhatIsInUse(t *testing.T) {
	base, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	l := &lockedLister{tags: []string{"x86_64-24.10.9"}, fails: 1}
	src := NewCatalogueSource(base, "", l, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()
	if err := src.Refresh(ctx); err == nil {
		t.Fatal("a failing registry refreshed")
	}
	if out := logs.String(); !strings.Contains(out, `in_use="embedded table"`) || !strings.Contains(out, "releases=\"23.05=23.05.5 24.10=24.10.6 ") {
		t.Errorf("the warning does not name the embedded table and its releases:\n%s", out)
	}
	if err := src.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	l.fails = 1
	if err := src.Refresh(ctx); err == nil {
		t.Fatal("a failing registry refreshed")
	}
	if out := logs.String(); !strings.Contains(out, `in_use="last answer of `) || !strings.Contains(out, "24.10=24.10.6,24.10.9") {
		t.Errorf("the warning does not name the last answer and its releases:\n%s", out)
	}
	if err := src.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := src.Refresh(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled refresh returned %v, want context.Canceled", err)
	}
	if err := src.Status().Err; err != nil || logs.Len() > 0 {
		t.Errorf("a refresh cut short by shutdown was taken for a failure: status %v, log:\n%s", err, logs.String())
	}
}

// lateLister answers once release is closed (never, if it is not), after telling asked.
type lateLister struct {
	asked   chan struct{}
	release chan struct{}
	tags    []string
}

func (l *lateLister) ListTags(ctx context.Context, _ string) ([]string, error) {
	close(l.asked)
	select {
	case <-l.release:
		return l.tags, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestCatalogueFirstAnswerIsWaitedFor: a job planned while serve starts, before the registry's
// first answer, is planned with the registry's release (the embedded table's may be missing from
// a mirror); a registry that never answers holds planning up for FirstWait only, and then the
// embedded table is used.
func TestCatalogueFirstAnswerIsWaitedFor(t *testing.T) {
	base, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		answers   bool
		firstWait time.Duration
		want      string
	}{
		{"late answer", true, time.Minute, "24.10.9"},
		{"no answer", false, 150 * time.Millisecond, "24.10.6"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := &lateLister{asked: make(chan struct{}), release: make(chan struct{}), tags: []string{"x86_64-24.10.9"}}
			src := NewCatalogueSource(base, "", l, nil)
			src.FirstWait = c.firstWait
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			src.AwaitFirst()
			go func() { defer close(done); src.Run(ctx, time.Hour) }()
			defer func() { cancel(); <-done }()
			<-l.asked
			start := time.Now()
			got := make(chan string, 1)
			go func() {
				img, _ := src.Current().Image("24.10", "x86_64", ImageOptions{})
				got <- img.Release
			}()
			if c.answers {
				select {
				case r := <-got:
					t.Fatalf("planned with %s before the registry answered", r)
				case <-time.After(50 * time.Millisecond):
				}
				close(l.release)
			}
			select {
			case r := <-got:
				if r != c.want {
					t.Errorf("planned with %s, want %s", r, c.want)
				}
				if took := time.Since(start); !c.answers && took < c.firstWait-10*time.Millisecond {
					t.Errorf("planning waited %v for a registry that never answers, want about %v", took, c.firstWait)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("planning still waits for the registry after 10 s")
			}
		})
	}
}

// TestCatalogueShutdownEndsTheWait: a serve that stops before the registry's first answer does
// not leave planning waiting out FirstWait.
func TestCatalogueShutdownEndsTheWait(t *testing.T) {
	base, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	l := &lateLister{asked: make(chan struct{}), release: make(chan struct{})}
	src := NewCatalogueSource(base, "", l, nil)
	src.FirstWait = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); src.Run(ctx, time.Hour) }()
	<-l.asked
	cancel()
	<-done
	got := make(chan string, 1)
	go func() {
		img, _ := src.Current().Image("24.10", "x86_64", ImageOptions{})
		got <- img.Release
	}()
	select {
	case r := <-got:
		if r != "24.10.6" {
			t.Errorf("after Run ended planned with %s, want the embedded 24.10.6", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("planning still waits for the first answer after Run ended")
	}
}

// TestCatalogueSourceNotRunNeverWaits: with the refresh off (Run never started) planning uses the
// embedded table at once, however long FirstWait is.
func TestCatalogueSourceNotRunNeverWaits(t *testing.T) {
	base, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	src := NewCatalogueSource(base, "", &lateLister{}, nil)
	src.FirstWait = time.Hour
	start := time.Now()
	if img, _ := src.Current().Image("24.10", "x86_64", ImageOptions{}); img.Release != "24.10.6" || time.Since(start) > time.Second {
		t.Errorf("planned with %s after %v, want the embedded 24.10.6 at once", img.Release, time.Since(start))
	}
}

// TestCatalogueStatus: Status tells what the last refresh came to and what is planned with: the
// embedded table until the registry answers, its last answer after, kept through a failure.
func TestCatalogueStatus(t *testing.T) {
	base, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	l := &lockedLister{tags: []string{"x86_64-24.10.9"}, fails: 1}
	src := NewCatalogueSource(base, "", l, nil)
	ctx := context.Background()
	before := time.Now()
	check := func(step string, okSet, failed bool, inUse, releases string) {
		t.Helper()
		st := src.Status()
		if st.LastOK.IsZero() == okSet || (okSet && st.LastOK.Before(before)) {
			t.Errorf("%s: last success %v", step, st.LastOK)
		}
		if (st.Err != nil) != failed || failed && (!strings.Contains(st.Err.Error(), "network is unreachable") || !strings.Contains(st.Err.Error(), "--registry")) {
			t.Errorf("%s: error %v, want one (saying why and what to do): %v", step, st.Err, failed)
		}
		if !strings.HasPrefix(st.InUse, inUse) || !strings.Contains(st.Releases, releases) {
			t.Errorf("%s: in use %q, releases %q; want %q…, …%q…", step, st.InUse, st.Releases, inUse, releases)
		}
	}
	check("before any refresh", false, false, "embedded table", "24.10=24.10.6 ")
	_ = src.Refresh(ctx)
	check("after a failure", false, true, "embedded table", "24.10=24.10.6 ")
	_ = src.Refresh(ctx)
	check("after an answer", true, false, "last answer of ", "24.10=24.10.6,24.10.9")
	l.mu.Lock()
	l.fails = 1
	l.mu.Unlock()
	_ = src.Refresh(ctx)
	check("after a later failure", true, true, "last answer of ", "24.10=24.10.6,24.10.9")
}
