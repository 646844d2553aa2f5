package browser

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/checkfleet/checkfleet/internal/netguard"
)

// Headers the proxy sets on the responses it makes itself, so the prober
// can tell them from the target's and say why.
const (
	headerProxyError = "X-Checkfleet-Proxy-Error" // why the proxy answered instead of the target
	headerGuard      = "X-Checkfleet-Guard"       // "refused" when the network guard refused the address
)

// primeHost is the host a new browser context first requests through the
// proxy so that Chromium learns the session's credentials (see
// tab.prime). The proxy answers it itself and never resolves or dials it.
const primeHost = "checkfleet-proxy.invalid"

// dialTimeout bounds one outbound connect of the proxy.
const dialTimeout = 30 * time.Second

// proxy is the HTTP proxy every request of the browser goes through, so
// that the network guard judges every address a page connects to: documents,
// subresources, redirects, fetch and XHR, and websockets (Chromium tunnels
// those, and https, through CONNECT).
//
// It listens on loopback and serves only requests carrying the credentials
// of a live session (one per browser context, see newSession), sent as
// Proxy-Authorization: Basic. Anything else, including Chromium's own
// background requests from its default context, gets 407 and goes nowhere.
type proxy struct {
	ln       net.Listener
	srv      *http.Server
	self     netip.AddrPort
	forward  *httputil.ReverseProxy
	dialer   *net.Dialer
	onRefuse func() // counts refusals by the guard

	mu       sync.Mutex
	sessions map[string]*session
	tunnels  map[net.Conn]string // open CONNECT tunnels (client side) by session id
	tunnelWG sync.WaitGroup
	closed   bool

	served chan struct{}
}

// session is what the proxy knows of one browser context: its credentials,
// whether Chromium has proved to hold them, and the requests it refused.
type session struct {
	id, secret string
	primed     chan struct{}
	primeOnce  sync.Once

	mu       sync.Mutex
	refusals []refusal
}

// refusal is a request the proxy did not pass on, and why.
type refusal struct {
	hostPort string // the target, host:port
	url      string // the URL for plain http, empty for a CONNECT
	reason   string // "connect 127.0.0.1:80: network guard refused ..."
	guard    bool   // refused by the network guard (not a failure of the target)
}

// maxRefusals bounds what one session remembers.
const maxRefusals = 200

// newProxy listens on 127.0.0.1:0. Its outbound connections go through
// policy; onRefuse is called for each refusal by the guard.
func newProxy(policy netguard.Policy, onRefuse func()) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("browser proxy: listen on loopback: %w", err)
	}
	p := &proxy{
		ln:       ln,
		self:     ln.Addr().(*net.TCPAddr).AddrPort(),
		onRefuse: onRefuse,
		sessions: make(map[string]*session),
		tunnels:  make(map[net.Conn]string),
		served:   make(chan struct{}),
	}
	// The guard runs first; then the proxy refuses to connect to itself,
	// which an allow-list holding loopback would otherwise permit.
	p.dialer = policy.Dialer(&net.Dialer{Timeout: dialTimeout, Control: p.notSelf})
	transport := &http.Transport{
		Proxy:                  nil, // the guard must judge the target, never another proxy
		DialContext:            p.dialer.DialContext,
		DisableKeepAlives:      true, // no connection outlives a request, so no check reuses another's
		DisableCompression:     true, // pass the browser's Accept-Encoding through untouched
		ResponseHeaderTimeout:  0,    // the check's own timeout bounds the wait
		MaxResponseHeaderBytes: 1 << 20,
	}
	p.forward = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = pr.In.URL // absolute-form: already the target
			pr.Out.Host = pr.In.Host
		},
		Transport:     transport,
		FlushInterval: -1,
		ErrorHandler:  p.forwardFailed,
		ErrorLog:      discardLog,
	}
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          discardLog,
	}
	go func() {
		defer close(p.served)
		_ = p.srv.Serve(ln)
	}()
	return p, nil
}

// url is the value of Chromium's --proxy-server.
func (p *proxy) url() string { return "http://" + p.self.String() }

