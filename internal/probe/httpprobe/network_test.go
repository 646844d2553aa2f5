package httpprobe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/netguard"
)

// Tests of what happens on the way to the target: connect, DNS, the
// network guard and redirects.

func TestProbeConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	res := newProber(t, Options{Policy: loopback}).Probe(context.Background(), apiCheck("http://"+addr+"/"))
	wantStatus(t, res, check.StatusFailed, "connect "+addr+": connection refused")
	if res.HTTP != nil {
		t.Errorf("HTTP result %+v for a refused connection", res.HTTP)
	}
}

// TestProbeDNSFailure resolves through a resolver that has no server, so
// no lookup leaves the machine.
func TestProbeDNSFailure(t *testing.T) {
	resolver := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS server in tests")
	}}
	p := newProber(t, Options{Policy: loopback, Resolver: resolver})
	res := p.Probe(context.Background(), apiCheck("http://checkfleet-test.invalid/"))
	wantStatus(t, res, check.StatusFailed, "dns lookup checkfleet-test.invalid: ")
}

// TestProbeGuardRefusesLoopbackByDefault: with the default policy, a check
// of a loopback server ends in error and the server never sees a connection.
func TestProbeGuardRefusesLoopbackByDefault(t *testing.T) {
	var conns, requests atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	p := newProber(t, Options{}) // the default policy
	for _, url := range []string{srv.URL, "http://localhost:" + port + "/"} {
		res := p.Probe(context.Background(), apiCheck(url))
		wantStatus(t, res, check.StatusError, "network guard refused")
		if !strings.Contains(res.Error, "loopback") || !strings.HasPrefix(res.Error, "connect ") {
			t.Errorf("%s: error %q does not say a loopback connect was refused", url, res.Error)
		}
	}
	// A request of our own must be the first connection the server accepts.
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if conns.Load() != 1 || requests.Load() != 1 {
		t.Fatalf("server saw %d connections and %d requests, want only the test's own", conns.Load(), requests.Load())
	}
}

func TestProbeRedirects(t *testing.T) {
	// /r/N redirects to /r/N-1; /r/0 answers.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
		if n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), http.StatusFound)
			return
		}
		io.WriteString(w, "arrived")
	}))
	defer srv.Close()
	p := newProber(t, Options{Policy: loopback})
	tests := []struct {
		name     string
		hops     int
		follow   bool
		max      int
		status   check.Status
		code     int
		errText  string
		withBody bool
	}{
		{name: "not followed", hops: 1, code: 302, status: check.StatusPassed},
		{name: "followed", hops: 3, follow: true, code: 200, status: check.StatusPassed, withBody: true},
		{name: "at the limit", hops: 3, follow: true, max: 3, code: 200, status: check.StatusPassed},
		{name: "over the limit", hops: 3, follow: true, max: 2, status: check.StatusFailed, errText: "redirect: more than 2 redirects (the next was to " + srv.URL + "/r/0)"},
		{name: "default limit reached", hops: 10, follow: true, code: 200, status: check.StatusPassed},
		{name: "default limit exceeded", hops: 11, follow: true, status: check.StatusFailed, errText: "redirect: more than 10 redirects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := apiCheck(fmt.Sprintf("%s/r/%d", srv.URL, tt.hops))
			c.API.FollowRedirects, c.API.MaxRedirects = tt.follow, tt.max
			if tt.withBody {
				c.Assertions = []check.Assertion{assert(check.SourceTextBody, "", check.Equals, "arrived")}
			}
			res := p.Probe(context.Background(), c)
			wantStatus(t, res, tt.status, tt.errText)
			if tt.code != 0 && (res.HTTP == nil || res.HTTP.StatusCode != tt.code) {
				t.Fatalf("HTTP result %+v, want status code %d", res.HTTP, tt.code)
			}
		})
	}
}

// TestProbeRedirectToForbiddenAddress allows 127.0.0.2 alone; it redirects
// to 127.0.0.1, which must never see a connection.
func TestProbeRedirectToForbiddenAddress(t *testing.T) {
	var conns atomic.Int32
	target := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	target.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	target.Start()
	defer target.Close()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("cannot listen on 127.0.0.2: %v", err)
	}
	allowed := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/admin", http.StatusTemporaryRedirect)
	}))
	allowed.Listener.Close()
	allowed.Listener = ln
	allowed.Start()
	defer allowed.Close()

	policy := netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}
	c := apiCheck(allowed.URL)
	c.API.FollowRedirects = true
	res := newProber(t, Options{Policy: policy}).Probe(context.Background(), c)
	wantStatus(t, res, check.StatusError, "network guard refused 127.0.0.1")
	if !strings.Contains(res.Error, "(after redirect to "+target.URL+"/admin)") {
		t.Errorf("error %q does not name the redirect", res.Error)
	}
	resp, err := http.Get(target.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if conns.Load() != 1 {
		t.Fatalf("target accepted %d connections, want only the test's own", conns.Load())
	}
}
