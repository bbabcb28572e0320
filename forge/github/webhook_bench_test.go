package github_test

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/github"
)

// BenchmarkWebhookDelivery measures verified deliveries per second through the handler: HMAC
// check, parse of a 5 KB push (the project's own body) and the inbox's dedupe, each delivery with a new id. The
// issue's target is ≥ 2,000/s.
func BenchmarkWebhookDelivery(b *testing.B) {
	push := forgetest.Payload(b, "github/push/branch-updated.json")
	sig := sign(sha256.New, "sha256=", secret, push)
	wh, _ := github.NewWebhook(secret)
	h := forge.NewWebhookHandler(wh, forgetest.NewInbox(), forge.WebhookConfig{Logger: discardLogger()})
	b.SetBytes(int64(len(push)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		r := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(push))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(github.HeaderEvent, "push")
		r.Header.Set(github.HeaderDelivery, strconv.Itoa(i))
		r.Header.Set(github.HeaderSignature, sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkWebhookDeliveryParallel: the same from as many goroutines as GOMAXPROCS, as
// concurrent deliveries arrive.
func BenchmarkWebhookDeliveryParallel(b *testing.B) {
	push := forgetest.Payload(b, "github/push/branch-updated.json")
	sig := sign(sha256.New, "sha256=", secret, push)
	wh, _ := github.NewWebhook(secret)
	h := forge.NewWebhookHandler(wh, forgetest.NewInbox(), forge.WebhookConfig{Logger: discardLogger()})
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(push))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set(github.HeaderEvent, "push")
			r.Header.Set(github.HeaderDelivery, strconv.FormatInt(n.Add(1), 10))
			r.Header.Set(github.HeaderSignature, sig)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != http.StatusAccepted {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
