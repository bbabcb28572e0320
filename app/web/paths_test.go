package web

import (
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

func TestEscapeRef(t *testing.T) {
	for _, tc := range []struct{ name, seg string }{
		{"main", "main"},
		{"release/1.x", "release~1.x"},
		{"feature/a/b", "feature~a~b"},
		{"v1.0+build", "v1.0%2Bbuild"},
		{"über", "%C3%BCber"},
		{"a b", "a%20b"},
	} {
		if got := EscapeRef(tc.name); got != tc.seg {
			t.Errorf("EscapeRef(%q) = %q, want %q", tc.name, got, tc.seg)
		}
		if got, err := UnescapeRef(tc.seg); err != nil || got != tc.name {
			t.Errorf("UnescapeRef(%q) = %q, %v", tc.seg, got, err)
		}
	}
	for _, bad := range []string{"a%2Fb", "", "%zz"} {
		if _, err := UnescapeRef(bad); err == nil {
			t.Errorf("UnescapeRef(%q) accepted", bad)
		}
	}
}

func FuzzEscapeRef(f *testing.F) {
	for _, s := range []string{"main", "release/1.x", "a b/c%d", "ü/~"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" || strings.Contains(name, "~") {
			return // git forbids "~" in ref names
		}
		seg := EscapeRef(name)
		if strings.ContainsAny(seg, "/?#") {
			t.Fatalf("EscapeRef(%q) = %q holds a URL delimiter", name, seg)
		}
		if got, err := UnescapeRef(seg); err != nil || got != name {
			t.Fatalf("round trip of %q: %q, %v", name, got, err)
		}
	})
}

func TestParseFeedLocation(t *testing.T) {
	branch := func(n string) store.Ref { return store.Ref{Kind: store.RefBranch, Name: n} }
	for _, tc := range []struct {
		path string
		ok   bool
		want feedLocation
	}{
		{"main/", true, feedLocation{Ref: branch("main")}},
		{"release~1.x/24.10/x86_64/", true, feedLocation{Ref: branch("release/1.x"), Series: "24.10", Arch: "x86_64"}},
		{"main/24.10/x86_64/Packages.gz", true, feedLocation{Ref: branch("main"), Series: "24.10", Arch: "x86_64", File: "Packages.gz"}},
		{"-/tags/v1.0/24.10/", true, feedLocation{Ref: store.Ref{Kind: store.RefTag, Name: "v1.0"}, Series: "24.10"}},
		{"-/latest/24.10/x86_64/", true, feedLocation{Ref: store.Ref{Kind: store.RefTag}, Series: "24.10", Arch: "x86_64"}},
		{"-/pr/7/24.10/x86_64/", true, feedLocation{Ref: store.PRRef(7), Series: "24.10", Arch: "x86_64"}},
		{"-/pr/x/24.10/", false, feedLocation{}},
		{"-/key.pub", false, feedLocation{}},
		{"-/builds/3", false, feedLocation{}},
		{"main/24.10/x86_64/a/b", false, feedLocation{}},
		{"main/../x86_64/", false, feedLocation{}},
		{"main/24.10/%2e%2e/", false, feedLocation{}},
		{"main//x86_64/", false, feedLocation{}},
		{"a%2Fb/24.10/", false, feedLocation{}},
	} {
		got, ok := parseFeedLocation(strings.Split(tc.path, "/"))
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("parseFeedLocation(%q) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFeedPathAndName(t *testing.T) {
	gl := store.Repository{Owner: "group/sub", Name: "proj"}
	if got := FeedPath(gl, store.Ref{Kind: store.RefBranch, Name: "release/2"}, "24.10", "x86_64"); got != "/group~sub/proj/release~2/24.10/x86_64/" {
		t.Errorf("FeedPath = %q", got)
	}
	if got := FeedPath(gl, store.Ref{Kind: store.RefTag}, "24.10", ""); got != "/group~sub/proj/-/latest/24.10/" {
		t.Errorf("FeedPath(latest) = %q", got)
	}
	if got := FeedName(gl); got != "group_sub_proj" {
		t.Errorf("FeedName = %q", got)
	}
	if !Reserved("API") || Reserved("alice") {
		t.Error("Reserved is wrong")
	}
}

func TestWithCredentialsPutsTheTokenInTheAuthority(t *testing.T) {
	cases := map[string]string{
		"https://ppa.example.org":      "https://token:T@ppa.example.org",
		"http://127.0.0.1:8080/prefix": "http://token:T@127.0.0.1:8080/prefix",
		"not a url":                    "not a url",
	}
	for in, want := range cases {
		if got := withCredentials(in, "token", "T"); got != want {
			t.Errorf("withCredentials(%q) = %q, want %q", in, got, want)
		}
	}
}
