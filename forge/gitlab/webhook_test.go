package gitlab_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/gitlab"
)

func TestWebhookHandler(t *testing.T) {
	push := forgetest.Payload(t, "gitlab/push.json")
	wh, err := gitlab.NewWebhook([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	inbox := forgetest.NewInbox()
	h := forge.NewWebhookHandler(wh, inbox, forge.WebhookConfig{Logger: slog.New(slog.DiscardHandler)})
	send := func(event, token, uuid, idem string, body []byte) int {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/gitlab", strings.NewReader(string(body)))
		r.Header = headers(event, uuid, idem)
		if token != "" {
			r.Header.Set(gitlab.HeaderToken, token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	steps := []struct {
		name                     string
		event, token, uuid, idem string
		body                     []byte
		status, stored           int
	}{
		{"no token", "Push Hook", "", "u1", "", push, http.StatusUnauthorized, 0},
		{"wrong token", "Push Hook", "s3cret ", "u1", "", push, http.StatusUnauthorized, 0},
		{"prefix of the token", "Push Hook", "s3c", "u1", "", push, http.StatusUnauthorized, 0},
		{"valid", "Push Hook", "s3cret", "u1", "", push, http.StatusAccepted, 1},
		{"same UUID again", "Push Hook", "s3cret", "u1", "", push, http.StatusOK, 1},
		{"retry keeps its Idempotency-Key, new UUID", "Push Hook", "s3cret", "u2", "k1", push, http.StatusAccepted, 2},
		{"retry of that", "Push Hook", "s3cret", "u3", "k1", push, http.StatusOK, 2},
		{"ignored", "Pipeline Hook", "s3cret", "u4", "", []byte(`{}`), http.StatusAccepted, 2},
		{"malformed", "Push Hook", "s3cret", "u5", "", []byte(`{"ref": 1}`), http.StatusBadRequest, 2},
	}
	for _, s := range steps {
		if got := send(s.event, s.token, s.uuid, s.idem, s.body); got != s.status {
			t.Errorf("%s: status %d, want %d", s.name, got, s.status)
		}
		if n := len(inbox.Events()); n != s.stored {
			t.Errorf("%s: %d events stored, want %d", s.name, n, s.stored)
		}
	}
}
