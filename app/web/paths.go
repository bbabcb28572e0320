package web

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// reserved are the top-level names the service's own routes take (DESIGN.md, URLs): no owner may
// be called so.
var reserved = map[string]bool{
	"webhooks": true, "api": true, "healthz": true, "readyz": true, "metrics": true,
	"static": true, "login": true, "logout": true, "auth": true, "-": true,
}

// Reserved reports whether name is a top-level URL name of the service, which a repository owner
// may not use (compared case-insensitively, as owners are).
func Reserved(name string) bool { return reserved[strings.ToLower(name)] }

// EscapeRef returns a branch or tag name as one URL path segment: each "/" becomes "~" (git
// forbids "~" in ref names, so this is reversible) and other bytes outside A-Za-z0-9._- are
// percent-encoded.
func EscapeRef(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '/':
			b.WriteByte('~')
		case isAlnum(c) || c == '.' || c == '_' || c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// UnescapeRef reverses EscapeRef on a raw (still escaped) path segment. A segment that decodes
// to a "/" of its own (%2F) is refused: it would name the same ref as "~" and make two URLs of one
// feed.
func UnescapeRef(seg string) (string, error) {
	s, err := url.PathUnescape(seg)
	if err != nil {
		return "", fmt.Errorf("ref %q is not a well-formed URL segment: %w", seg, err)
	}
	if s == "" || strings.Contains(s, "/") {
		return "", fmt.Errorf("ref segment %q is empty or holds an escaped slash", seg)
	}
	return strings.ReplaceAll(s, "~", "/"), nil
}

// EscapeOwner returns an owner as a URL path segment: a GitLab namespace's "/" becomes "~".
func EscapeOwner(owner string) string { return EscapeRef(owner) }

// UnescapeOwner reverses EscapeOwner.
func UnescapeOwner(seg string) (string, error) { return UnescapeRef(seg) }

// RepoPath is the URL path of a repository's page, in the forge's spelling.
func RepoPath(r store.Repository) string {
	return "/" + EscapeOwner(r.Owner) + "/" + EscapeRef(r.Name)
}

// FeedPath is the URL path of a ref's feed folder for a series and arch (DESIGN.md, URLs), with a
// trailing slash; series and arch empty give the ref's folder.
func FeedPath(r store.Repository, ref store.Ref, series, arch string) string {
	p := RepoPath(r)
	switch ref.Kind {
	case store.RefTag:
		if ref.Name == "" { // the newest tag's feed
			p += "/-/latest"
		} else {
			p += "/-/tags/" + EscapeRef(ref.Name)
		}
	case store.RefPR:
		p += "/-/pr/" + EscapeRef(ref.Name)
	default:
		p += "/" + EscapeRef(ref.Name)
	}
	if series != "" {
		p += "/" + EscapeRef(series)
		if arch != "" {
			p += "/" + EscapeRef(arch)
		}
	}
	return p + "/"
}

// BuildPath is the URL path of a build's page.
func BuildPath(r store.Repository, id int64) string {
	return RepoPath(r) + "/-/builds/" + strconv.FormatInt(id, 10)
}

// apiRepoPath is the API URL path of a repository.
func apiRepoPath(r store.Repository) string {
	return "/api/v1/repos/" + EscapeOwner(r.Owner) + "/" + EscapeRef(r.Name)
}

// feedLocation is a parsed feed folder path below a repository.
type feedLocation struct {
	Ref    store.Ref
	Series string // empty for the ref's folder
	Arch   string // empty for a series folder
	File   string // empty for a folder
}

// parseFeedLocation reads the raw path segments after /<owner>/<repo>/ as a feed location:
// <branch>/…, -/tags/<tag>/…, -/latest/…, -/pr/<n>/…. ok is false for anything else (the
// repository's other /-/ paths, or a malformed segment).
func parseFeedLocation(segs []string) (loc feedLocation, ok bool) {
	if len(segs) == 0 {
		return loc, false
	}
	var rest []string
	switch {
	case segs[0] != "-":
		name, err := UnescapeRef(segs[0])
		if err != nil || name == "-" {
			return loc, false
		}
		loc.Ref, rest = store.Ref{Kind: store.RefBranch, Name: name}, segs[1:]
	case len(segs) >= 3 && segs[1] == "tags":
		name, err := UnescapeRef(segs[2])
		if err != nil {
			return loc, false
		}
		loc.Ref, rest = store.Ref{Kind: store.RefTag, Name: name}, segs[3:]
	case len(segs) >= 2 && segs[1] == "latest":
		// The newest tag; the lister resolves it (Ref.Name empty).
		loc.Ref, rest = store.Ref{Kind: store.RefTag}, segs[2:]
	case len(segs) >= 3 && segs[1] == "pr":
		n, err := strconv.Atoi(segs[2])
		if err != nil || n <= 0 {
			return loc, false
		}
		loc.Ref, rest = store.PRRef(n), segs[3:]
	default:
		return loc, false
	}
	parts := []*string{&loc.Series, &loc.Arch, &loc.File}
	for i, s := range rest {
		if i >= len(parts) {
			return loc, false
		}
		if s == "" {
			if i == len(rest)-1 { // the trailing slash of a folder
				break
			}
			return loc, false
		}
		v, err := url.PathUnescape(s)
		if err != nil || strings.ContainsAny(v, "/\\") || v == "." || v == ".." {
			return loc, false
		}
		*parts[i] = v
	}
	return loc, true
}

func isAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
