package forge_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// acceptAll verifies everything and makes a push of each body: the handler's own limits are
// under test.
type acceptAll struct{}

func (acceptAll) Verify(http.Header, []byte) error { return nil }
func (acceptAll) Parse(h http.Header, body []byte) (*forge.Event, error) {
	return &forge.Event{Forge: "test", DeliveryID: h.Get("X-Id"), Kind: forge.KindPush}, nil
}

type countingInbox struct {
	mu sync.Mutex
	n  int
}

func (c *countingInbox) Put(context.Context, *forge.Event) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return false, nil
}

// Bodies are buffered whole before the signature check: no more than MaxReading at once,
// whoever sends slowly. Those over the bound are answered 503 with Retry-After, and none is
// lost once slots are free again.
func TestWebhookBoundsBodiesBeingRead(t *testing.T) {
	inbox := &countingInbox{}
	h := forge.NewWebhookHandler(acceptAll{}, inbox, forge.WebhookConfig{MaxReading: 2, ReadingWait: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	// Two slow senders take both slots: each has sent one byte and holds the rest back.
	var writers []*io.PipeWriter
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		r := httptest.NewRequest(http.MethodPost, "/hook", pr)
		r.Header.Set("X-Id", "slow"+string(rune('0'+i)))
		wg.Go(func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			codes[i] = rec.Code
		})
		if _, err := pw.Write([]byte("{")); err != nil { // returns once the handler reads
			t.Fatal(err)
		}
	}
	send := func(id string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("{}"))
		r.Header.Set("X-Id", id)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	rec := send("third")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("third delivery while two are read: %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	for _, w := range writers {
		_, _ = w.Write([]byte("}"))
		_ = w.Close()
	}
	wg.Wait()
	if codes[0] != http.StatusAccepted || codes[1] != http.StatusAccepted {
		t.Fatalf("slow deliveries answered %v, want 202", codes)
	}
	if rec := send("fourth"); rec.Code != http.StatusAccepted {
		t.Fatalf("a delivery after the slots freed: %d, want 202", rec.Code)
	}
	if inbox.n != 3 {
		t.Fatalf("%d events stored, want 3 (the turned-away one is the forge's to retry)", inbox.n)
	}
}

// A delivery that waits for a slot gets it when one frees within ReadingWait.
func TestWebhookWaitsBrieflyForASlot(t *testing.T) {
	inbox := &countingInbox{}
	h := forge.NewWebhookHandler(acceptAll{}, inbox, forge.WebhookConfig{MaxReading: 1, ReadingWait: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hook", pr))
		done <- rec.Code
	}()
	if _, err := pw.Write([]byte("{")); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = pw.Write([]byte("}"))
		_ = pw.Close()
	}()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader("{}")))
	if rec.Code != http.StatusAccepted || <-done != http.StatusAccepted {
		t.Fatalf("waiting delivery: %d", rec.Code)
	}
}
