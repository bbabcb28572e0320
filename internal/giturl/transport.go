package giturl

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

// HTTPClient returns an HTTP client for fetching from outside URLs: every connection passes
// Control, no proxy from the environment does the dialling instead, and a redirect is followed
// only to the same host (and never from https to anything else). tlsConf may carry test roots;
// nil means the system's.
func (p Policy) HTTPClient(tlsConf *tls.Config) *http.Client {
	tr := &http.Transport{
		DialContext:           p.Dialer().DialContext,
		TLSClientConfig:       tlsConf,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	return &http.Client{Transport: tr, CheckRedirect: SameHostRedirect}
}

// maxRedirects bounds a chain of redirects on the same host.
const maxRedirects = 5

// SameHostRedirect is an http.Client CheckRedirect that follows a redirect only to the host
// (and port) of the first request, over https.
func SameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return refuse("more than %d redirects", maxRedirects)
	}
	first := via[0].URL
	if req.URL.Scheme != "https" || !strings.EqualFold(req.URL.Host, first.Host) {
		return refuse("%s redirects to %s://%s, another host: redirects are followed only on the same host; give the URL the repository now lives at", first.Host, req.URL.Scheme, req.URL.Host)
	}
	return nil
}

// Scheme prefixes: URLs the service fetches for users go through transports registered under
// these schemes (see Transports), never the process-wide https and ssh ones.
const (
	HTTPSScheme = "ppa-checked+https"
	SSHScheme   = "ppa-checked+ssh"
)

// Transports returns go-git transports for HTTPSScheme and SSHScheme that apply the policy.
// Register them with go-git's client.InstallProtocol once per process, and give go-git the
// URLs Rewrite makes: go-git keeps transports in one process-wide table, so this package only
// ever adds its own two schemes to it, and the forge repositories' https and ssh stay as they
// were.
func (p Policy) Transports(tlsConf *tls.Config) map[string]transport.Transport {
	return map[string]transport.Transport{
		HTTPSScheme: checkedHTTP{inner: githttp.NewClient(p.HTTPClient(tlsConf))},
		SSHScheme:   checkedSSH{policy: p, inner: gitssh.DefaultClient},
	}
}

// Rewrite returns the URL to give go-git for a URL that Parse accepted.
func Rewrite(u string) (string, error) {
	pu, err := Parse(u)
	if err != nil {
		return "", err
	}
	switch pu.Scheme {
	case "https":
		pu.Scheme = HTTPSScheme
	case "ssh":
		pu.Scheme = SSHScheme
	}
	return pu.String(), nil
}

var errNoPush = errors.New("the service never pushes to a repository")

type checkedHTTP struct{ inner transport.Transport }

func (c checkedHTTP) NewUploadPackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.UploadPackSession, error) {
	e := *ep
	if e.User != "" || e.Password != "" {
		return nil, refuse("the URL holds credentials; remove them")
	}
	e.Protocol = "https"
	return c.inner.NewUploadPackSession(&e, auth)
}

func (checkedHTTP) NewReceivePackSession(*transport.Endpoint, transport.AuthMethod) (transport.ReceivePackSession, error) {
	return nil, errNoPush
}

// checkedSSH resolves the host itself, checks every address, and dials the first one by its
// literal address, so no later lookup can lead elsewhere; the host key callback checks the
// address the connection reached once more.
type checkedSSH struct {
	policy Policy
	inner  transport.Transport
}

// resolveTimeout bounds the lookup of an ssh host.
const resolveTimeout = 10 * time.Second

func (c checkedSSH) NewUploadPackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.UploadPackSession, error) {
	keys, ok := auth.(*gitssh.PublicKeys)
	if !ok || keys == nil {
		return nil, refuse("an ssh URL needs the repository's deploy key; none was given")
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	addrs, err := c.policy.Resolve(ctx, ep.Host)
	if err != nil {
		return nil, err
	}
	e := *ep
	e.Protocol, e.Host = "ssh", addrs[0].String()
	k := *keys
	next := k.HostKeyCallback
	if next == nil {
		return nil, refuse("no host key check is set for %s", ep.Host)
	}
	k.HostKeyCallback = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		if err := c.policy.checkNetAddr(remote); err != nil {
			return err
		}
		return next(ep.Host, remote, key)
	}
	return c.inner.NewUploadPackSession(&e, &k)
}

func (checkedSSH) NewReceivePackSession(*transport.Endpoint, transport.AuthMethod) (transport.ReceivePackSession, error) {
	return nil, errNoPush
}

func (p Policy) checkNetAddr(a net.Addr) error {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return fmt.Errorf("%w: the connection reached %s, no address", ErrRefused, a)
	}
	return p.CheckAddr(ap.Addr())
}
