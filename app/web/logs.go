package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// errNoLog: the job has no log file (not started, deleted by retention, or no log folder).
var errNoLog = errors.New("this job has no log: it has not started yet, or its log was deleted by retention")

// openLog opens a job's log file. LogPath comes from the store, but is still kept inside LogDir
// (os.OpenInRoot refuses "..", absolute paths and symlinks out of it).
func (h *Handler) openLog(j store.Job) (*os.File, error) {
	if j.LogPath == "" || h.opt.LogDir == "" {
		return nil, errNoLog
	}
	f, err := os.OpenInRoot(h.opt.LogDir, j.LogPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoLog
	}
	if err != nil {
		return nil, fmt.Errorf("opening log of job %d: %w", j.ID, err)
	}
	return f, nil
}

// readLogTail returns the last max bytes of a job's log, starting at a line.
func (h *Handler) readLogTail(j store.Job, limit int64) (text string, truncated bool, err error) {
	f, err := h.openLog(j)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", false, err
	}
	off := max(st.Size()-limit, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	if err != nil {
		return "", false, err
	}
	if off > 0 {
		if i := strings.IndexByte(string(b), '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b), off > 0, nil
}

// serveLogText answers with the log file as text/plain; http.ServeContent honours Range, so a
// client tails a growing log with "Range: bytes=<what it has>-".
func (h *Handler) serveLogText(w http.ResponseWriter, r *http.Request, j store.Job) error {
	f, err := h.openLog(j)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if j.Status.Pending() {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
}

// keepalive is how often an idle event stream gets a comment, so proxies keep it open and the
// job's state is looked at again.
const keepalive = 15 * time.Second

// streamLog answers with Server-Sent Events: each log line a message (its id the stream offset,
// so a reconnecting EventSource resumes with Last-Event-ID), then an event "done" whose data is
// the job's final status. A job that is no longer pending is sent from its log file.
func (h *Handler) streamLog(w http.ResponseWriter, r *http.Request, j store.Job) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported here", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	// A server WriteTimeout would cut a long build's stream; this response has no deadline.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	ctx := r.Context()
	if !j.Status.Pending() || h.opt.Logs == nil {
		h.streamFile(w, j)
		writeEvent(w, "done", "", string(j.Status))
		fl.Flush()
		return
	}
	stream, after := h.opt.LogStreamName(j.ID), r.Header.Get("Last-Event-ID")
	for {
		rctx, cancel := context.WithTimeout(ctx, keepalive)
		chunk, err := h.opt.Logs.Read(rctx, stream, after, 500)
		cancel()
		if ctx.Err() != nil {
			return // the browser went away
		}
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				h.log.WarnContext(ctx, "reading live log", "job", j.ID, "err", err)
				writeEvent(w, "error", "", "The live log could not be read; reload the page to see the log file.")
				fl.Flush()
				return
			}
			// Idle: keep the connection open, and notice a job that ended without its stream
			// being finished (a worker that died).
			if cur, err := h.opt.History.Job(ctx, j.ID); err == nil && !cur.Status.Pending() {
				writeEvent(w, "done", "", string(cur.Status))
				fl.Flush()
				return
			}
			_, _ = io.WriteString(w, ": keepalive\n\n")
			fl.Flush()
			continue
		}
		for _, l := range chunk.Lines {
			writeEvent(w, "", l.Offset, l.Text)
		}
		after = chunk.Next
		if chunk.Done {
			status := store.StatusSuccess
			if cur, err := h.opt.History.Job(ctx, j.ID); err == nil {
				status = cur.Status
			}
			writeEvent(w, "done", "", string(status))
		}
		fl.Flush()
		if chunk.Done {
			return
		}
	}
}

// streamFile sends a finished job's log file (its tail) as messages.
func (h *Handler) streamFile(w io.Writer, j store.Job) {
	text, _, err := h.readLogTail(j, logTail)
	if err != nil {
		writeEvent(w, "", "", "("+errNoLog.Error()+")")
		return
	}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		writeEvent(w, "", "", line)
	}
}

// writeEvent writes one SSE message; a text with line breaks becomes several data lines, which
// EventSource joins back with "\n".
func writeEvent(w io.Writer, event, id, data string) {
	var b strings.Builder
	if event != "" {
		b.WriteString("event: " + event + "\n")
	}
	if id != "" {
		b.WriteString("id: " + strings.NewReplacer("\n", "", "\r", "").Replace(id) + "\n")
	}
	data = strings.ReplaceAll(data, "\r\n", "\n")
	for _, l := range strings.Split(data, "\n") {
		b.WriteString("data: " + strings.ReplaceAll(l, "\r", "") + "\n")
	}
	b.WriteString("\n")
	_, _ = io.WriteString(w, b.String())
}
