package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrDenied is what every refusal matches with errors.Is.
var ErrDenied = errors.New("address refused by the network guard")

// DeniedError is a refusal: the address judged and why it is refused.
type DeniedError struct {
	// Addr is the address judged, as dialled (an IPv4-mapped address keeps
	// its IPv6 form here; Reason names the IPv4 address it reaches).
	Addr netip.Addr
	// Reason names the range the address falls in, e.g.
	// "link-local (169.254.0.0/16)".
	Reason string
}

// Error says which address was refused and why:
// "network guard refused 127.0.0.1: loopback (127.0.0.0/8); allow it with --allow-net".
func (e *DeniedError) Error() string {
	return fmt.Sprintf("network guard refused %s: %s; allow it with --allow-net", e.Addr, e.Reason)
}

// Is makes errors.Is(err, ErrDenied) true for every *DeniedError.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

// Policy decides which addresses checks may connect to. The zero value
// refuses every address that is not publicly routable (see the package
// documentation); Allow opens chosen ranges. A Policy is safe for concurrent
// use as long as Allow is not modified.
type Policy struct {
	// Allow lists the prefixes reachable even though they are not public,
	// typically from --allow-net flags through ParseCIDRs.
	Allow []netip.Prefix
}

// ParseCIDRs parses allow-list entries such as "127.0.0.0/8", "10.1.0.0/16"
// or "fd00::/8". A bare address ("127.0.0.1", "::1") means that address
// alone. Host bits are cleared ("10.1.2.3/8" is 10.0.0.0/8) and IPv4-mapped
// prefixes become IPv4 prefixes. Every bad entry is reported, each with its
// position and text.
func ParseCIDRs(cidrs []string) ([]netip.Prefix, error) {
	prefixes := make([]netip.Prefix, 0, len(cidrs))
	var errs []error
	for i, s := range cidrs {
		p, err := parseCIDR(strings.TrimSpace(s))
		if err != nil {
			errs = append(errs, fmt.Errorf("allow-net entry %d %q: %w", i+1, s, err))
			continue
		}
		prefixes = append(prefixes, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return prefixes, nil
}

func parseCIDR(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, errors.New("is empty (want a CIDR such as 127.0.0.0/8)")
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, errors.New("is neither a CIDR (127.0.0.0/8) nor an IP address")
		}
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("must not carry a zone")
		}
		return normalize(netip.PrefixFrom(a, a.BitLen())), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("is not a valid CIDR: %w", err)
	}
	return normalize(p), nil
}

// normalize clears host bits and turns ::ffff:a.b.c.d/n (n >= 96) into the
// IPv4 prefix it denotes, so it matches unmapped addresses.
func normalize(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// Check judges one address: nil if a check may connect to it, otherwise a
// *DeniedError (matching ErrDenied) naming the range that forbids it.
func (p Policy) Check(addr netip.Addr) error {
	if !addr.IsValid() {
		return &DeniedError{Addr: addr, Reason: "not a valid IP address"}
	}
	addr = addr.WithZone("")
	if p.allows(addr) {
		return nil
	}
	reason := p.reason(addr)
	if reason == "" {
		return nil
	}
	return &DeniedError{Addr: addr, Reason: reason}
}

// reason names why addr is refused, or returns "" if it is allowed. The
// allow-list has already been consulted for addr itself.
func (p Policy) reason(addr netip.Addr) string {
	if addr.Is4In6() {
		return p.embedded(addr.Unmap(), "IPv4-mapped")
	}
	if addr.Is4() {
		return lookup(deniedV4, addr)
	}
	switch {
	case nat64.Contains(addr):
		b := addr.As16()
		return p.embedded(netip.AddrFrom4([4]byte(b[12:16])), "NAT64")
	case sixToFour.Contains(addr):
		b := addr.As16()
		return p.embedded(netip.AddrFrom4([4]byte(b[2:6])), "6to4")
	}
	if r := lookup(deniedV6, addr); r != "" {
		return r
	}
	if !globalUnicast.Contains(addr) {
		return "reserved (outside global unicast 2000::/3)"
	}
	return ""
}

// embedded judges the IPv4 address an IPv6 address reaches, with the
// allow-list, and names the embedding in the reason.
func (p Policy) embedded(v4 netip.Addr, kind string) string {
	if p.allows(v4) {
		return ""
	}
	if r := lookup(deniedV4, v4); r != "" {
		return fmt.Sprintf("%s form of %s, which is %s", kind, v4, r)
	}
	return ""
}

func (p Policy) allows(addr netip.Addr) bool {
	for _, pre := range p.Allow {
		if normalize(pre).Contains(addr) {
			return true
		}
	}
	return false
}

// rule is one refused range; the first rule containing an address names it,
// so specific entries come before the ranges holding them.
type rule struct {
	prefix netip.Prefix
	reason string
}

func lookup(rules []rule, addr netip.Addr) string {
	for _, r := range rules {
		if r.prefix.Contains(addr) {
			return r.reason
		}
	}
	return ""
}

func rules(pairs ...string) []rule {
	rs := make([]rule, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		p := netip.MustParsePrefix(pairs[i])
		rs = append(rs, rule{prefix: p, reason: fmt.Sprintf("%s (%s)", pairs[i+1], p)})
	}
	return rs
}

var (
	deniedV4 = rules(
		"169.254.169.254/32", "the cloud metadata endpoint",
		"0.0.0.0/32", "unspecified",
		"255.255.255.255/32", "broadcast",
		"0.0.0.0/8", `"this network"`,
		"10.0.0.0/8", "private",
		"100.64.0.0/10", "shared address space (carrier-grade NAT)",
		"127.0.0.0/8", "loopback",
		"169.254.0.0/16", "link-local",
		"172.16.0.0/12", "private",
		"192.0.0.0/24", "IETF protocol assignments",
		"192.0.2.0/24", "documentation",
		"192.88.99.0/24", "6to4 relay anycast",
		"192.168.0.0/16", "private",
		"198.18.0.0/15", "benchmarking",
		"198.51.100.0/24", "documentation",
		"203.0.113.0/24", "documentation",
		"224.0.0.0/4", "multicast",
		"240.0.0.0/4", "reserved",
	)
	deniedV6 = rules(
		"fd00:ec2::254/128", "the AWS IPv6 metadata endpoint",
		"::/128", "unspecified",
		"::1/128", "loopback",
		"64:ff9b:1::/48", "local-use NAT64",
		"::/96", "IPv4-compatible (deprecated)",
		"100::/64", "discard-only",
		"2001::/23", "IETF protocol assignments",
		"2001:db8::/32", "documentation",
		"3fff::/20", "documentation",
		"fc00::/7", "unique local (private)",
		"fe80::/10", "link-local",
		"fec0::/10", "site-local (deprecated)",
		"ff00::/8", "multicast",
	)
	nat64         = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour     = netip.MustParsePrefix("2002::/16")
	globalUnicast = netip.MustParsePrefix("2000::/3")
)
