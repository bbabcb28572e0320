package feeds_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
)

// serveTree makes a feed root with one feed, a hidden file, and symlinks in and out of the root.
func serveTree(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	root := t.TempDir()
	outside := t.TempDir()
	feed := filepath.Join(root, "alice", "pkgs", "release~1.x", "24.10", "x86_64")
	must(t, os.MkdirAll(feed, 0o755))
	must(t, os.WriteFile(filepath.Join(feed, "Packages"), []byte("Package: foo\nVersion: 1\n\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(feed, "Packages.gz"), []byte("\x1f\x8bnot really"), 0o644))
	must(t, os.WriteFile(filepath.Join(feed, "index.json"), []byte("{}\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(feed, "foo_1_x86_64.ipk"), []byte("0123456789abcdef"), 0o644))
	must(t, os.WriteFile(filepath.Join(feed, ".retired"), []byte("secret-ish\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(outside, "passwd"), []byte("root:x:0:0\n"), 0o644))
	must(t, os.Symlink(filepath.Join(outside, "passwd"), filepath.Join(feed, "escape.ipk")))
	must(t, os.Symlink(outside, filepath.Join(root, "alice", "out")))
	must(t, os.Symlink("../../../../../../../../..", filepath.Join(feed, "up")))
	h, err := feeds.NewHandler(root, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); h.Close() })
	return srv, "/alice/pkgs/release~1.x/24.10/x86_64/"
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rawGet sends a request line exactly as given, so that no client cleans the path first.
func rawGet(t *testing.T, srv *httptest.Server, target string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(newBufReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestHandlerServesFeedFiles(t *testing.T) {
	srv, feed := serveTree(t)
	cases := []struct {
		path, ctype, body string
	}{
		{feed + "Packages", "text/plain; charset=utf-8", "Package: foo\nVersion: 1\n\n"},
		{feed + "Packages.gz", "application/gzip", "\x1f\x8bnot really"},
		{feed + "index.json", "application/json", "{}\n"},
		{feed + "foo_1_x86_64.ipk", "application/octet-stream", "0123456789abcdef"},
		{"/ALICE/Pkgs/release~1.x/24.10/x86_64/Packages", "text/plain; charset=utf-8", "Package: foo\nVersion: 1\n\n"},
		{"/alice/pkgs/release%7E1.x/24.10/x86_64/Packages", "text/plain; charset=utf-8", "Package: foo\nVersion: 1\n\n"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != tc.body || resp.Header.Get("Content-Type") != tc.ctype {
				t.Fatalf("got %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if resp.Header.Get("Content-Encoding") != "" {
				t.Fatal("a feed file must not be sent with a Content-Encoding")
			}
		})
	}
}

func TestHandlerHTTPSemantics(t *testing.T) {
	srv, feed := serveTree(t)
	url := srv.URL + feed + "foo_1_x86_64.ipk"
	do := func(method string, hdr map[string]string) (*http.Response, string) {
		req, _ := http.NewRequest(method, url, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	full, _ := do("GET", nil)
	etag, lm := full.Header.Get("ETag"), full.Header.Get("Last-Modified")
	if etag == "" || lm == "" || full.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("validators missing: %v", full.Header)
	}
	cases := []struct {
		name   string
		method string
		hdr    map[string]string
		status int
		body   string
	}{
		{"head", "HEAD", nil, 200, ""},
		{"range", "GET", map[string]string{"Range": "bytes=2-5"}, 206, "2345"},
		{"suffix range", "GET", map[string]string{"Range": "bytes=-3"}, 206, "def"},
		{"bad range", "GET", map[string]string{"Range": "bytes=100-200"}, 416, ""},
		{"if-none-match", "GET", map[string]string{"If-None-Match": etag}, 304, ""},
		{"if-none-match other", "GET", map[string]string{"If-None-Match": `"other"`}, 200, "0123456789abcdef"},
		{"if-modified-since", "GET", map[string]string{"If-Modified-Since": lm}, 304, ""},
		{"if-range stale", "GET", map[string]string{"Range": "bytes=0-1", "If-Range": `"other"`}, 200, "0123456789abcdef"},
		{"if-range fresh", "GET", map[string]string{"Range": "bytes=0-1", "If-Range": etag}, 206, "01"},
		{"post", "POST", nil, 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(tc.method, tc.hdr)
			if resp.StatusCode != tc.status || tc.body != "" && body != tc.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
			if tc.method == "HEAD" && resp.ContentLength != 16 {
				t.Fatalf("HEAD Content-Length %d", resp.ContentLength)
			}
		})
	}
}

func TestHandlerListing(t *testing.T) {
	srv, feed := serveTree(t)
	resp, err := http.Get(srv.URL + strings.TrimSuffix(feed, "/"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != feed {
		t.Errorf("a folder without its slash should redirect to %s, ended at %s", feed, resp.Request.URL.Path)
	}
	page := string(body)
	if !strings.Contains(page, `href="foo_1_x86_64.ipk"`) || !strings.Contains(page, `href="Packages.gz"`) {
		t.Fatalf("listing lacks the files:\n%s", page)
	}
	if strings.Contains(page, ".retired") {
		t.Fatal("listing shows a hidden file")
	}
	resp, _ = http.Get(srv.URL + "/alice/pkgs/")
	body, _ = io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `href="release~1.x/"`) {
		t.Fatalf("branch folder not linked:\n%s", body)
	}
}

func TestHandlerNoEscape(t *testing.T) {
	srv, feed := serveTree(t)
	for _, target := range []string{
		"/../../../etc/passwd",
		"/alice/../../etc/passwd",
		"/%2e%2e/%2e%2e/etc/passwd",
		"/alice%2fpkgs/release~1.x/24.10/x86_64/Packages",
		"/alice/pkgs/release~1.x%2F24.10/x86_64/Packages",
		"/alice/pkgs/release~1.x/24.10/x86_64/..%5c..%5cPackages",
		feed + ".retired",
		feed + "%2eretired",
		feed + ".lock",
		feed + "escape.ipk",
		feed + "up/etc/passwd",
		"/alice/out/passwd",
		"/alice/out/",
		feed + "Packages%00.txt",
		"//etc/passwd",
	} {
		t.Run(target, func(t *testing.T) {
			status, body := rawGet(t, srv, target)
			if status == 200 || strings.Contains(body, "root:x") {
				t.Fatalf("%s: got %d %q", target, status, body)
			}
		})
	}
}

// TestHandlerSeesRenames: index files served from memory change once a publish renames new ones
// into place: at once without a recheck interval, and after it with one.
func TestHandlerSeesRenames(t *testing.T) {
	for _, recheck := range []time.Duration{0, 30 * time.Millisecond} {
		t.Run(recheck.String(), func(t *testing.T) { testHandlerSeesRenames(t, recheck) })
	}
}

func testHandlerSeesRenames(t *testing.T, recheck time.Duration) {
	srv, feed := serveTree(t)
	srv.Config.Handler.(*feeds.Handler).SetRecheck(recheck)
	dir := filepath.Join(strings.TrimSuffix(srv.Config.Handler.(*feeds.Handler).Root(), "/"), filepath.FromSlash(strings.Trim(feed, "/")))
	get := func() string {
		resp, err := http.Get(srv.URL + feed + "Packages")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for i := range 5 {
		want := fmt.Sprintf("Package: v%d\n\n", i)
		tmp := filepath.Join(dir, ".tmp")
		must(t, os.WriteFile(tmp, []byte(want), 0o644))
		must(t, os.Rename(tmp, filepath.Join(dir, "Packages")))
		time.Sleep(recheck + 5*time.Millisecond)
		for range 3 {
			if got := get(); got != want {
				t.Fatalf("after rename %d got %q, want %q", i, got, want)
			}
		}
	}
}

// TestHandlerCachedIndexSemantics: index files served from memory keep every HTTP behaviour.
func TestHandlerCachedIndexSemantics(t *testing.T) {
	srv, feed := serveTree(t)
	url := srv.URL + feed + "Packages"
	const body = "Package: foo\nVersion: 1\n\n"
	do := func(method string, hdr map[string]string) (*http.Response, string) {
		req, _ := http.NewRequest(method, url, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	first, _ := do("GET", nil) // loads the cache
	etag := first.Header.Get("ETag")
	for range 2 {
		resp, got := do("GET", nil)
		if got != body || resp.Header.Get("ETag") != etag || resp.Header.Get("Last-Modified") != first.Header.Get("Last-Modified") ||
			resp.ContentLength != int64(len(body)) || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("cached GET: %q %v", got, resp.Header)
		}
	}
	if resp, _ := do("GET", map[string]string{"If-None-Match": etag}); resp.StatusCode != 304 {
		t.Errorf("If-None-Match from cache: %d", resp.StatusCode)
	}
	if resp, got := do("GET", map[string]string{"Range": "bytes=0-6"}); resp.StatusCode != 206 || got != "Package" {
		t.Errorf("Range from cache: %d %q", resp.StatusCode, got)
	}
	if resp, got := do("HEAD", nil); resp.StatusCode != 200 || got != "" || resp.ContentLength != int64(len(body)) {
		t.Errorf("HEAD from cache: %d %q %d", resp.StatusCode, got, resp.ContentLength)
	}
}
