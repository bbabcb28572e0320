package feeds

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzCleanRequestPath: whatever URL a client sends, the name the handler opens stays inside the
// feed root — no "..", no hidden or empty segment, no absolute path, no backslash or NUL.
func FuzzCleanRequestPath(f *testing.F) {
	for _, s := range []string{"/alice/pkgs/main/24.10/x86_64/Packages.gz", "/../etc/passwd", "/a/%2e%2e/b", "/a/b%2fc", "//x", "/A/B/release~1.x/", "/a/.lock"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		name, ok := cleanRequestPath(u)
		if !ok || name == "." {
			return
		}
		if strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") {
			t.Fatalf("%q → %q", raw, name)
		}
		for _, seg := range strings.Split(name, "/") {
			if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".") {
				t.Fatalf("%q → %q has segment %q", raw, name, seg)
			}
		}
	})
}

// FuzzBranchSegment: a branch name that maps to a URL segment maps back to itself, and the
// segment never holds a raw "/" (which would change the URL's shape).
func FuzzBranchSegment(f *testing.F) {
	for _, s := range []string{"main", "release/1.x", "feature/ünïcode", "a b", "-", "x..y", "%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, branch string) {
		seg, err := BranchSegment(branch)
		if err != nil {
			return
		}
		if strings.Contains(seg, "/") {
			t.Fatalf("segment %q of %q holds a slash", seg, branch)
		}
		back, err := ParseBranchSegment(seg)
		if err != nil || back != branch {
			t.Fatalf("%q → %q → %q (%v)", branch, seg, back, err)
		}
	})
}
