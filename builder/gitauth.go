package builder

import (
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// origin is the scheme, host and port a URL reaches: what a credential is bound to.
type origin struct {
	scheme, host string
	port         int
}

var defaultPorts = map[string]int{"http": 80, "https": 443, "ssh": 22, "git": 9418}

func originOf(url string) (origin, bool) {
	ep, err := transport.NewEndpoint(url)
	if err != nil || ep.Protocol == "file" || ep.Host == "" {
		return origin{}, false
	}
	o := origin{scheme: strings.ToLower(ep.Protocol), host: strings.ToLower(ep.Host), port: ep.Port}
	if o.port == 0 {
		o.port = defaultPorts[o.scheme]
	}
	return o, true
}

// sameOrigin reports whether a and b are on the same scheme, host and port; local paths never are.
func sameOrigin(a, b string) bool {
	oa, ok := originOf(a)
	if !ok {
		return false
	}
	ob, ok := originOf(b)
	return ok && oa == ob
}

func isSSH(url string) bool {
	ep, err := transport.NewEndpoint(url)
	return err == nil && ep.Protocol == "ssh"
}

// resolveSubmoduleURL resolves a .gitmodules URL against the URL of the repository naming it,
// as git and go-git do: "../x.git" beside it, "./x" below it; absolute URLs stay.
func resolveSubmoduleURL(parent, sub string) (string, error) {
	if !strings.HasPrefix(sub, "../") && !strings.HasPrefix(sub, "./") {
		if _, err := transport.NewEndpoint(sub); err != nil {
			return "", err
		}
		return sub, nil
	}
	ep, err := transport.NewEndpoint(parent)
	if err != nil {
		return "", err
	}
	ep.Path = path.Join(ep.Path, sub)
	return ep.String(), nil
}

// boundAuth sends an HTTP credential only in requests to the origin it was issued for, so no
// redirect or reuse can carry it elsewhere.
type boundAuth struct {
	origin origin
	inner  githttp.AuthMethod
}

// bindAuth binds an HTTP credential to url's origin; other kinds (ssh) are passed as they are:
// the checkout only hands them to that origin.
func bindAuth(url string, a transport.AuthMethod) transport.AuthMethod {
	h, ok := a.(githttp.AuthMethod)
	o, known := originOf(url)
	if !ok || !known {
		return a
	}
	return &boundAuth{origin: o, inner: h}
}

func (b *boundAuth) SetAuth(r *http.Request) {
	var port int
	if p := r.URL.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	} else {
		port = defaultPorts[strings.ToLower(r.URL.Scheme)]
	}
	if strings.ToLower(r.URL.Scheme) == b.origin.scheme && strings.ToLower(r.URL.Hostname()) == b.origin.host && port == b.origin.port {
		b.inner.SetAuth(r)
	}
}

func (b *boundAuth) Name() string { return b.inner.Name() }

func (b *boundAuth) String() string {
	return fmt.Sprintf("%s for %s://%s:%d", b.inner.Name(), b.origin.scheme, b.origin.host, b.origin.port)
}

// SSHAgentAuth is a Checkouter.Auth for the command line: ssh URLs use the user's ssh agent, as
// git does; other URLs are anonymous. The service never uses it: its agent is no tenant's.
func SSHAgentAuth(url string) (transport.AuthMethod, error) {
	if !isSSH(url) {
		return nil, nil
	}
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, err
	}
	return gitssh.NewSSHAgentAuth(ep.User)
}
