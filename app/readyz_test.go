package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// brokenStore fails to list repositories with an error that names an address.
type brokenStore struct{ store.Store }

func (brokenStore) ListRepositories(context.Context, store.RepositoryQuery) ([]store.Repository, error) {
	return nil, errors.New("dial tcp 10.1.2.3:6379: connect: connection refused")
}

// TestReadyzTellsThePublicLittle: a store that does not answer makes /readyz 503 with a short
// reason; the error itself, which names internal addresses, is only in the log.
func TestReadyzTellsThePublicLittle(t *testing.T) {
	var logs testenv.SyncBuffer
	h := newHarnessWith(t, t.TempDir(), func(_ *Config, d *Deps) {
		d.Store = brokenStore{d.Store}
		d.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	rec := httptest.NewRecorder()
	h.svc.Router(Handlers{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusServiceUnavailable || strings.TrimSpace(body) != "store not ready" {
		t.Fatalf("/readyz answered %d %q, want 503 and a short reason", rec.Code, body)
	}
	if !strings.Contains(logs.String(), "10.1.2.3:6379") {
		t.Fatalf("the detail is not in the log:\n%s", logs.String())
	}
}

// TestServerDropsSlowBodies: a client that sends its headers and then its body too slowly is
// cut off at the read timeout, not held open for as long as it likes.
func TestServerDropsSlowBodies(t *testing.T) {
	old := readTimeout
	readTimeout = 300 * time.Millisecond
	t.Cleanup(func() { readTimeout = old })
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(c) // returns when the server closes the connection
	if err != nil || time.Since(start) > 5*time.Second {
		t.Fatalf("the server held a stalled body for %s (%v)", time.Since(start), err)
	}
}
