package web

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// Issue 9 hole 4: a page's cursor was taken from the last row before private rows were
// filtered, so anonymous `?limit=1&search=secr` answered "next": "bob/secret", and walking
// after= listed every private repository.
func TestRepoPagingNeverNamesPrivate(t *testing.T) {
	fx := newFixture(t)
	anon := fx.client(t)
	type page struct {
		Repositories []struct {
			Owner string `json:"owner"`
			Name  string `json:"name"`
		} `json:"repositories"`
		Next string `json:"next"`
	}
	walk := func(search string, hdr ...string) []string {
		t.Helper()
		var seen []string
		after := ""
		for i := 0; i < 20; i++ {
			q := url.Values{"limit": {"1"}, "search": {search}, "after": {after}}
			status, _, body := get(t, anon, fx.srv.URL+"/api/v1/repos?"+q.Encode(), hdr...)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if strings.Contains(strings.ToLower(body), "secret") && len(hdr) == 0 {
				t.Fatalf("anonymous page names a private repository: %s", body)
			}
			var p page
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Repositories {
				seen = append(seen, r.Owner+"/"+r.Name)
			}
			if p.Next == "" {
				return seen
			}
			after = p.Next
		}
		t.Fatal("paging did not end")
		return nil
	}
	if got := walk("secr"); len(got) != 0 {
		t.Errorf("anonymous search listed %v", got)
	}
	if got := strings.Join(walk(""), " "); got != "alice/packages carol/empty group/sub/proj" {
		t.Errorf("anonymous walk = %q", got)
	}
	if got := strings.Join(walk("", "Authorization", "Bearer "+adminToken), " "); got != "alice/packages bob/secret carol/empty group/sub/proj" {
		t.Errorf("admin walk = %q", got)
	}

	// The home page's next link, one row per page, never names it either.
	_, _, body := get(t, anon, fx.srv.URL+"/?q=b")
	if strings.Contains(body, "secret") {
		t.Errorf("home page names a private repository: %s", body)
	}
}
