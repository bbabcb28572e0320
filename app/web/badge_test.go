package web

import (
	"net/http"
	"strings"
	"testing"
)

func TestBadge(t *testing.T) {
	fx := newFixture(t)
	for _, tc := range []struct {
		path   string
		status int
		label  string
	}{
		{"/alice/packages/-/badge.svg", 200, "failing"},
		{"/alice/packages/-/badge.svg?branch=release/1.x", 200, "passing"},
		{"/alice/packages/-/badge.svg?branch=feature/x", 200, "building"},
		{"/ALICE/PACKAGES/-/badge.svg?branch=release/1.x", 200, "passing"},
		{"/alice/packages/-/badge.svg?branch=gone", 404, "unknown"},
		{"/alice/nothing/-/badge.svg", 404, "unknown"},
		{"/bob/secret/-/badge.svg", 404, "unknown"},
		{"/group~sub/proj/-/badge.svg", 200, "passing"},
	} {
		resp, err := http.Get(fx.srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 4096)
		n, _ := resp.Body.Read(b)
		resp.Body.Close()
		svg := string(b[:n])
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "image/svg+xml" ||
			!strings.Contains(svg, ">"+tc.label+"</text>") || !strings.HasPrefix(svg, "<svg") {
			t.Errorf("%s: %d %s %s, want %d %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), svg, tc.status, tc.label)
		}
	}
}
