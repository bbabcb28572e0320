package gitlab_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/gitlab"
)

// BenchmarkWebhookDelivery: verified GitLab deliveries per second through the handler
// (constant-time token check, parse of a push (the project's own body), dedupe), each with a new event UUID.
func BenchmarkWebhookDelivery(b *testing.B) {
	push := forgetest.Payload(b, "gitlab/push.json")
	wh, _ := gitlab.NewWebhook([]byte("s3cret"))
	h := forge.NewWebhookHandler(wh, forgetest.NewInbox(), forge.WebhookConfig{Logger: slog.New(slog.DiscardHandler)})
	b.SetBytes(int64(len(push)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		r := httptest.NewRequest(http.MethodPost, "/webhooks/gitlab", bytes.NewReader(push))
		r.Header.Set(gitlab.HeaderEvent, "Push Hook")
		r.Header.Set(gitlab.HeaderToken, "s3cret")
		r.Header.Set(gitlab.HeaderEventUUID, strconv.Itoa(i))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
