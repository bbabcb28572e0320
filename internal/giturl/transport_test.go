package giturl

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// The dial-time check holds whatever the name resolved to when it was registered: a client of
// a policy that refuses loopback never connects there, by address or by name.
func TestHTTPClientChecksAtDial(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	byName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	for _, u := range []string{srv.URL, byName} {
		_, err := Policy{}.HTTPClient(nil).Get(u)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "loopback") {
			t.Fatalf("GET %s = %v, want the loopback refusal", u, err)
		}
	}
	if hits != 0 {
		t.Fatalf("the server was reached %d times", hits)
	}
	resp, err := Policy{AllowPrivate: true}.HTTPClient(nil).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hits != 1 {
		t.Fatalf("allowed policy: %d hits", hits)
	}
}

func TestRedirectOnlyToSameHost(t *testing.T) {
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the other host was reached")
	}))
	defer other.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/end", http.StatusFound)
		case "/away":
			http.Redirect(w, r, other.URL+"/end", http.StatusFound)
		}
	}))
	defer srv.Close()
	c := Policy{AllowPrivate: true}.HTTPClient(srv.Client().Transport.(*http.Transport).TLSClientConfig)
	resp, err := c.Get(srv.URL + "/same")
	if err != nil {
		t.Fatalf("a redirect on the same host: %v", err)
	}
	resp.Body.Close()
	_, err = c.Get(srv.URL + "/away")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "another host") {
		t.Fatalf("redirect away = %v, want the same-host refusal", err)
	}
}

// ls-remote of a real git server through the checked transport.
func TestTransportListsRefs(t *testing.T) {
	gs := testenv.StartGitServerTLS(t)
	sha := gs.Commit(t, "alice/pkgs", "main", map[string]string{"README": "x"})
	list := func(p Policy) (string, error) {
		raw, err := Rewrite(gs.RepoURL("alice/pkgs"))
		if err != nil {
			return "", err
		}
		ep, err := transport.NewEndpoint(raw)
		if err != nil {
			return "", err
		}
		sess, err := p.Transports(gs.TLS)[HTTPSScheme].NewUploadPackSession(ep, nil)
		if err != nil {
			return "", err
		}
		defer sess.Close()
		adv, err := sess.AdvertisedReferences()
		if err != nil {
			return "", err
		}
		return adv.References["refs/heads/main"].String(), nil
	}
	got, err := list(Policy{AllowPrivate: true})
	if err != nil || got != sha {
		t.Fatalf("refs/heads/main = %q, %v; want %s", got, err, sha)
	}
	if _, err := list(Policy{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("listing a loopback server under the strict policy: %v", err)
	}
	if _, err := (Policy{AllowPrivate: true}).Transports(nil)[HTTPSScheme].NewReceivePackSession(nil, nil); err == nil {
		t.Fatal("a push session was opened")
	}
}
