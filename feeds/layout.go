package feeds

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// FeedKind says which of a repository's feeds a FeedRef names.
type FeedKind int

// The kinds of feed, each with its place in the URL scheme of DESIGN.md.
const (
	BranchFeed  FeedKind = iota // /<owner>/<repo>/<branch>/<series>/<arch>/
	TagFeed                     // /<owner>/<repo>/-/tags/<tag>/<series>/<arch>/
	LatestFeed                  // /<owner>/<repo>/-/latest/<series>/<arch>/
	PullRequest                 // /<owner>/<repo>/-/pr/<n>/<series>/<arch>/
)

// ReservedNames are the top-level URL names the service keeps for itself; no owner may take one.
var reservedNames = []string{"webhooks", "api", "healthz", "readyz", "metrics", "static", "login", "logout", "auth", "-"}

// IsReservedName reports whether name (case-insensitive) is a top-level name of the service.
func IsReservedName(name string) bool {
	for _, r := range reservedNames {
		if strings.EqualFold(r, name) {
			return true
		}
	}
	return false
}

// FeedRef names one feed: a repository's branch, tag, latest tag or pull request, built for one
// release series and package architecture.
type FeedRef struct {
	Owner  string // forge spelling; a GitLab subgroup path has '/' ("group/sub")
	Repo   string
	Kind   FeedKind
	Name   string // the branch or tag name, or the pull request number; empty for LatestFeed
	Series string // "24.10"
	Arch   string // "mips_24kc"
}

func (r FeedRef) String() string {
	p, err := r.URLPath()
	if err != nil {
		return fmt.Sprintf("invalid feed %s/%s %q %s/%s", r.Owner, r.Repo, r.Name, r.Series, r.Arch)
	}
	return p
}

// RepoDir is the folder of the repository under the feed root: owner and repository in lower case
// (URLs match them case-insensitively), a subgroup's '/' as '~'.
func RepoDir(owner, repo string) (string, error) {
	if err := ValidOwner(owner); err != nil {
		return "", err
	}
	if err := ValidRepo(repo); err != nil {
		return "", err
	}
	return strings.ToLower(strings.ReplaceAll(owner, "/", "~")) + "/" + strings.ToLower(repo), nil
}

// Dir is the feed's folder relative to the feed root, '/'-separated, every part checked. It is
// also the URL path with each segment decoded, which is what the handler looks up.
func (r FeedRef) Dir() (string, error) {
	base, err := r.refDir()
	if err != nil {
		return "", err
	}
	if err := ValidSeries(r.Series); err != nil {
		return "", err
	}
	if err := ValidArch(r.Arch); err != nil {
		return "", fmt.Errorf("feed architecture: %w", err)
	}
	return base + "/" + r.Series + "/" + r.Arch, nil
}

// refDir is the folder holding every series of the branch, tag or pull request.
func (r FeedRef) refDir() (string, error) {
	repo, err := RepoDir(r.Owner, r.Repo)
	if err != nil {
		return "", err
	}
	switch r.Kind {
	case BranchFeed:
		seg, err := refDirName(r.Name, "branch")
		if err != nil {
			return "", err
		}
		return repo + "/" + seg, nil
	case TagFeed:
		seg, err := refDirName(r.Name, "tag")
		if err != nil {
			return "", err
		}
		return repo + "/-/tags/" + seg, nil
	case LatestFeed:
		return repo + "/-/latest", nil
	case PullRequest:
		n, err := strconv.ParseUint(r.Name, 10, 32)
		if err != nil || n == 0 || strconv.FormatUint(n, 10) != r.Name {
			return "", fmt.Errorf("pull request number %q must be a positive number", truncate(r.Name, 20))
		}
		return repo + "/-/pr/" + r.Name, nil
	}
	return "", fmt.Errorf("unknown feed kind %d", r.Kind)
}

// URLPath is the feed's URL path, '/' at both ends, with the branch or tag segment encoded.
func (r FeedRef) URLPath() (string, error) {
	dir, err := r.Dir()
	if err != nil {
		return "", err
	}
	parts := strings.Split(dir, "/")
	for i, p := range parts {
		parts[i] = escapeSegment(p)
	}
	return "/" + strings.Join(parts, "/") + "/", nil
}

