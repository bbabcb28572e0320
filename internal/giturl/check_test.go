package giturl

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseRefuses(t *testing.T) {
	cases := []struct{ url, want string }{
		{"", "empty"},
		{"file:///srv/git/pkgs.git", "file:// URLs are refused"},
		{"http://example.org/a/b.git", "http:// is refused: it is not encrypted"},
		{"git://example.org/a/b.git", "git:// is refused"},
		{"ftp://example.org/a/b", "not supported"},
		{"example.org/a/b", "no scheme"},
		{"https://user:secret@example.org/a/b.git", "holds credentials (user:…@)"},
		{"https://token@example.org/a/b.git", "holds credentials"},
		{"ssh://git:pw@example.org/a/b.git", "holds credentials"},
		{"ssh://-oProxyCommand=x@example.org/a/b.git", "ssh user name"},
		{"https:///a/b", "names no host"},
		{"https://example.org", "names no repository path"},
		{"https://example.org/a/b?x=1", "query or fragment"},
		{"https://example.org/a b", "white space"},
		{"https://example.org:0/a/b", "not a TCP port"},
		{"https://-x.org/a/b", "not a host name"},
		{"https:example.org/a/b", "no URL with a host"},
		{"https://" + strings.Repeat("a", MaxLen) + "/a/b", "longer than"},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			_, err := Parse(c.url)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Parse(%q) = %v, want a refusal saying %q", c.url, err, c.want)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), ":pw") {
				t.Fatalf("the refusal repeats the password: %v", err)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	cases := []struct{ url, want, owner, repo string }{
		{"https://codeberg.org/alice/pkgs.git", "https://codeberg.org/alice/pkgs.git", "alice", "pkgs"},
		{"HTTPS://Codeberg.org/alice/pkgs/", "https://Codeberg.org/alice/pkgs", "alice", "pkgs"},
		{"git@example.org:team/sub/feed.git", "ssh://git@example.org/team/sub/feed.git", "sub", "feed"},
		{"ssh://git@example.org:2222/o/r", "ssh://git@example.org:2222/o/r", "o", "r"},
		{"https://[2001:4860::8888]/o/r.git", "https://[2001:4860::8888]/o/r.git", "o", "r"},
		{"https://example.org/a/./b/c.git", "https://example.org/a/b/c.git", "b", "c"},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			u, err := Parse(c.url)
			if err != nil {
				t.Fatal(err)
			}
			if u.String() != c.want {
				t.Fatalf("Parse(%q) = %s, want %s", c.url, u, c.want)
			}
			owner, repo, ok := Name(u)
			if !ok || owner != c.owner || repo != c.repo {
				t.Fatalf("Name = %q %q %v, want %q %q", owner, repo, ok, c.owner, c.repo)
			}
		})
	}
	u, _ := Parse("https://example.org/one.git")
	if _, _, ok := Name(u); ok {
		t.Fatal("a one-segment path gave a name")
	}
}

func TestCheckAddr(t *testing.T) {
	cases := []struct {
		addr, kind string // kind "" means allowed
	}{
		{"127.0.0.1", "loopback"}, {"::1", "loopback"}, {"::ffff:127.0.0.1", "loopback"},
		{"169.254.169.254", "link-local"}, {"fe80::1", "link-local"},
		{"10.1.2.3", "private"}, {"172.16.0.1", "private"}, {"192.168.1.1", "private"}, {"fd00::1", "private"},
		{"100.64.0.1", "private"}, {"64:ff9b::a00:1", "private"},
		{"0.0.0.0", "unspecified"}, {"::", "unspecified"},
		{"224.0.0.1", "multicast"}, {"ff05::1", "multicast"},
		{"1.1.1.1", ""}, {"2606:4700::1111", ""},
	}
	for _, c := range cases {
		t.Run(c.addr, func(t *testing.T) {
			err := Policy{}.CheckAddr(netip.MustParseAddr(c.addr))
			switch {
			case c.kind == "" && err != nil:
				t.Fatalf("public address refused: %v", err)
			case c.kind != "" && (err == nil || !strings.Contains(err.Error(), c.kind) || !strings.Contains(err.Error(), SettingHint)):
				t.Fatalf("CheckAddr(%s) = %v, want a %s refusal naming %s", c.addr, err, c.kind, SettingHint)
			}
			if err := (Policy{AllowPrivate: true}).CheckAddr(netip.MustParseAddr(c.addr)); err != nil {
				t.Fatalf("allowed policy refused %s: %v", c.addr, err)
			}
		})
	}
}

func TestCheckResolves(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"https://127.0.0.1/a/b", "https://localhost/a/b", "ssh://git@[::1]:22/a/b", "https://10.0.0.8/a/b"} {
		if _, err := (Policy{}).Check(ctx, u); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "own") {
			t.Errorf("Check(%s) = %v, want a refusal of the service's own network", u, err)
		}
		if _, err := (Policy{AllowPrivate: true}).Check(ctx, u); err != nil {
			t.Errorf("Check(%s) with private allowed: %v", u, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"https://codeberg.org/alice/pkgs.git", "git@example.org:o/r.git", "ssh://git@h:22/o/r",
		"file:///x", "http://u:p@h/x", "https://[::1]/a/b", "https://h/a/../b", "https://h/%2e%2e/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := Parse(raw)
		if err != nil {
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("error %v does not wrap ErrRefused", err)
			}
			return
		}
		if u.Scheme != "https" && u.Scheme != "ssh" {
			t.Fatalf("accepted scheme %q", u.Scheme)
		}
		if u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("accepted %q as %#v", raw, u)
		}
		if _, has := u.User.Password(); has || (u.User != nil && u.Scheme == "https") {
			t.Fatalf("accepted credentials in %q", raw)
		}
		if strings.Contains(u.Path, "/../") || strings.HasSuffix(u.Path, "/..") {
			t.Fatalf("accepted a path that climbs: %q", u.Path)
		}
		again, err := Parse(u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("Parse is not stable: %q → %q → %v %v", raw, u, again, err)
		}
		if owner, repo, ok := Name(u); ok && (strings.Contains(owner, "/") || strings.Contains(repo, "/")) {
			t.Fatalf("Name gave %q %q", owner, repo)
		}
	})
}
