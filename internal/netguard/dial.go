package netguard

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// Control judges the address a socket is about to connect to; it has the
// signature of net.Dialer.Control. network is "tcp4", "tcp6", "udp4" or
// "udp6" and address is the resolved "IP:port", so what is judged is what
// would be connected to. Any other network (unix sockets) is refused.
func (p Policy) Control(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return fmt.Errorf("network guard: network %q is not allowed for checks: %w", network, ErrDenied)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("network guard: cannot judge address %q: %w", address, ErrDenied)
	}
	return p.Check(ap.Addr())
}

// Dialer returns a copy of d whose every connection is judged by p first.
// A Control or ControlContext already set on d still runs, after p allows
// the address. d may be nil for a zero net.Dialer.
func (p Policy) Dialer(d *net.Dialer) *net.Dialer {
	var guarded net.Dialer
	if d != nil {
		guarded = *d
	}
	inner, innerCtx := guarded.Control, guarded.ControlContext
	guarded.Control = nil
	guarded.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
		if err := p.Control(network, address, c); err != nil {
			return err
		}
		switch {
		case innerCtx != nil:
			return innerCtx(ctx, network, address, c)
		case inner != nil:
			return inner(network, address, c)
		}
		return nil
	}
	return &guarded
}

// DialContext dials like a zero net.Dialer with p judging every address it
// connects to. It has the shape of http.Transport.DialContext. A refusal is
// a *net.OpError wrapping a *DeniedError, so errors.Is(err, ErrDenied) and
// errors.As(err, &denied) work through it and through *url.Error.
func (p Policy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return p.Dialer(nil).DialContext(ctx, network, address)
}
