package httpprobe

import (
	"crypto/tls"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// The phases of a request, as named in Result.Error ("timeout after 5s
// during ttfb").
const (
	phaseDNS      = "dns"
	phaseConnect  = "connect"
	phaseTLS      = "tls"
	phaseRequest  = "request"  // writing the request
	phaseTTFB     = "ttfb"     // waiting for the first response byte
	phaseDownload = "download" // reading the response
)

// tracer measures the phases of one probe with httptrace. The hooks run on
// the transport's goroutines (the dial may even outlive a cancelled request),
// so every field is behind mu. Phases are summed over redirect hops; the
// download is the final response's.
type tracer struct {
	mu        sync.Mutex
	phase     string
	dnsStart  time.Time
	connStart time.Time
	tlsStart  time.Time
	wrote     time.Time
	firstByte time.Time
	t         check.Timings
}

func newTracer() *tracer { return &tracer{phase: phaseConnect} }

// clientTrace returns the hooks feeding t.
func (t *tracer) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) {
			t.mu.Lock()
			t.phase, t.dnsStart = phaseDNS, time.Now()
			t.mu.Unlock()
		},
		DNSDone: func(httptrace.DNSDoneInfo) {
			t.mu.Lock()
			t.t.DNS += since(t.dnsStart)
			t.mu.Unlock()
		},
		ConnectStart: func(string, string) {
			t.mu.Lock()
			t.phase = phaseConnect
			// With Happy Eyeballs two connects overlap: time the first start
			// to the first completion.
			if t.connStart.IsZero() {
				t.connStart = time.Now()
			}
			t.mu.Unlock()
		},
		ConnectDone: func(string, string, error) {
			t.mu.Lock()
			if !t.connStart.IsZero() {
				t.t.Connect += since(t.connStart)
				t.connStart = time.Time{}
			}
			t.mu.Unlock()
		},
		TLSHandshakeStart: func() {
			t.mu.Lock()
			t.phase, t.tlsStart = phaseTLS, time.Now()
			t.mu.Unlock()
		},
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			t.mu.Lock()
			t.t.TLS += since(t.tlsStart)
			t.mu.Unlock()
		},
		GotConn: func(httptrace.GotConnInfo) {
			t.mu.Lock()
			t.phase = phaseRequest
			t.mu.Unlock()
		},
		WroteRequest: func(httptrace.WroteRequestInfo) {
			t.mu.Lock()
			t.phase, t.wrote = phaseTTFB, time.Now()
			t.mu.Unlock()
		},
		GotFirstResponseByte: func() {
			t.mu.Lock()
			t.firstByte = time.Now()
			if !t.wrote.IsZero() {
				t.t.TTFB += t.firstByte.Sub(t.wrote)
			}
			t.phase = phaseDownload
			t.mu.Unlock()
		},
	}
}

// currentPhase is the phase the request is in, or ended in.
func (t *tracer) currentPhase() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.phase
}

// enterDownload marks the response body being read.
func (t *tracer) enterDownload() {
	t.mu.Lock()
	t.phase = phaseDownload
	t.mu.Unlock()
}

// timings returns the phases measured, with Download running from the
// first response byte to end and Total from start to end.
func (t *tracer) timings(start, end time.Time, downloaded bool) check.Timings {
	t.mu.Lock()
	defer t.mu.Unlock()
	tm := t.t
	if downloaded && !t.firstByte.IsZero() {
		tm.Download = end.Sub(t.firstByte)
	}
	tm.Total = end.Sub(start)
	return tm
}

func since(t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return time.Since(t)
}
