package feeds_test

import (
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
)

func TestBranchSegment(t *testing.T) {
	cases := []struct {
		branch, seg string
	}{
		{"main", "main"},
		{"release/1.x", "release~1.x"},
		{"feature/a/b", "feature~a~b"},
		{"fix-é", "fix-%C3%A9"},
		{"a+b@c", "a%2Bb%40c"},
		{"100%", "100%25"},
	}
	for _, tc := range cases {
		t.Run(tc.branch, func(t *testing.T) {
			seg, err := feeds.BranchSegment(tc.branch)
			if err != nil || seg != tc.seg {
				t.Fatalf("BranchSegment(%q) = %q, %v; want %q", tc.branch, seg, err, tc.seg)
			}
			back, err := feeds.ParseBranchSegment(seg)
			if err != nil || back != tc.branch {
				t.Fatalf("ParseBranchSegment(%q) = %q, %v", seg, back, err)
			}
		})
	}
	for _, bad := range []string{"", "-", "..", "a/../b", ".hidden", "a/.b", "a//b", "/a", "a/", "x~y", "a b", "a\x00b", "a\nb", "a:b", "a\\b", "x.lock", strings.Repeat("a", 201)} {
		t.Run("refuses "+bad, func(t *testing.T) {
			if seg, err := feeds.BranchSegment(bad); err == nil {
				t.Fatalf("BranchSegment(%q) = %q, want an error", bad, seg)
			}
		})
	}
	for _, bad := range []string{"a%2Fb", "%2E%2E", "-", "%zz"} {
		if b, err := feeds.ParseBranchSegment(bad); err == nil {
			t.Errorf("ParseBranchSegment(%q) = %q, want an error", bad, b)
		}
	}
}

func TestFeedRefPaths(t *testing.T) {
	cases := []struct {
		ref  feeds.FeedRef
		url  string
		fail string
	}{
		{ref: feeds.FeedRef{Owner: "Alice", Repo: "My.Pkgs", Kind: feeds.BranchFeed, Name: "release/1.x", Series: "24.10", Arch: "mipsel_24kc"}, url: "/alice/my.pkgs/release~1.x/24.10/mipsel_24kc/"},
		{ref: feeds.FeedRef{Owner: "group/sub", Repo: "proj", Kind: feeds.TagFeed, Name: "v1.0", Series: "23.05", Arch: "x86_64"}, url: "/group~sub/proj/-/tags/v1.0/23.05/x86_64/"},
		{ref: feeds.FeedRef{Owner: "o", Repo: "r", Kind: feeds.LatestFeed, Series: "24.10", Arch: "x86_64"}, url: "/o/r/-/latest/24.10/x86_64/"},
		{ref: feeds.FeedRef{Owner: "o", Repo: "r", Kind: feeds.PullRequest, Name: "42", Series: "24.10", Arch: "x86_64"}, url: "/o/r/-/pr/42/24.10/x86_64/"},
		{ref: feeds.FeedRef{Owner: "o", Repo: "r", Kind: feeds.PullRequest, Name: "042", Series: "24.10", Arch: "x86_64"}, fail: "positive number"},
		{ref: feeds.FeedRef{Owner: "api", Repo: "r", Name: "main", Series: "24.10", Arch: "x86_64"}, fail: "keeps for its own"},
		{ref: feeds.FeedRef{Owner: "o", Repo: "..", Name: "main", Series: "24.10", Arch: "x86_64"}, fail: "must not start"},
		{ref: feeds.FeedRef{Owner: "o", Repo: "r", Name: "-", Series: "24.10", Arch: "x86_64"}, fail: "not published"},
		{ref: feeds.FeedRef{Owner: "o", Repo: "r", Name: "main", Series: "../x", Arch: "x86_64"}, fail: "series"},
		{ref: feeds.FeedRef{Owner: "o", Repo: "r", Name: "main", Series: "24.10", Arch: "x/y"}, fail: "architecture"},
		{ref: feeds.FeedRef{Owner: "o/", Repo: "r", Name: "main", Series: "24.10", Arch: "x86_64"}, fail: "1 to 100"},
	}
	for _, tc := range cases {
		t.Run(tc.url+tc.fail, func(t *testing.T) {
			got, err := tc.ref.URLPath()
			if tc.fail != "" {
				if err == nil || !strings.Contains(err.Error(), tc.fail) {
					t.Fatalf("got %q, %v; want an error containing %q", got, err, tc.fail)
				}
				return
			}
			if err != nil || got != tc.url {
				t.Fatalf("got %q, %v; want %q", got, err, tc.url)
			}
		})
	}
}