// newSession registers a browser context's credentials.
func (p *proxy) newSession() *session {
	s := &session{id: rand.Text(), secret: rand.Text(), primed: make(chan struct{})}
	p.mu.Lock()
	p.sessions[s.id] = s
	p.mu.Unlock()
	return s
}

// endSession forgets s and closes its tunnels still open.
func (p *proxy) endSession(s *session) {
	p.mu.Lock()
	delete(p.sessions, s.id)
	var open []net.Conn
	for c, id := range p.tunnels {
		if id == s.id {
			open = append(open, c)
		}
	}
	p.mu.Unlock()
	for _, c := range open {
		_ = c.Close()
	}
}

// close stops serving, closes every tunnel and waits for their goroutines.
func (p *proxy) close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.tunnels {
		_ = c.Close()
	}
	p.mu.Unlock()
	err := p.srv.Close()
	<-p.served
	p.tunnelWG.Wait()
	return err
}

// ServeHTTP implements http.Handler.
func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := p.authenticate(r)
	if s == nil {
		w.Header().Set("Proxy-Authenticate", `Basic realm="checkfleet"`)
		w.WriteHeader(http.StatusProxyAuthRequired)
		return
	}
	switch {
	case r.Method == http.MethodConnect:
		p.tunnel(w, r, s)
	case r.URL.Host == "" || !r.URL.IsAbs():
		// Origin-form: someone spoke to the proxy as if it were a server.
		http.Error(w, "this is a proxy: send absolute-form requests", http.StatusBadRequest)
	case r.URL.Hostname() == primeHost:
		s.primeOnce.Do(func() { close(s.primed) })
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Scheme != "http":
		http.Error(w, "only http is proxied in absolute form; https goes through CONNECT", http.StatusBadRequest)
	default:
		p.forward.ServeHTTP(w, r.WithContext(withSession(r.Context(), s)))
	}
}

// authenticate returns the session whose credentials r carries, or nil.
func (p *proxy) authenticate(r *http.Request) *session {
	h := r.Header.Get("Proxy-Authorization")
	enc, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return nil
	}
	id, secret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil
	}
	p.mu.Lock()
	s := p.sessions[id]
	p.mu.Unlock()
	if s == nil || subtle.ConstantTimeCompare([]byte(secret), []byte(s.secret)) != 1 {
		return nil
	}
	return s
}

// tunnel serves CONNECT: it dials the target through the guard and, once
// connected, copies bytes both ways until either side closes.
func (p *proxy) tunnel(w http.ResponseWriter, r *http.Request, s *session) {
	hostPort := r.Host
	if _, _, err := net.SplitHostPort(hostPort); err != nil {
		http.Error(w, "CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	if host, _, _ := net.SplitHostPort(hostPort); host == primeHost {
		http.Error(w, "not a real host", http.StatusForbidden)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), dialTimeout)
	upstream, err := p.dialer.DialContext(ctx, "tcp", hostPort)
	cancel()
	if err != nil {
		ref := p.refuse(s, hostPort, "", err)
		w.Header().Set(headerProxyError, ref.reason)
		if ref.guard {
			w.Header().Set(headerGuard, "refused")
		}
		w.WriteHeader(failureStatus(ref))
		return
	}
	rc := http.NewResponseController(w)
	client, buf, err := rc.Hijack()
	if err != nil {
		_ = upstream.Close()
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = client.Close()
		_ = upstream.Close()
		return
	}
	p.tunnels[client] = s.id
	p.tunnelWG.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.tunnelWG.Done()
		defer func() {
			p.mu.Lock()
			delete(p.tunnels, client)
			p.mu.Unlock()
		}()
		splice(client, buf, upstream)
	}()
}

// splice answers 200 to the CONNECT and copies both ways; it returns when
// both directions are done, having closed both connections.
func splice(client net.Conn, buf *bufio.ReadWriter, upstream net.Conn) {
	defer client.Close()
	defer upstream.Close()
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Bytes the client sent after the CONNECT line may sit in buf.
		_, _ = io.Copy(upstream, buf.Reader)
		closeWrite(upstream)
	}()
	_, _ = io.Copy(client, upstream)
	closeWrite(client)
	// The other direction may wait for a client that keeps its end open;
	// the upstream has finished, so end it.
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}

