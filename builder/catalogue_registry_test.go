package builder

import (
	"context"
	"encoding/json"
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
}

func (l *lockedLister) ListTags(context.Context, string) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	return l.tags, nil
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
	waitRelease := func(want string) {
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
	waitRelease("24.10.7")
	l.set("x86_64-24.10.7", "x86_64-24.10.8")
	waitRelease("24.10.8")
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
