package netguard

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Dial-time tests send traffic to loopback only.

var allowLoopback = Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

// acceptLog is a TCP listener on loopback that records the remote address of
// every connection it accepts, in order.
type acceptLog struct {
	ln       net.Listener
	accepted chan string
}

func listen(t *testing.T, addr string) *acceptLog {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot listen on %s (this test needs loopback addresses): %v", addr, err)
	}
	l := &acceptLog{ln: ln, accepted: make(chan string, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.accepted <- c.RemoteAddr().String()
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return l
}

// assertNothingAccepted proves no connection reached the listener before
// now: it connects once more without the guard and requires that connection
// to be the first the listener accepts (the kernel queues connections in
// arrival order).
func (l *acceptLog) assertNothingAccepted(t *testing.T) {
	t.Helper()
	c, err := net.Dial("tcp", l.ln.Addr().String())
	if err != nil {
		t.Fatalf("sentinel dial: %v", err)
	}
	defer c.Close()
	select {
	case got := <-l.accepted:
		if got != c.LocalAddr().String() {
			t.Fatalf("listener accepted %s before the sentinel %s: the guard let a connection through", got, c.LocalAddr())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("listener never accepted the sentinel connection")
	}
}

func TestDialRefusesLoopbackByDefault(t *testing.T) {
	l := listen(t, "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(l.ln.Addr().String())
	for _, target := range []string{
		l.ln.Addr().String(),
		net.JoinHostPort("localhost", port),
		net.JoinHostPort("::ffff:127.0.0.1", port),
	} {
		t.Run(target, func(t *testing.T) {
			c, err := (Policy{}).DialContext(context.Background(), "tcp", target)
			if err == nil {
				c.Close()
				t.Fatalf("dial %s succeeded, want refused", target)
			}
			if !errors.Is(err, ErrDenied) {
				t.Fatalf("dial %s: %v, want ErrDenied", target, err)
			}
			var denied *DeniedError
			if !errors.As(err, &denied) || !denied.Addr.Unmap().IsLoopback() {
				t.Fatalf("dial %s: %v, want a *DeniedError for a loopback address", target, err)
			}
			l.assertNothingAccepted(t)
		})
	}
}

func TestDialAllowsAllowListed(t *testing.T) {
	l := listen(t, "127.0.0.1:0")
	c, err := allowLoopback.DialContext(context.Background(), "tcp", l.ln.Addr().String())
	if err != nil {
		t.Fatalf("dial with 127.0.0.0/8 allowed: %v", err)
	}
	defer c.Close()
	if got := <-l.accepted; got != c.LocalAddr().String() {
		t.Fatalf("listener accepted %s, want %s", got, c.LocalAddr())
	}
}

func TestDialerKeepsExistingControl(t *testing.T) {
	l := listen(t, "127.0.0.1:0")
	var calls atomic.Int32
	d := allowLoopback.Dialer(&net.Dialer{Timeout: 5 * time.Second, ControlContext: nil})
	d2 := allowLoopback.Dialer(&net.Dialer{Control: func(string, string, syscall.RawConn) error {
		calls.Add(1)
		return nil
	}})
	for _, d := range []*net.Dialer{d, d2} {
		c, err := d.Dial("tcp", l.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		<-l.accepted
	}
	if calls.Load() != 1 {
		t.Fatalf("inner Control ran %d times, want 1", calls.Load())
	}
	// Refused addresses never reach the inner Control.
	d3 := (Policy{}).Dialer(&net.Dialer{Control: func(string, string, syscall.RawConn) error {
		calls.Add(1)
		return nil
	}})
	if _, err := d3.Dial("tcp", l.ln.Addr().String()); !errors.Is(err, ErrDenied) {
		t.Fatalf("dial = %v, want refused", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("inner Control ran for a refused address")
	}
}

// TestRedirectToForbiddenAddress allows 127.0.0.2 alone; a server there
// redirects to a server on 127.0.0.1, which must never see a connection.
func TestRedirectToForbiddenAddress(t *testing.T) {
	var targetRequests, newConns atomic.Int32
	target := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		targetRequests.Add(1)
		io.WriteString(w, "secret")
	}))
	target.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	target.Start()
	defer target.Close()

	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("cannot listen on 127.0.0.2 (Linux routes all of 127.0.0.0/8 to lo): %v", err)
	}
	var redirects atomic.Int32
	allowed := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirects.Add(1)
		http.Redirect(w, r, target.URL+"/latest/meta-data/", http.StatusFound)
	}))
	allowed.Listener.Close()
	allowed.Listener = ln
	allowed.Start()
	defer allowed.Close()

	p := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}
	client := &http.Client{Transport: &http.Transport{DialContext: p.DialContext, DisableKeepAlives: true}}
	resp, err := client.Get(allowed.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s followed the redirect to %s: status %s", allowed.URL, target.URL, resp.Status)
	}
	var denied *DeniedError
	if !errors.As(err, &denied) || denied.Addr != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("GET: %v, want a refusal of 127.0.0.1", err)
	}
	if redirects.Load() != 1 {
		t.Fatalf("allowed server saw %d requests, want 1", redirects.Load())
	}

	// Prove the target saw nothing: one request of our own must be the
	// first connection it ever accepted.
	resp, err = http.Get(target.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := newConns.Load(); n != 1 {
		t.Fatalf("target accepted %d connections, want only the test's own", n)
	}
	if n := targetRequests.Load(); n != 1 {
		t.Fatalf("target served %d requests, want only the test's own", n)
	}
}
