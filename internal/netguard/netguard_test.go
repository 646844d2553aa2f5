package netguard

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestCheck judges addresses only: none of them is ever dialled.
func TestCheck(t *testing.T) {
	tests := []struct {
		addr   string
		reason string // substring of the refusal; "" means allowed
	}{
		{"169.254.169.254", "cloud metadata endpoint"},
		{"169.254.1.1", "link-local"},
		{"fd00:ec2::254", "AWS IPv6 metadata endpoint"},
		{"fd00:ec2::1", "unique local"},
		{"10.1.2.3", "private (10.0.0.0/8)"},
		{"172.16.0.1", "private (172.16.0.0/12)"},
		{"172.31.255.255", "private (172.16.0.0/12)"},
		{"192.168.1.1", "private (192.168.0.0/16)"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.254", "carrier-grade NAT"},
		{"127.0.0.1", "loopback"},
		{"127.1.2.3", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "IPv4-mapped form of 127.0.0.1, which is loopback"},
		{"::ffff:169.254.169.254", "cloud metadata endpoint"},
		{"::ffff:10.0.0.1", "private"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "this network"},
		{"::", "unspecified"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"fc00::1", "unique local"},
		{"fec0::1", "site-local"},
		{"192.0.0.170", "IETF protocol assignments"},
		{"192.0.2.1", "documentation"},
		{"198.51.100.7", "documentation"},
		{"203.0.113.9", "documentation"},
		{"198.18.0.1", "benchmarking"},
		{"192.88.99.1", "6to4 relay anycast"},
		{"2001:db8::1", "documentation"},
		{"2001::1", "IETF protocol assignments"},
		{"::127.0.0.1", "IPv4-compatible"},
		{"100::1", "discard-only"},
		{"5f00::1", "outside global unicast"},
		{"64:ff9b::a9fe:a9fe", "NAT64 form of 169.254.169.254"},
		{"64:ff9b::7f00:1", "NAT64 form of 127.0.0.1"},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8
		{"64:ff9b:1::a00:1", "local-use NAT64"},
		{"2002:7f00:1::1", "6to4 form of 127.0.0.1"},
		{"2002:a00:1::", "6to4 form of 10.0.0.1"},
		{"2002:808:808::1", ""}, // 6to4 of 8.8.8.8
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"172.32.0.1", ""},
		{"100.128.0.1", ""},
		{"169.255.0.1", ""},
		{"2001:4860::8888", ""},
		{"2606:4700:4700::1111", ""},
		{"::ffff:8.8.8.8", ""},
	}
	var p Policy
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := p.Check(netip.MustParseAddr(tt.addr))
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want allowed", tt.addr, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check(%s) = nil, want refused (%s)", tt.addr, tt.reason)
			}
			if !errors.Is(err, ErrDenied) {
				t.Errorf("errors.Is(%v, ErrDenied) = false", err)
			}
			var denied *DeniedError
			if !errors.As(err, &denied) {
				t.Fatalf("error %T is not a *DeniedError", err)
			}
			if !strings.Contains(denied.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", denied.Reason, tt.reason)
			}
			if !strings.Contains(err.Error(), "--allow-net") {
				t.Errorf("error %q does not say how to allow the address", err)
			}
		})
	}
}

func TestCheckInvalidAddress(t *testing.T) {
	if err := (Policy{}).Check(netip.Addr{}); !errors.Is(err, ErrDenied) {
		t.Fatalf("Check(zero Addr) = %v, want refused", err)
	}
}

func TestCheckAllowList(t *testing.T) {
	allow, err := ParseCIDRs([]string{"127.0.0.0/8", "10.20.0.0/16", "::ffff:192.168.0.0/112", "fd00:ec2::254"})
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{Allow: allow}
	tests := []struct {
		addr    string
		allowed bool
	}{
		{"127.0.0.1", true},
		{"127.255.0.1", true},
		{"::ffff:127.0.0.1", true}, // mapped form of an allowed address
		{"64:ff9b::7f00:1", true},  // NAT64 form of an allowed address
		{"10.20.3.4", true},
		{"10.21.0.1", false},
		{"192.168.7.7", true}, // allowed through an IPv4-mapped prefix
		{"192.169.0.1", true}, // public anyway
		{"192.168.0.0", true},
		{"fd00:ec2::254", true},
		{"fd00:ec2::253", false},
		{"::1", false}, // 127.0.0.0/8 does not open IPv6 loopback
		{"169.254.169.254", false},
	}
	for _, tt := range tests {
		err := p.Check(netip.MustParseAddr(tt.addr))
		if (err == nil) != tt.allowed {
			t.Errorf("Check(%s) = %v, want allowed=%v", tt.addr, err, tt.allowed)
		}
	}
}

func TestParseCIDRs(t *testing.T) {
	got, err := ParseCIDRs([]string{"127.0.0.0/8", " 10.1.2.3/8 ", "::1", "192.0.2.7", "::ffff:10.0.0.0/104", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.0/8", "10.0.0.0/8", "::1/128", "192.0.2.7/32", "10.0.0.0/8", "fd00::/8"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("entry %d: got %s, want %s", i+1, got[i], want[i])
		}
	}

	_, err = ParseCIDRs([]string{"127.0.0.0/8", "localhost", "10.0.0.0/33", "", "fe80::1%eth0"})
	if err == nil {
		t.Fatal("ParseCIDRs accepted bad entries")
	}
	for _, want := range []string{
		`allow-net entry 2 "localhost": is neither a CIDR`,
		`allow-net entry 3 "10.0.0.0/33": is not a valid CIDR`,
		`allow-net entry 4 "": is empty`,
		`allow-net entry 5 "fe80::1%eth0": must not carry a zone`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "entry 1") {
		t.Errorf("error %q blames a good entry", err)
	}
}

func TestControlRefusesOtherNetworks(t *testing.T) {
	var p Policy
	if err := p.Control("unix", "/run/docker.sock", nil); !errors.Is(err, ErrDenied) {
		t.Errorf("Control(unix) = %v, want refused", err)
	}
	if err := p.Control("tcp4", "not-an-address", nil); !errors.Is(err, ErrDenied) {
		t.Errorf("Control(garbage) = %v, want refused", err)
	}
	if err := p.Control("tcp6", "[2001:4860::8888]:443", nil); err != nil {
		t.Errorf("Control(public v6) = %v, want allowed", err)
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:a00:1::", "8.8.8.8", "fe80::1%lo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return
		}
		err = (Policy{}).Check(a)
		if err != nil && !errors.Is(err, ErrDenied) {
			t.Fatalf("Check(%s) = %v, not ErrDenied", s, err)
		}
		// Whatever the form, an address reaching loopback is refused.
		if a.Unmap().IsLoopback() && err == nil {
			t.Fatalf("Check(%s) allowed a loopback address", s)
		}
		// With everything allowed, nothing is refused.
		all := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}}
		if err := all.Check(a); err != nil {
			t.Fatalf("Check(%s) with everything allowed = %v", s, err)
		}
	})
}