// forwardFailed answers a plain-http request the proxy could not pass on.
func (p *proxy) forwardFailed(w http.ResponseWriter, r *http.Request, err error) {
	s := sessionFrom(r.Context())
	if s == nil || errors.Is(err, context.Canceled) {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	ref := p.refuse(s, r.URL.Host, r.URL.String(), err)
	w.Header().Set(headerProxyError, ref.reason)
	if ref.guard {
		w.Header().Set(headerGuard, "refused")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(failureStatus(ref))
	_, _ = io.WriteString(w, "checkfleet proxy: "+ref.reason+"\n")
}

// refuse records why a request to hostPort (url for plain http) failed.
func (p *proxy) refuse(s *session, hostPort, url string, err error) refusal {
	ref := refusal{hostPort: hostPort, url: url, reason: describeDial(hostPort, err)}
	var denied *netguard.DeniedError
	if errors.As(err, &denied) {
		ref.guard = true
		if p.onRefuse != nil {
			p.onRefuse()
		}
	}
	s.mu.Lock()
	if len(s.refusals) < maxRefusals {
		s.refusals = append(s.refusals, ref)
	}
	s.mu.Unlock()
	return ref
}

// lookup returns the last refusal recorded for url (plain http) or, failing
// that, for the host:port of url (a CONNECT).
func (s *session) lookup(url, hostPort string) (refusal, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.refusals) - 1; i >= 0; i-- {
		if r := s.refusals[i]; url != "" && r.url == url {
			return r, true
		}
	}
	for i := len(s.refusals) - 1; i >= 0; i-- {
		if r := s.refusals[i]; r.url == "" && r.hostPort == hostPort {
			return r, true
		}
	}
	return refusal{}, false
}

// describeDial says why a connect to hostPort failed, in the words of
// httpprobe: "connect 127.0.0.1:80: network guard refused ...",
// "dns lookup example.invalid: no such host", "connect 127.0.0.1:9:
// connection refused".
func describeDial(hostPort string, err error) string {
	var (
		denied *netguard.DeniedError
		dnsErr *net.DNSError
		opErr  *net.OpError
	)
	switch {
	case errors.As(err, &denied):
		addr := denied.Addr.String()
		if errors.As(err, &opErr) && opErr.Addr != nil {
			addr = opErr.Addr.String()
		}
		return fmt.Sprintf("connect %s: %v", addr, denied)
	case errors.As(err, &dnsErr):
		cause := dnsErr.Err
		if dnsErr.IsNotFound {
			cause = "no such host"
		}
		return fmt.Sprintf("dns lookup %s: %s", dnsErr.Name, cause)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("connect %s: timeout", hostPort)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		addr := hostPort
		if opErr.Addr != nil {
			addr = opErr.Addr.String()
		}
		var se *os.SyscallError
		if errors.As(opErr.Err, &se) {
			return fmt.Sprintf("connect %s: %v", addr, se.Err)
		}
		return fmt.Sprintf("connect %s: %v", addr, opErr.Err)
	}
	return fmt.Sprintf("%s: %v", hostPort, err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// failureStatus is the status of a response the proxy makes itself.
func failureStatus(r refusal) int {
	switch {
	case r.guard:
		return http.StatusForbidden
	case strings.HasSuffix(r.reason, ": timeout"):
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// notSelf refuses a connect to the proxy's own listener.
func (p *proxy) notSelf(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err == nil && ap.Port() == p.self.Port() && (ap.Addr().Unmap() == p.self.Addr() || ap.Addr().IsUnspecified()) {
		return &netguard.DeniedError{Addr: ap.Addr(), Reason: "the worker's own browser proxy"}
	}
	return nil
}

// discardLog silences net/http's own logging of client mistakes.
var discardLog = log.New(io.Discard, "", 0)

type sessionKey struct{}

func withSession(ctx context.Context, s *session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}
