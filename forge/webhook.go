package forge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// DefaultMaxBody is the largest webhook body accepted: GitHub caps payloads at 25 MB.
const DefaultMaxBody = 25 << 20

// DefaultMaxReading is how many webhook bodies a handler reads at once by default: with
// DefaultMaxBody that bounds the memory bodies take to 1.6 GiB however many arrive.
const DefaultMaxReading = 64

// DefaultReadingWait is how long a delivery waits for a free slot before it is turned away.
const DefaultReadingWait = 2 * time.Second

// ErrBusy: the handler is reading as many bodies as it may (503 with Retry-After).
var ErrBusy = errors.New("too many webhook deliveries at once")

// Inbox is where the service keeps accepted events; the app supplies it.
type Inbox interface {
	// Put stores ev durably before returning, unless an event with the same ev.Forge and
	// ev.DeliveryID was stored before: then it stores nothing and returns duplicate=true. The
	// check and the store must be one atomic step (an INSERT … ON CONFLICT DO NOTHING, a Redis
	// SET NX), so that two concurrent redeliveries make one event. An error means ev was not
	// stored: the handler answers 503 and the forge delivers again later.
	Put(ctx context.Context, ev *Event) (duplicate bool, err error)
}

// InboxFunc adapts a function to Inbox.
type InboxFunc func(ctx context.Context, ev *Event) (bool, error)

// Put calls f.
func (f InboxFunc) Put(ctx context.Context, ev *Event) (bool, error) { return f(ctx, ev) }

// WebhookParser is a driver's half of a webhook: network-free, working on bytes.
type WebhookParser interface {
	// Verify checks the delivery's signature or token in constant time; its error wraps
	// ErrUnauthorized. It runs before anything in the body is read.
	Verify(h http.Header, body []byte) error
	// Parse turns a verified delivery into an Event. Its error is an *IgnoredError for events
	// the service does not act on, and wraps ErrMalformed otherwise.
	Parse(h http.Header, body []byte) (*Event, error)
}

// ContextVerifier is a WebhookParser whose check needs I/O (GitLab's per-project secrets are
// looked up in the store); the handler calls VerifyContext with the request's context instead
// of Verify. An error that does not wrap ErrUnauthorized means the check could not be made:
// the handler answers 503 and the forge delivers again.
type ContextVerifier interface {
	VerifyContext(ctx context.Context, h http.Header, body []byte) error
}

// WebhookConfig tunes a WebhookHandler. The zero value is usable.
type WebhookConfig struct {
	MaxBody int64 // bytes; 0 means DefaultMaxBody
	// MaxReading bounds the bodies read and held at once (each up to MaxBody, buffered
	// whole before the signature check); 0 means DefaultMaxReading. A delivery that finds
	// no slot within ReadingWait (0: DefaultReadingWait) is answered 503 with Retry-After.
	MaxReading  int
	ReadingWait time.Duration
	Logger      *slog.Logger // nil means slog.Default()
}

// WebhookHandler answers a forge's webhook deliveries:
//
//	405 not POST · 413 body over the cap · 401 bad or missing signature/token ·
//	400 malformed · 202 ignored (nothing stored) · 503 the inbox (or the secrets a
//	ContextVerifier looks up) failed, or too many bodies are being read (the forge retries) ·
//	200 a delivery seen before (nothing stored again) · 202 stored.
//
// The order is verify → parse → Inbox.Put → answer, so a 202 always means "stored durably".
type WebhookHandler struct {
	parser  WebhookParser
	inbox   Inbox
	maxBody int64
	reading chan struct{} // a slot per body being read and handled
	wait    time.Duration
	log     *slog.Logger
}

// NewWebhookHandler returns the http.Handler for one forge's webhook route.
func NewWebhookHandler(p WebhookParser, inbox Inbox, cfg WebhookConfig) *WebhookHandler {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxReading <= 0 {
		cfg.MaxReading = DefaultMaxReading
	}
	if cfg.ReadingWait <= 0 {
		cfg.ReadingWait = DefaultReadingWait
	}
	return &WebhookHandler{parser: p, inbox: inbox, maxBody: cfg.MaxBody, log: cfg.Logger,
		reading: make(chan struct{}, cfg.MaxReading), wait: cfg.ReadingWait}
}

// Outcome is what Receive decided for a delivery.
type Outcome struct {
	Status int    // the HTTP status to answer
	Event  *Event // set when stored (202) or seen before (200)
	Err    error  // why, when the status is no success
}

