package feedmirror_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/builder/feedmirror"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

func TestParseConfAndPins(t *testing.T) {
	cases := map[string]struct {
		conf    string
		pins    []feedmirror.Pin
		lines   int
		wantErr string
	}{
		"a 24.10 release SDK": {
			conf: "src-git base https://git.openwrt.org/openwrt/openwrt.git^" + sha + "\n" +
				"src-git packages https://git.openwrt.org/feed/packages.git^" + sha + "\n",
			lines: 2,
			pins: []feedmirror.Pin{{Name: "base", URL: "https://git.openwrt.org/openwrt/openwrt.git", Commit: sha},
				{Name: "packages", URL: "https://git.openwrt.org/feed/packages.git", Commit: sha}},
		},
		"comments, blank lines, src-git-full": {
			conf:  "# a comment\n\n  \nsrc-git-full luci https://git.openwrt.org/project/luci.git^" + sha + " # trailing\n#src-git video https://github.com/openwrt/video.git\n",
			lines: 1,
			pins:  []feedmirror.Pin{{Name: "luci", URL: "https://git.openwrt.org/project/luci.git", Commit: sha}},
		},
		"branches, links, short hashes and flags are left to scripts/feeds": {
			conf: "src-git packages https://git.openwrt.org/feed/packages.git;openwrt-24.10\n" +
				"src-link custom /usr/src/custom\n" +
				"src-git luci https://git.openwrt.org/project/luci.git^0123abc\n" +
				"src-git --force routing https://git.openwrt.org/feed/routing.git^" + sha + "\n" +
				"src-git local file:///srv/x.git^" + sha + "\n" +
				"src-git cred https://user:pw@example.org/x.git^" + sha + "\n" +
				"src-git two https://a.example/x.git^" + sha + " https://b.example/x.git^" + sha + "\n",
			lines: 7,
		},
		"duplicate name":  {conf: "src-link a /x\nsrc-link a /y\n", wantErr: `feed "a" is named twice`},
		"syntax error":    {conf: "src-git\n", wantErr: "line 1"},
		"not a feed line": {conf: "rm -rf /\n", wantErr: "is not"},
		"bad name":        {conf: "src-git a-b https://example.org/x.git\n", wantErr: "line 1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			lines, err := feedmirror.ParseConf([]byte(tc.conf))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != tc.lines {
				t.Errorf("%d lines, want %d: %+v", len(lines), tc.lines, lines)
			}
			if got := feedmirror.Pins(lines); !reflect.DeepEqual(got, tc.pins) {
				t.Errorf("pins %+v, want %+v", got, tc.pins)
			}
		})
	}
}

func TestGitHubURL(t *testing.T) {
	cases := map[string]string{
		"https://git.openwrt.org/feed/packages.git":   "https://github.com/openwrt/packages.git",
		"https://git.openwrt.org/openwrt/openwrt.git": "https://github.com/openwrt/openwrt.git",
		"https://git.openwrt.org/project/luci.git":    "https://github.com/openwrt/luci.git",
		"https://git.openwrt.org/feed/a/b.git":        "https://git.openwrt.org/feed/a/b.git",
		"https://git.openwrt.org/feed/":               "https://git.openwrt.org/feed/",
		"https://example.org/feed/packages.git":       "https://example.org/feed/packages.git",
	}
	for in, want := range cases {
		if got := feedmirror.GitHubURL(in); got != want {
			t.Errorf("GitHubURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseConf(f *testing.F) {
	f.Add([]byte("src-git base https://git.openwrt.org/openwrt/openwrt.git^" + sha + "\n"))
	f.Add([]byte("src-git --force=1 a https://x.example/a.git;main #c\nsrc-link b /x\n"))
	f.Add([]byte("#\n\x00src-git a b^c^d\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := feedmirror.ParseConf(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, l := range lines {
			if seen[l.Name] || !strings.HasPrefix(l.Type, "src-") {
				t.Fatalf("bad line %+v", l)
			}
			seen[l.Name] = true
		}
		for _, p := range feedmirror.Pins(lines) {
			if len(p.Commit) != 40 || strings.ContainsAny(p.URL, " \t\n'^;") || !strings.HasPrefix(p.URL, "http") {
				t.Fatalf("bad pin %+v", p)
			}
		}
	})
}
