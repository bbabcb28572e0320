// Package giturl decides whether the service may fetch a git repository from a URL that a user
// gave it: https and ssh only, no credentials in the URL, and no host on the service's own
// network (loopback, link-local, private, unspecified, multicast) unless the operator allows
// it. The address is checked again when each connection is dialled, so a name that resolves
// to a public address at registration and to an internal one later (DNS rebinding) is still
// refused, and HTTP redirects are followed only on the same host.
package giturl

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// ErrRefused wraps every refusal; the message says what to do instead.
var ErrRefused = errors.New("repository URL refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// MaxLen bounds a URL: longer ones are no repository address anyone types.
const MaxLen = 2048

// scpLike is git's user@host:path form of an ssh URL.
var scpLike = regexp.MustCompile(`^([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+):([^/\\][^\\]*)$`)

// Parse checks the form of raw and returns it as a URL with scheme https or ssh (git's
// user@host:path becomes ssh://user@host/path). It resolves nothing: Policy.Check does.
func Parse(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return nil, refuse("the URL is empty; give the repository's https:// (or ssh://) clone URL")
	case len(raw) > MaxLen:
		return nil, refuse("the URL is longer than %d characters", MaxLen)
	case strings.ContainsAny(raw, " \t\r\n\x00"):
		return nil, refuse("the URL contains white space or control characters")
	}
	if m := scpLike.FindStringSubmatch(raw); m != nil && !strings.Contains(raw, "://") {
		raw = "ssh://" + m[1] + "@" + m[2] + "/" + m[3]
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, refuse("%q is no URL (%v); give the repository's https:// clone URL", raw, unwrapURLError(err))
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "https", "ssh":
	case "":
		return nil, refuse("%q has no scheme; give the repository's https:// clone URL", raw)
	case "file":
		return nil, refuse("file:// URLs are refused: the service fetches only from servers, over https:// or ssh://")
	case "http", "git":
		return nil, refuse("%s:// is refused: it is not encrypted, so anyone on the way could change the code that is built; use the https:// (or ssh://) URL", scheme)
	default:
		return nil, refuse("the scheme %s:// is not supported; use https:// or ssh://", scheme)
	}
	u.Scheme = scheme
	if u.Opaque != "" {
		return nil, refuse("%q is no URL with a host; give it as %s://HOST/OWNER/REPO", raw, scheme)
	}
	if u.User != nil {
		if _, hasPassword := u.User.Password(); hasPassword || scheme == "https" {
			return nil, refuse("the URL holds credentials (%s@): remove them; a private repository is fetched over ssh:// with the deploy key the service generates for it", userPart(scheme, u))
		}
		if !validSSHUser(u.User.Username()) {
			return nil, refuse("the ssh user name %q is not allowed; use the one the server names (usually git)", u.User.Username())
		}
	}
	host := u.Hostname()
	if host == "" {
		return nil, refuse("%q names no host", raw)
	}
	if strings.HasPrefix(host, "-") || strings.Contains(host, "%") {
		return nil, refuse("%q is not a host name", host)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, refuse("the URL has a query or fragment (?…, #…); give the plain clone URL")
	}
	if p := u.Port(); p != "" && (len(p) > 5 || p == "0") {
		return nil, refuse("port %s is not a TCP port", p)
	}
	clean := path.Clean("/" + u.Path)
	if clean == "/" || strings.Contains(u.Path, "/../") || strings.HasSuffix(u.Path, "/..") {
		return nil, refuse("%q names no repository path (https://HOST/OWNER/REPO)", raw)
	}
	u.Path = clean
	u.RawPath = ""
	return u, nil
}

// userPart names what to remove without repeating a password.
func userPart(scheme string, u *url.URL) string {
	if _, ok := u.User.Password(); ok {
		return u.User.Username() + ":…"
	}
	if scheme == "https" {
		return u.User.Username()
	}
	return u.User.String()
}

var sshUser = regexp.MustCompile(`^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}$`)

func validSSHUser(s string) bool { return sshUser.MatchString(s) }

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Name returns the owner and repository a URL's last two path segments name (a ".git" suffix
// dropped): https://codeberg.org/alice/pkgs.git → alice, pkgs. ok is false when the path has
// fewer than two segments.
func Name(u *url.URL) (owner, repo string, ok bool) {
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) < 2 {
		return "", "", false
	}
	owner, repo = segs[len(segs)-2], strings.TrimSuffix(segs[len(segs)-1], ".git")
	if owner == "" || repo == "" {
		return "", "", false
	}
	return owner, repo, true
}
