package browser

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/netguard"
)

// proxyClient is an HTTP client using p with the credentials of s (none if
// s is nil).
func proxyClient(p *proxy, s *session) *http.Client {
	u, _ := url.Parse(p.url())
	if s != nil {
		u.User = url.UserPassword(s.id, s.secret)
	}
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u), DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

func newTestProxy(t *testing.T, policy netguard.Policy) *proxy {
	t.Helper()
	p, err := newProxy(policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return p
}

func TestProxyServesOnlyLiveSessions(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("Proxy-Authorization") != "" {
			t.Error("the proxy passed its credentials on to the target")
		}
		fmt.Fprint(w, "hello")
	}))
	defer target.Close()
	p := newTestProxy(t, loopback)
	s := p.newSession()

	resp, err := proxyClient(p, s).Get(target.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello" {
		t.Fatalf("through the proxy: %d %q", resp.StatusCode, body)
	}

	for name, c := range map[string]*http.Client{
		"no credentials":    proxyClient(p, nil),
		"wrong secret":      proxyClient(p, &session{id: s.id, secret: "guess"}),
		"unknown session":   proxyClient(p, &session{id: "nobody", secret: s.secret}),
		"ended session":     proxyClient(p, s),
		"malformed session": proxyClient(p, &session{id: "", secret: ""}),
	} {
		if name == "ended session" {
			p.endSession(s)
		}
		resp, err := c.Get(target.URL + "/y")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusProxyAuthRequired || resp.Header.Get("Proxy-Authenticate") == "" {
			t.Errorf("%s: status %d, want 407 with a challenge", name, resp.StatusCode)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("target saw %d requests, want only the authorized one", n)
	}
}

func TestProxyGuardRefusals(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer target.Close()
	var refused atomic.Int32
	p, err := newProxy(netguard.Policy{}, func() { refused.Add(1) }) // loopback refused
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	s := p.newSession()

	resp, err := proxyClient(p, s).Get(target.URL + "/plain")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get(headerGuard) != "refused" ||
		!strings.Contains(resp.Header.Get(headerProxyError), "network guard refused 127.0.0.1") {
		t.Errorf("plain http: %d %v", resp.StatusCode, resp.Header)
	}

	hostPort := strings.TrimPrefix(target.URL, "http://")
	code, hdr := rawConnect(t, p, s, hostPort)
	if code != http.StatusForbidden || !strings.Contains(hdr.Get(headerProxyError), "network guard refused") {
		t.Errorf("CONNECT: %d %v", code, hdr)
	}
	ref, ok := s.lookup("", hostPort)
	if !ok || !ref.guard || !strings.Contains(ref.reason, "loopback") {
		t.Errorf("CONNECT refusal recorded as %+v, %v", ref, ok)
	}
	if ref, ok := s.lookup(target.URL+"/plain", hostPort); !ok || ref.url != target.URL+"/plain" {
		t.Errorf("plain refusal recorded as %+v, %v", ref, ok)
	}
	if hits.Load() != 0 || refused.Load() != 2 {
		t.Errorf("target hits %d (want 0), refusals counted %d (want 2)", hits.Load(), refused.Load())
	}
}

// rawConnect sends a CONNECT and returns the status and headers.
func rawConnect(t *testing.T, p *proxy, s *session, hostPort string) (int, http.Header) {
	t.Helper()
	c, err := net.Dial("tcp", p.self.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	auth := base64.StdEncoding.EncodeToString([]byte(s.id + ":" + s.secret))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n", hostPort, hostPort, auth)
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func TestProxyTunnels(t *testing.T) {
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "secure") }))
	defer target.Close()
	p := newTestProxy(t, loopback)
	s := p.newSession()
	c := proxyClient(p, s)
	c.Transport.(*http.Transport).TLSClientConfig = target.Client().Transport.(*http.Transport).TLSClientConfig
	resp, err := c.Get(target.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "secure" {
		t.Fatalf("through the tunnel: %q", body)
	}
	// Ending the session closes its tunnels.
	conn, err := net.Dial("tcp", p.self.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	auth := base64.StdEncoding.EncodeToString([]byte(s.id + ":" + s.secret))
	host := strings.TrimPrefix(target.URL, "https://")
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n", host, host, auth)
	br := bufio.NewReader(conn)
	resp, err = http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	p.endSession(s)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("tunnel still open after its session ended: %v", err)
	}
}

func TestProxyRefusesItselfAndOriginForm(t *testing.T) {
	p := newTestProxy(t, netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	s := p.newSession()
	resp, err := proxyClient(p, s).Get(p.url() + "/anything")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get(headerProxyError), "the worker's own browser proxy") {
		t.Errorf("a request to the proxy itself: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, p.url()+"/", nil)
	req.SetBasicAuth(s.id, s.secret)
	req.Header.Set("Proxy-Authorization", req.Header.Get("Authorization"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("origin-form request: %d, want 400", resp.StatusCode)
	}
}

func TestPrimeIsAnsweredLocally(t *testing.T) {
	p := newTestProxy(t, netguard.Policy{})
	s := p.newSession()
	resp, err := proxyClient(p, s).Get("http://" + primeHost + "/prime")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("prime: %d", resp.StatusCode)
	}
	select {
	case <-s.primed:
	default:
		t.Error("session not marked primed")
	}
}

func TestDescribeDial(t *testing.T) {
	_, err := netguard.Policy{}.DialContext(context.Background(), "tcp", "169.254.169.254:80")
	if got := describeDial("169.254.169.254:80", err); !strings.HasPrefix(got, "connect 169.254.169.254:80: network guard refused 169.254.169.254: the cloud metadata endpoint") {
		t.Errorf("guard: %q", got)
	}
	_, err = net.Dial("tcp", closedPort(t))
	if got := describeDial("x", err); !strings.Contains(got, "connection refused") {
		t.Errorf("refused: %q", got)
	}
	err = &net.DNSError{Name: "nope.invalid", Err: "no such host", IsNotFound: true}
	if got := describeDial("nope.invalid:80", err); got != "dns lookup nope.invalid: no such host" {
		t.Errorf("dns: %q", got)
	}
}
