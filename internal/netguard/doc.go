// Package netguard keeps checks away from the network the worker lives in.
//
// A check's URL is written by a user, and a worker runs inside someone's
// infrastructure: without a guard, a check could read the cloud metadata
// endpoint (169.254.169.254, fd00:ec2::254), a database on a private address
// or an admin port on loopback, and report what it found in its result.
// A Policy refuses every address that is not publicly routable unless an
// operator allows it (`--allow-net CIDR`, repeatable; `make run` allows
// loopback for the demo targets).
//
// # Where the judgement happens
//
// The address is judged when the socket is about to connect, through
// net.Dialer's Control hook, which sees the IP address and port actually
// dialled. A DNS name that resolves to a forbidden address is therefore
// refused, and so is a redirect to one, since every connection of an HTTP
// client whose transport dials through Policy.DialContext (or a dialer from
// Policy.Dialer) passes the hook. The address is never connected to: the
// refusal comes before connect(2). A proxy would defeat the guard (the hook
// would judge the proxy, not the target), so transports using it must not use
// one.
//
// # What is refused
//
// Policy.Check refuses, unless an allow-list prefix contains the address:
//
//   - unspecified (0.0.0.0, ::) and "this network" (0.0.0.0/8);
//   - loopback (127.0.0.0/8, ::1);
//   - link-local (169.254.0.0/16 with the metadata endpoint 169.254.169.254,
//     fe80::/10);
//   - private (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7 unique
//     local, which holds AWS's fd00:ec2::254) and shared address space
//     (100.64.0.0/10, carrier-grade NAT, also used inside clouds);
//   - multicast (224.0.0.0/4, ff00::/8), broadcast and reserved
//     (240.0.0.0/4, which holds 255.255.255.255);
//   - the other special-purpose ranges IANA marks as not globally reachable:
//     IETF protocol assignments (192.0.0.0/24, 2001::/23), documentation
//     (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32,
//     3fff::/20), benchmarking (198.18.0.0/15, used by some proxies for fake
//     addresses), the deprecated 6to4 relay anycast (192.88.99.0/24) and
//     IPv6 site-local (fec0::/10);
//   - every IPv6 address outside global unicast 2000::/3 not named above
//     (IPv4-compatible ::/96, discard-only 100::/64, SRv6 5f00::/16, ...).
//
// Addresses that embed an IPv4 address are judged by what they reach:
// an IPv4-mapped address (::ffff:127.0.0.1) is judged as its IPv4 address,
// since the kernel connects to that; so are NAT64 addresses of the
// well-known prefix 64:ff9b::/96 (a NAT64 gateway forwards them to the
// embedded address, which inside a VPC includes private ones) and 6to4
// addresses 2002::/16 (a relay delivers them to the embedded address).
// The local-use NAT64 prefix 64:ff9b:1::/48 is refused outright: its
// embedding depends on the operator's prefix length.
//
// The allow-list is consulted first, with the address as dialled and then
// with its embedded IPv4 address, so allowing 127.0.0.0/8 also allows
// ::ffff:127.0.0.1. Allow-list prefixes written in IPv4-mapped form
// (::ffff:10.0.0.0/104) are read as their IPv4 prefix.
package netguard
