package giturl

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// Policy is what the operator allows. The zero value refuses every address on the service's
// own network.
type Policy struct {
	// AllowPrivate lets URLs reach loopback, link-local, private, unspecified and multicast
	// addresses: for tests, and for an install whose git server is on its own network.
	AllowPrivate bool
	// Resolver looks host names up; nil means net.DefaultResolver.
	Resolver *net.Resolver
}

// SettingHint is the setting that AllowPrivate stands for, named in refusals.
const SettingHint = "--repos-allow-private"

// CheckAddr refuses an address on the service's own network unless the policy allows it.
func (p Policy) CheckAddr(ip netip.Addr) error {
	ip = ip.Unmap()
	if p.AllowPrivate {
		return nil
	}
	var kind string
	switch {
	case !ip.IsValid():
		kind = "an invalid"
	case ip.IsUnspecified():
		kind = "an unspecified"
	case ip.IsLoopback():
		kind = "a loopback"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		kind = "a multicast"
	case ip.IsLinkLocalUnicast():
		kind = "a link-local"
	case ip.IsPrivate(), isSharedOrReserved(ip):
		kind = "a private"
	default:
		return nil
	}
	return refuse("%s is %s address: the service does not fetch from its own network (the operator may allow it with %s)", ip, kind, SettingHint)
}

// reserved are ranges netip does not classify that are no public internet either: carrier-grade
// NAT, IETF protocol assignments, benchmarking, the old class E, NAT64's well-known prefix
// (which may embed an internal IPv4 address) and documentation ranges.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"),
}

func isSharedOrReserved(ip netip.Addr) bool {
	for _, p := range reserved {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (p Policy) resolver() *net.Resolver {
	if p.Resolver != nil {
		return p.Resolver
	}
	return net.DefaultResolver
}

// Resolve looks host up and returns its addresses, refusing the host when any of them is
// refused: a name that also points inside is no name to fetch from.
func (p Policy) Resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, p.CheckAddr(ip)
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		if err := p.CheckAddr(netip.MustParseAddr("127.0.0.1")); err != nil {
			return nil, refuse("%s is the service's own host: the service does not fetch from its own network (the operator may allow it with %s)", host, SettingHint)
		}
	}
	addrs, err := p.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("%w: the host %s cannot be resolved: %v; check the URL", ErrRefused, host, err)
	}
	if len(addrs) == 0 {
		return nil, refuse("the host %s has no address; check the URL", host)
	}
	for i, a := range addrs {
		addrs[i] = a.Unmap()
		if err := p.CheckAddr(addrs[i]); err != nil {
			return nil, fmt.Errorf("%w (%s resolves to it)", err, host)
		}
	}
	return addrs, nil
}

// Check parses raw and resolves its host: the registration-time check. Control repeats the
// address part for every connection.
func (p Policy) Check(ctx context.Context, raw string) (*url.URL, error) {
	u, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	if _, err := p.Resolve(ctx, u.Hostname()); err != nil {
		return nil, err
	}
	return u, nil
}

// Control is a net.Dialer Control function: it refuses a connection to an address the policy
// does not allow, after the name was resolved and just before the socket connects, so what is
// checked is what is dialled.
func (p Policy) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refuse("dialling %s %s: not an address", network, address)
	}
	return p.CheckAddr(ap.Addr())
}

// Dialer returns a dialer that applies Control.
func (p Policy) Dialer() *net.Dialer {
	return &net.Dialer{Control: p.Control, Resolver: p.resolver()}
}
