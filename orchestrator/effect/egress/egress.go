// Package egress decides where effects may send requests: a per-deployment
// allow-list of target hosts, checked on the URL, and a check of every
// address actually dialed (after DNS resolution, on each connection and
// redirect), so a name that resolves to the metadata service or a private
// network is refused however it is spelled.
//
// A Policy is written as a comma-separated list (ORDO_HTTP_EFFECT_TARGETS):
//
//	api.example.com        that host
//	*.partner.example      any subdomain of partner.example
//	*                      any host name (addresses are still checked)
//	10.1.0.0/16, 127.0.0.1 these addresses, otherwise refused (see below)
//
// Whatever the host names allow, the address dialed must be public: not
// loopback, private (RFC 1918, fc00::/7), shared (100.64.0.0/10),
// link-local (169.254.0.0/16, fe80::/10, where cloud metadata services
// answer: 169.254.169.254, fd00:ec2::254, 100.100.100.200), multicast or
// unspecified, unless an address entry of the policy contains it.
//
// Errors callers branch on:
//
//	situation                                 error
//	URL host matches no entry                 ErrHostNotAllowed
//	dialed address is not public or allowed   ErrAddressRefused
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Errors; see the package documentation.
var (
	ErrHostNotAllowed = errors.New("egress: host is not on the allow-list")
	ErrAddressRefused = errors.New("egress: address refused")
)

// Policy is an allow-list of effect targets.
type Policy struct {
	hosts []string       // exact names, "*.suffix" or "*"
	nets  []netip.Prefix // addresses allowed even if not public
}

// Parse reads a policy from its comma-separated form. An empty list allows
// nothing.
func Parse(s string) (*Policy, error) {
	p := &Policy{}
	for _, e := range strings.Split(s, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "":
		case strings.Contains(e, "/"):
			pfx, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("egress: entry %q: %w", e, err)
			}
			p.nets = append(p.nets, pfx.Masked())
		default:
			if a, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
				p.nets = append(p.nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
				continue
			}
			if e != "*" && (strings.ContainsAny(e, ":/@ ") || strings.Contains(strings.TrimPrefix(e, "*."), "*")) {
				return nil, fmt.Errorf("egress: entry %q: want a host name, *.domain, *, an IP address or a CIDR prefix", e)
			}
			p.hosts = append(p.hosts, e)
		}
	}
	return p, nil
}

// MustParse is Parse that panics on error (tests, constants).
func MustParse(s string) *Policy {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// CheckURL refuses a URL whose host the policy does not list.
func (p *Policy) CheckURL(u *url.URL) error {
	host := strings.ToLower(u.Hostname())
	if a, err := netip.ParseAddr(host); err == nil {
		return p.CheckAddr(a)
	}
	for _, h := range p.hosts {
		if h == "*" || h == host || strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:]) {
			return nil
		}
	}
	return fmt.Errorf("%w: %q (allowed: %s)", ErrHostNotAllowed, host, p)
}

// CheckAddr refuses an address that is neither public nor listed.
func (p *Policy) CheckAddr(a netip.Addr) error {
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return nil
		}
	}
	if why := special(a); why != "" {
		return fmt.Errorf("%w: %s is %s", ErrAddressRefused, a, why)
	}
	return nil
}

// String returns the policy in its parsed form.
func (p *Policy) String() string {
	var parts []string
	parts = append(parts, p.hosts...)
	for _, n := range p.nets {
		parts = append(parts, n.String())
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

var metadata = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),     // link-local: EC2, ECS, GCP, Azure metadata
	netip.MustParsePrefix("fe80::/10"),          // IPv6 link-local
	netip.MustParsePrefix("fd00:ec2::254/128"),  // EC2 IPv6 metadata
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
}

var nonPublic = []struct {
	pfx netip.Prefix
	why string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64 (may reach any IPv4 address)"},
}

// special says why a is not a public address ("" if it is).
func special(a netip.Addr) string {
	for _, m := range metadata {
		if m.Contains(a) {
			return "link-local or a cloud metadata address"
		}
	}
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, n := range nonPublic {
		if n.pfx.Contains(a) {
			return n.why
		}
	}
	return ""
}

// Control is a net.Dialer Control function that refuses connections to
// addresses the policy does not allow: it sees the address after DNS
// resolution, so no name trick gets past it.
func (p *Policy) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrAddressRefused, network, address, err)
	}
	return p.CheckAddr(ap.Addr())
}

// Client returns an HTTP client bound to the policy: no proxy (a proxy
// would dial on its behalf), every dialed address checked, every redirect's
// URL checked, and at most timeout per request.
func (p *Policy) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: p.Control}
	tr := &http.Transport{Proxy: nil, DialContext: d.DialContext, ForceAttemptHTTP2: true,
		TLSHandshakeTimeout: timeout, MaxIdleConns: 16, IdleConnTimeout: 90 * time.Second}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("egress: more than 5 redirects")
		}
		return p.CheckURL(req.URL)
	}}
}
