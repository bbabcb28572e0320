// Package feedmirror keeps the standard OpenWrt feeds an SDK pins (feeds.conf.default's
// "src-git name url^commit" lines) in one trusted mirror outside every build: bare repositories
// fetched with go-git, each verified to hold the pinned commit, and one read-only tree per pinned
// commit that builds link as "src-link name dir". A build then needs no network for feeds, and
// the first job of a new arch or cache scope clones nothing: the SDK's scripts/feeds would
// otherwise make a full clone of every pinned feed (openwrt.git for base) per cache volume.
package feedmirror

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Line is one feed of a feeds.conf, as OpenWrt's scripts/feeds reads it.
type Line struct {
	Type    string   // "src-git", "src-link", …
	Flags   []string // "--force", … (as written)
	Name    string
	Sources []string // the sources after the name (scripts/feeds tries each in turn)
}

// Pin is a feed fixed at a commit: what a release SDK's feeds.conf.default holds for base,
// packages, luci, routing and telephony.
type Pin struct {
	Name   string
	URL    string // as feeds.conf.default has it (git.openwrt.org); identifies the repository
	Commit string // full 40-hex commit hash
	// Via is where to fetch it from instead of URL (GitHubURL(URL) for the GitHub mirrors);
	// empty: URL. The commit hash, not the host, is what the mirror verifies.
	Via string
}

// scripts/feeds: ^src-([\w\-]+)((?:\s+--\w+(?:=\S+)?)*)\s+(\w+)(?:\s+(\S.*))?$
var lineRe = regexp.MustCompile(`^src-([A-Za-z0-9_-]+)((?:[ \t]+--[A-Za-z0-9_]+(?:=\S+)?)*)[ \t]+([A-Za-z0-9_]+)(?:[ \t]+(\S.*))?$`)

var commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

// maxConf bounds what ParseConf reads: a real feeds.conf.default is a few hundred bytes.
const maxConf = 64 << 10

// ParseConf reads a feeds.conf as scripts/feeds does: "#" starts a comment, blank lines are
// skipped, any other line must be "src-<type> [--flag…] <name> [<source>…]"; a feed name may
// appear once. src-include is reported as a line; it is not followed.
func ParseConf(data []byte) ([]Line, error) {
	if len(data) > maxConf {
		return nil, fmt.Errorf("feeds.conf is %d bytes, more than %d: not a feeds.conf", len(data), maxConf)
	}
	var out []Line
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxConf)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 && i < len(text)-1 {
			text = text[:i] // as s/#.+$//: a lone trailing "#" stays
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		m := lineRe.FindStringSubmatch(strings.TrimRight(text, " \t\r"))
		if m == nil {
			return nil, fmt.Errorf("feeds.conf line %d: %q is not \"src-<type> <name> <source>\"", n, text)
		}
		if seen[m[3]] {
			return nil, fmt.Errorf("feeds.conf line %d: feed %q is named twice", n, m[3])
		}
		seen[m[3]] = true
		out = append(out, Line{Type: "src-" + m[1], Flags: strings.Fields(m[2]), Name: m[3], Sources: strings.Fields(m[4])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading feeds.conf: %w", err)
	}
	return out, nil
}

// Pins returns the feeds of lines that a mirror can serve: src-git (or src-git-full) with one
// http(s) source fixed at a full commit hash ("url^commit"). Feeds on a branch, with flags or
// with several sources are left to scripts/feeds.
func Pins(lines []Line) []Pin {
	var out []Pin
	for _, l := range lines {
		if (l.Type != "src-git" && l.Type != "src-git-full") || len(l.Flags) > 0 || len(l.Sources) != 1 {
			continue
		}
		base, commit, ok := strings.Cut(l.Sources[0], "^")
		if !ok || !commitRe.MatchString(commit) || strings.Contains(base, ";") || !httpURL(base) {
			continue
		}
		out = append(out, Pin{Name: l.Name, URL: base, Commit: commit})
	}
	return out
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil &&
		u.RawQuery == "" && u.Fragment == "" && !strings.ContainsAny(s, " \t'\"\\")
}

// gitHubPrefixes are the git.openwrt.org folders OpenWrt mirrors on github.com/openwrt, as
// gh-action-sdk rewrites them.
var gitHubPrefixes = []string{"https://git.openwrt.org/feed/", "https://git.openwrt.org/openwrt/", "https://git.openwrt.org/project/"}

// GitHubURL is the GitHub mirror of a git.openwrt.org feed URL
// (https://git.openwrt.org/feed/packages.git → https://github.com/openwrt/packages.git), or u
// itself for any other URL.
func GitHubURL(u string) string {
	for _, p := range gitHubPrefixes {
		if rest, ok := strings.CutPrefix(u, p); ok && rest != "" && !strings.Contains(rest, "/") {
			return "https://github.com/openwrt/" + rest
		}
	}
	return u
}