// BranchSegment maps a branch (or tag) name to its URL segment: each '/' becomes '~' (git forbids
// '~' in ref names, so the mapping reverses) and other characters outside A-Za-z0-9._- are
// percent-encoded. A branch named "-" and names git would refuse are refused.
func BranchSegment(branch string) (string, error) {
	seg, err := refDirName(branch, "branch")
	if err != nil {
		return "", err
	}
	return escapeSegment(seg), nil
}

// ParseBranchSegment reverses BranchSegment.
func ParseBranchSegment(seg string) (string, error) {
	dec, err := url.PathUnescape(seg)
	if err != nil {
		return "", fmt.Errorf("branch segment %q: %w", truncate(seg, 40), err)
	}
	if strings.Contains(dec, "/") {
		return "", fmt.Errorf("branch segment %q holds an encoded '/'", truncate(seg, 40))
	}
	branch := strings.ReplaceAll(dec, "~", "/")
	if _, err := refDirName(branch, "branch"); err != nil {
		return "", err
	}
	return branch, nil
}

// refDirName checks a git branch or tag name and returns its folder name ('/' as '~').
func refDirName(name, what string) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("empty %s name", what)
	case name == "-":
		return "", fmt.Errorf("a %s named \"-\" is not published: its URL would clash with the repository's own pages; rename it", what)
	case len(name) > 200:
		return "", fmt.Errorf("%s name is %d bytes long, over the limit of 200", what, len(name))
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//"):
		return "", fmt.Errorf("%s name %q has an empty part", what, truncate(name, 60))
	case strings.Contains(name, ".."), strings.HasSuffix(name, ".lock"):
		return "", fmt.Errorf("%s name %q is not a valid git ref name", what, truncate(name, 60))
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return "", fmt.Errorf("%s name %q has a part starting with '.', which git refuses", what, truncate(name, 60))
		}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune("~^:?*[\\ ", r) {
			return "", fmt.Errorf("%s name %q holds %q, which git refuses in ref names", what, truncate(name, 60), r)
		}
	}
	return strings.ReplaceAll(name, "/", "~"), nil
}

// escapeSegment percent-encodes every byte outside A-Za-z0-9._-~ (the '~' standing for '/').
func escapeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || c == '.' || c == '_' || c == '-' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// ValidOwner checks an owner (user, organisation, or GitLab group path with '/').
func ValidOwner(owner string) error {
	if owner == "" {
		return errors.New("empty owner")
	}
	for _, part := range strings.Split(owner, "/") {
		if err := validForgeName(part, "owner"); err != nil {
			return err
		}
	}
	first, _, _ := strings.Cut(owner, "/")
	if IsReservedName(first) {
		return fmt.Errorf("owner %q is a name the service keeps for its own pages; it cannot have feeds", owner)
	}
	return nil
}

// ValidRepo checks a repository name.
func ValidRepo(repo string) error {
	if repo == "-" {
		return errors.New("a repository named \"-\" cannot have feeds")
	}
	return validForgeName(repo, "repository")
}

func validForgeName(s, what string) error {
	if s == "" || len(s) > 100 {
		return fmt.Errorf("%s name %q must be 1 to 100 characters", what, truncate(s, 40))
	}
	if s == "." || s == ".." || s[0] == '.' {
		return fmt.Errorf("%s name %q must not start with '.'", what, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%s name %q holds %q; forges allow only letters, digits, '.', '_' and '-'", what, truncate(s, 40), s[i:i+1])
		}
	}
	return nil
}

// ValidSeries checks a release series ("23.05", "24.10", "snapshot").
func ValidSeries(s string) error {
	if s == "" || len(s) > 32 || !isAlnum(s[0]) || path.Clean(s) != s {
		return fmt.Errorf("release series %q must be like 24.10", truncate(s, 40))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isAlnum(c) || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("release series %q must be like 24.10", truncate(s, 40))
		}
	}
	return nil
}
