package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

func TestJobLogRange(t *testing.T) {
	fx := newFixture(t)
	url := fmt.Sprintf("%s/api/v1/repos/alice/packages/jobs/%d/log", fx.srv.URL, fx.mainJobs[1].ID)
	whole := "make package/hello-luci/compile\nerror: hello-luci failed\n"
	for _, tc := range []struct {
		rng    string
		status int
		body   string
	}{
		{"", 200, whole},
		{"bytes=32-", 206, whole[32:]},
		{"bytes=0-3", 206, "make"},
		{"bytes=9999-", 416, ""},
	} {
		req, _ := http.NewRequest("GET", url, nil)
		if tc.rng != "" {
			req.Header.Set("Range", tc.rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || tc.status != 416 && string(b) != tc.body {
			t.Errorf("Range %q: %d %q, want %d %q", tc.rng, resp.StatusCode, b, tc.status, tc.body)
		}
		if tc.status < 300 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("Range %q: content type %q", tc.rng, resp.Header.Get("Content-Type"))
		}
	}
}

// TestLogPathStaysInLogDir: a LogPath that points out of the log folder (a corrupt or hostile
// record) is not followed.
func TestLogPathStaysInLogDir(t *testing.T) {
	fx := newFixture(t)
	secret := filepath.Join(filepath.Dir(fx.logDir), "secret.txt")
	if err := os.WriteFile(secret, []byte("do not show"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(fx.logDir, "link.log")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"../secret.txt", secret, "link.log"} {
		if _, err := fx.st.UpdateJob(context.Background(), fx.mainJobs[0].ID, func(j *store.Job) error { j.LogPath = p; return nil }); err != nil {
			t.Fatal(err)
		}
		status, _, body := get(t, http.DefaultClient, fmt.Sprintf("%s/api/v1/repos/alice/packages/jobs/%d/log", fx.srv.URL, fx.mainJobs[0].ID))
		if status == 200 || strings.Contains(body, "do not show") {
			t.Errorf("LogPath %q: %d %s", p, status, body)
		}
	}
}

// sseReader reads events from a stream.
type sseReader struct{ r *bufio.Reader }

type sseEvent struct{ event, id, data string }

func (s sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if data == nil && ev.event == "" {
				continue // a comment block
			}
			ev.data = strings.Join(data, "\n")
			return ev, nil
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[6:])
		}
	}
}

func TestJobEventsLive(t *testing.T) {
	fx := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url := fmt.Sprintf("%s/api/v1/repos/alice/packages/jobs/%d/events", fx.srv.URL, fx.runningJob.ID)
	open := func(lastID string) (sseReader, func()) {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("content type %q", ct)
		}
		return sseReader{bufio.NewReader(resp.Body)}, func() { resp.Body.Close() }
	}
	want := func(r sseReader, event, data string) sseEvent {
		t.Helper()
		ev, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.event != event || ev.data != data {
			t.Fatalf("got %+v, want event %q data %q", ev, event, data)
		}
		return ev
	}
	r, done := open("")
	want(r, "", "Setting up the SDK")
	second := want(r, "", "Updating feeds")
	// Lines appended while the browser watches arrive.
	stream := JobStreamName(fx.runningJob.ID)
	if err := fx.logs.Append(ctx, stream, "make package/hello/compile", "two\r\nlines"); err != nil {
		t.Fatal(err)
	}
	want(r, "", "make package/hello/compile")
	want(r, "", "two\nlines")
	done()
	// A reconnect resumes after the last id it saw.
	r, done = open(second.id)
	defer done()
	want(r, "", "make package/hello/compile")
	want(r, "", "two\nlines")
	if _, err := fx.st.UpdateJob(ctx, fx.runningJob.ID, func(j *store.Job) error { j.Status = store.StatusSuccess; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := fx.logs.Finish(ctx, stream); err != nil {
		t.Fatal(err)
	}
	want(r, "done", "success")
}

func TestJobEventsFinished(t *testing.T) {
	fx := newFixture(t)
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/repos/alice/packages/jobs/%d/events", fx.srv.URL, fx.mainJobs[1].ID))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	want := "data: make package/hello-luci/compile\n\ndata: error: hello-luci failed\n\nevent: done\ndata: failure\n\n"
	if string(b) != want {
		t.Errorf("events of a finished job:\n%q\nwant\n%q", b, want)
	}
}

func TestWriteEvent(t *testing.T) {
	for _, tc := range []struct{ event, id, data, want string }{
		{"", "1", "plain", "id: 1\ndata: plain\n\n"},
		{"done", "", "success", "event: done\ndata: success\n\n"},
		{"", "2", "a\nb\r\nc\rd", "id: 2\ndata: a\ndata: b\ndata: cd\n\n"},
		{"", "3\nevent: forged", "x", "id: 3event: forged\ndata: x\n\n"},
	} {
		var b strings.Builder
		writeEvent(&b, tc.event, tc.id, tc.data)
		if b.String() != tc.want {
			t.Errorf("writeEvent(%q, %q, %q) = %q, want %q", tc.event, tc.id, tc.data, b.String(), tc.want)
		}
	}
}
