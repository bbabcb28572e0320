package builder

import (
	"net/http"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

func TestSameOrigin(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"https://git.example/o/r.git", "https://git.example/o/other.git", true},
		{"https://git.example/o/r.git", "https://GIT.example:443/x.git", true},
		{"https://git.example/o/r.git", "https://git.example:8443/o/r.git", false},
		{"https://git.example/o/r.git", "http://git.example/o/r.git", false},
		{"https://git.example/o/r.git", "https://git.example.evil/o/r.git", false},
		{"https://git.example/o/r.git", "ssh://git@git.example/o/r.git", false},
		{"http://127.0.0.1:3000/o/r.git", "http://127.0.0.1:3001/o/r.git", false},
		{"git@git.example:o/r.git", "ssh://git@git.example:22/o/x.git", true},
		{"/srv/o/r", "/srv/o/x", false},
	}
	for _, tc := range cases {
		if got := sameOrigin(tc.a, tc.b); got != tc.want {
			t.Errorf("sameOrigin(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestResolveSubmoduleURL(t *testing.T) {
	cases := []struct{ parent, sub, want string }{
		{"https://git.example/o/r.git", "../other.git", "https://git.example/o/other.git"},
		{"https://git.example/o/r.git", "../../x/y.git", "https://git.example/x/y.git"},
		{"https://git.example/o/r.git", "../../../../../etc", "https://git.example/etc"},
		{"https://git.example/o/r.git", "./sub", "https://git.example/o/r.git/sub"},
		{"https://git.example/o/r.git", "https://elsewhere.example/x.git", "https://elsewhere.example/x.git"},
		{"/srv/o/r", "../x", "file:///srv/o/x"},
	}
	for _, tc := range cases {
		got, err := resolveSubmoduleURL(tc.parent, tc.sub)
		if err != nil || got != tc.want {
			t.Errorf("resolveSubmoduleURL(%q, %q) = %q, %v; want %q", tc.parent, tc.sub, got, err, tc.want)
		}
	}
}

func TestBoundAuthSendsOnlyToItsOrigin(t *testing.T) {
	a := bindAuth("https://git.example/o/r.git", &githttp.BasicAuth{Username: "u", Password: "p"})
	h, ok := a.(githttp.AuthMethod)
	if !ok {
		t.Fatalf("bound auth %T is not an HTTP auth method", a)
	}
	for url, want := range map[string]bool{
		"https://git.example/o/r.git/info/refs":      true,
		"https://git.example:443/o/other.git":        true,
		"https://git.example:8443/o/r.git/info/refs": false,
		"http://git.example/o/r.git/info/refs":       false,
		"https://attacker.example/o/r.git/info/refs": false,
	} {
		r, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		h.SetAuth(r)
		if _, _, got := r.BasicAuth(); got != want {
			t.Errorf("%s: credentials sent %v, want %v", url, got, want)
		}
	}
}