func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "webhooks are POSTed", http.StatusMethodNotAllowed)
		return
	}
	out := h.Receive(r.Context(), r.Header, http.MaxBytesReader(w, r.Body, h.maxBody))
	msg := http.StatusText(out.Status)
	switch {
	case errors.Is(out.Err, ErrBusy):
		w.Header().Set("Retry-After", "5")
		msg = out.Err.Error()
	case out.Status == http.StatusServiceUnavailable:
		// Keep the store's error in our log, not in the forge's delivery page.
		w.Header().Set("Retry-After", "30")
	case out.Err != nil:
		msg = out.Err.Error()
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(out.Status)
	_, _ = io.WriteString(w, msg+"\n")
}

// Receive runs one delivery through verify → parse → store and says what to answer. The app
// may call it directly when it routes webhooks itself.
func (h *WebhookHandler) Receive(ctx context.Context, hdr http.Header, body io.Reader) Outcome {
	if !h.acquire(ctx) {
		return h.done(Outcome{Status: http.StatusServiceUnavailable, Err: fmt.Errorf("%w: retry later", ErrBusy)})
	}
	defer func() { <-h.reading }()
	raw, err := io.ReadAll(io.LimitReader(body, h.maxBody+1))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return h.done(Outcome{Status: http.StatusRequestEntityTooLarge, Err: fmt.Errorf("webhook body over %d bytes", h.maxBody)})
		}
		return h.done(Outcome{Status: http.StatusBadRequest, Err: fmt.Errorf("reading webhook body: %w", err)})
	}
	if int64(len(raw)) > h.maxBody {
		return h.done(Outcome{Status: http.StatusRequestEntityTooLarge, Err: fmt.Errorf("webhook body over %d bytes", h.maxBody)})
	}
	if err := h.verify(ctx, hdr, raw); err != nil {
		if !errors.Is(err, ErrUnauthorized) {
			return h.done(Outcome{Status: http.StatusServiceUnavailable, Err: err})
		}
		return h.done(Outcome{Status: http.StatusUnauthorized, Err: err})
	}
	ev, err := h.parser.Parse(hdr, raw)
	switch {
	case errors.Is(err, ErrIgnored):
		return h.done(Outcome{Status: http.StatusAccepted, Err: err})
	case err != nil:
		return h.done(Outcome{Status: http.StatusBadRequest, Err: err})
	}
	sum := sha256.Sum256(raw)
	ev.BodySHA256 = hex.EncodeToString(sum[:])
	dup, err := h.inbox.Put(ctx, ev)
	switch {
	case err != nil:
		return h.done(Outcome{Status: http.StatusServiceUnavailable, Event: ev, Err: fmt.Errorf("storing %s delivery %s: %w", ev.Forge, ev.DeliveryID, err)})
	case dup:
		return h.done(Outcome{Status: http.StatusOK, Event: ev})
	}
	return h.done(Outcome{Status: http.StatusAccepted, Event: ev})
}

// acquire takes a reading slot, waiting up to h.wait for one.
func (h *WebhookHandler) acquire(ctx context.Context) bool {
	select {
	case h.reading <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.reading <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func (h *WebhookHandler) verify(ctx context.Context, hdr http.Header, raw []byte) error {
	if cv, ok := h.parser.(ContextVerifier); ok {
		return cv.VerifyContext(ctx, hdr, raw)
	}
	err := h.parser.Verify(hdr, raw)
	if err != nil && !errors.Is(err, ErrUnauthorized) {
		// A Verify without I/O has no "could not check": whatever it says is a refusal.
		err = fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return err
}

func (h *WebhookHandler) done(o Outcome) Outcome {
	attrs := []any{"status", o.Status}
	if o.Event != nil {
		attrs = append(attrs, "forge", o.Event.Forge, "delivery", o.Event.DeliveryID,
			"kind", o.Event.Kind, "repo", o.Event.Repo.FullName())
	}
	switch {
	case errors.Is(o.Err, ErrBusy):
		h.log.Warn("webhook turned away", append(attrs, "err", o.Err)...)
	case o.Status == http.StatusServiceUnavailable:
		h.log.Error("webhook not stored", append(attrs, "err", o.Err)...)
	case o.Err != nil && o.Status != http.StatusAccepted:
		h.log.Warn("webhook refused", append(attrs, "err", o.Err)...)
	case o.Status == http.StatusOK:
		h.log.Info("webhook seen before", attrs...)
	case o.Err != nil:
		h.log.Debug("webhook ignored", append(attrs, "reason", o.Err)...)
	default:
		h.log.Info("webhook accepted", attrs...)
	}
	return o
}
