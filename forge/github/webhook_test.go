package github_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/github"
)

var secret = []byte("It's a Secret to Everybody")

func sign(h func() hash.Hash, prefix string, key, body []byte) string {
	m := hmac.New(h, key)
	m.Write(body)
	return prefix + hex.EncodeToString(m.Sum(nil))
}

func delivery(body []byte, event, id, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/github", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(github.HeaderEvent, event)
	if id != "" {
		r.Header.Set(github.HeaderDelivery, id)
	}
	if sig != "" {
		r.Header.Set(github.HeaderSignature, sig)
	}
	return r
}

// formDelivery sends push the way a webhook set to application/x-www-form-urlencoded does;
// the signature covers the form body.
func formDelivery(push []byte) *http.Request {
	body := []byte("payload=" + url.QueryEscape(string(push)))
	r := delivery(body, "push", "f1", sign(sha256.New, "sha256=", secret, body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestWebhookHandler(t *testing.T) {
	t.Run("own", func(t *testing.T) {
		webhookHandler(t, forgetest.Payload(t, "github/push/branch-updated.json"), forgetest.Payload(t, "github/release/published.json"))
	})
	t.Run("shared", func(t *testing.T) {
		dir := forgetest.SharedTestdata(t, "webhooks", "github")
		webhookHandler(t, forgetest.ReadFile(t, filepath.Join(dir, "go-playground/push.json")),
			forgetest.ReadFile(t, filepath.Join(dir, "octokit/release/published.payload.json")))
	})
}

func webhookHandler(t *testing.T, push, release []byte) {
	good := sign(sha256.New, "sha256=", secret, push)

	wh, err := github.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		req    *http.Request
		fail   error
		status int
		stored int
	}{
		{name: "valid", req: delivery(push, "push", "d1", good), status: http.StatusAccepted, stored: 1},
		{name: "missing signature", req: delivery(push, "push", "d1", ""), status: http.StatusUnauthorized},
		{name: "wrong secret", req: delivery(push, "push", "d1", sign(sha256.New, "sha256=", []byte("guess"), push)), status: http.StatusUnauthorized},
		{name: "tampered body", req: delivery(append([]byte(" "), push...), "push", "d1", good), status: http.StatusUnauthorized},
		{name: "sha1 signature", req: delivery(push, "push", "d1", sign(sha1.New, "sha1=", secret, push)), status: http.StatusUnauthorized},
		{name: "sha256 digest under a sha1 label", req: delivery(push, "push", "d1", "sha1="+strings.TrimPrefix(good, "sha256=")), status: http.StatusUnauthorized},
		{name: "not hex", req: delivery(push, "push", "d1", "sha256=zz"), status: http.StatusUnauthorized},
		{name: "ignored event", req: delivery(release, "release", "d2", sign(sha256.New, "sha256=", secret, release)), status: http.StatusAccepted},
		{name: "malformed", req: delivery([]byte("{"), "push", "d3", sign(sha256.New, "sha256=", secret, []byte("{"))), status: http.StatusBadRequest},
		{name: "store down", req: delivery(push, "push", "d1", good), fail: errors.New("disk full"), status: http.StatusServiceUnavailable},
		{name: "form encoded", req: formDelivery(push), status: http.StatusAccepted, stored: 1},
		{name: "GET", req: httptest.NewRequest(http.MethodGet, "/webhooks/github", nil), status: http.StatusMethodNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inbox := forgetest.NewInbox()
			inbox.Fail = c.fail
			h := forge.NewWebhookHandler(wh, inbox, forge.WebhookConfig{Logger: discardLogger()})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, c.req)
			if rec.Code != c.status {
				t.Fatalf("status %d (%s), want %d", rec.Code, rec.Body, c.status)
			}
			if n := len(inbox.Events()); n != c.stored {
				t.Errorf("stored %d events, want %d", n, c.stored)
			}
		})
	}
}

func TestWebhookReplay(t *testing.T) {
	push := forgetest.Payload(t, "github/push/branch-updated.json")
	sig := sign(sha256.New, "sha256=", secret, push)
	wh, _ := github.NewWebhook(secret)
	inbox := forgetest.NewInbox()
	h := forge.NewWebhookHandler(wh, inbox, forge.WebhookConfig{Logger: discardLogger()})
	for i, want := range []int{http.StatusAccepted, http.StatusOK, http.StatusOK} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, delivery(push, "push", "72d3162e-cc78-11e3-81ab-4c9367dc0958", sig))
		if rec.Code != want {
			t.Fatalf("delivery %d: status %d, want %d", i, rec.Code, want)
		}
	}
	if n := len(inbox.Events()); n != 1 {
		t.Fatalf("a replayed delivery made %d events, want 1", n)
	}
	// A new delivery id is a new event, even with the same body (GitHub's "Redeliver" keeps the
	// id; a second push of the same commit does not).
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, delivery(push, "push", "another", sig))
	if rec.Code != http.StatusAccepted || len(inbox.Events()) != 2 {
		t.Fatalf("status %d, events %d", rec.Code, len(inbox.Events()))
	}
}

func TestWebhookTooLarge(t *testing.T) {
	wh, _ := github.NewWebhook(secret)
	inbox := forgetest.NewInbox()
	h := forge.NewWebhookHandler(wh, inbox, forge.WebhookConfig{MaxBody: 1024, Logger: discardLogger()})
	body := []byte(`{"ref":"` + strings.Repeat("x", 2000) + `"}`)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, delivery(body, "push", "big", sign(sha256.New, "sha256=", secret, body)))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", rec.Code)
	}
}

func TestNewWebhookRefusesEmptySecret(t *testing.T) {
	if _, err := github.NewWebhook(nil); err == nil {
		t.Fatal("an empty secret would accept unsigned deliveries")
	}
}
