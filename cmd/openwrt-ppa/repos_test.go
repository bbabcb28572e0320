package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReposCommand(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		switch {
		case r.Method == "POST" && r.URL.Path == "/api/v1/repos":
			var body map[string]string
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body["name"] == "alice/pkgs" {
				w.WriteHeader(http.StatusConflict)
				_, _ = w.Write([]byte(`{"error": {"code": "name_taken", "message": "alice/pkgs is taken; choose another with --name owner/repo"}}`))
				return
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"owner": "carol", "name": "feed", "url": "` + body["url"] + `", "webhook_url": "https://ppa/webhooks/git/3", "webhook_secret": "s3"}`))
		case r.Method == "GET":
			_, _ = w.Write([]byte(`{"repositories": [{"forge": "github", "owner": "a", "name": "b"}, {"forge": "git", "owner": "carol", "name": "feed"}]}`))
		case r.Method == "DELETE":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := runRepos(context.Background(), args, &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, _ := run("add", "https://codeberg.org/carol/feed.git", "--server", srv.URL, "--token", "T"); code != 0 ||
		!strings.Contains(out, "added carol/feed") || !strings.Contains(out, "webhooks/git/3") || !strings.Contains(out, "s3") {
		t.Fatalf("add: %d %q", code, out)
	}
	if code, _, errs := run("add", "https://x/y/z", "--name", "alice/pkgs", "--server", srv.URL); code != 1 || !strings.Contains(errs, "--name") {
		t.Fatalf("add taken: %d %q", code, errs)
	}
	if code, out, _ := run("list", "--server", srv.URL); code != 0 || out != "carol/feed\n" {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, out, _ := run("--server", srv.URL, "remove", "carol/feed"); code != 0 || !strings.Contains(out, "feeds stay") {
		t.Fatalf("remove: %d %q", code, out)
	}
	if code, _, _ := run("add"); code != 2 {
		t.Fatalf("add without URL: %d", code)
	}
	if got[0] != "POST /api/v1/repos Bearer T" || got[len(got)-1] != "DELETE /api/v1/repos/carol/feed " {
		t.Fatalf("requests %v", got)
	}
}
