package httpprobe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/buildinfo"
	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/netguard"
)

// Defaults for Options.
const (
	// DefaultBodyCap is how many bytes of a body are kept: 1 MiB.
	DefaultBodyCap = 1 << 20
	// DefaultMaxRedirects is how many redirects a check may follow when it
	// sets no limit of its own (curl's and Go's default is close to it).
	DefaultMaxRedirects = 10
)

// Limits on the response headers: what the transport accepts, and what a
// Result carries of them, so a result always fits in a queue message.
const (
	maxHeaderBytes     = 256 << 10 // response headers the transport accepts
	maxHeaderValue     = 1 << 10   // bytes of one recorded header value
	maxRecordedHeaders = 16 << 10  // bytes of all recorded headers
	truncatedValueMark = "…"
)

// Options configure a Prober. The zero value is usable: the strictest
// network policy, a 1 MiB body cap, up to 10 redirects, system roots.
type Options struct {
	// Policy judges every address a check connects to, redirects included.
	Policy netguard.Policy
	// BodyCap is how many bytes of a response body are kept for assertions;
	// the rest is read, counted and discarded. Default DefaultBodyCap.
	BodyCap int64
	// UserAgent is sent unless a check sets its own User-Agent header.
	// Default "checkfleet/<version>".
	UserAgent string
	// MaxRedirects is how many redirects a check following redirects may
	// take when it sets no max_redirects itself. Default DefaultMaxRedirects.
	MaxRedirects int
	// RootCAs verifies servers' certificates; nil uses the system roots.
	RootCAs *x509.CertPool
	// Resolver looks names up; nil uses net.DefaultResolver.
	Resolver *net.Resolver
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	var errs []error
	if o.BodyCap < 0 {
		errs = append(errs, fmt.Errorf("body cap must not be negative, got %d", o.BodyCap))
	}
	if o.MaxRedirects < 0 {
		errs = append(errs, fmt.Errorf("max redirects must not be negative, got %d", o.MaxRedirects))
	}
	if strings.ContainsAny(o.UserAgent, "\r\n\x00") {
		errs = append(errs, errors.New("user agent must not contain CR, LF or NUL"))
	}
	return errors.Join(errs...)
}

// Prober runs api checks. It is safe for concurrent use; every probe opens
// its own connections (keep-alives are off) so its timings include DNS,
// connect and TLS, as a first visitor would see them.
type Prober struct {
	bodyCap      int64
	userAgent    string
	maxRedirects int
	transport    *http.Transport
}

// New returns a Prober with o's defaults filled in.
func New(o Options) (*Prober, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("httpprobe options: %w", err)
	}
	if o.BodyCap == 0 {
		o.BodyCap = DefaultBodyCap
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.UserAgent == "" {
		o.UserAgent = "checkfleet/" + buildinfo.Read().Version
	}
	dialer := o.Policy.Dialer(&net.Dialer{KeepAlive: -1, Resolver: o.Resolver})
	return &Prober{
		bodyCap:      o.BodyCap,
		userAgent:    o.UserAgent,
		maxRedirects: o.MaxRedirects,
		transport: &http.Transport{
			// No proxy: the guard must judge the target, not a proxy.
			Proxy:                  nil,
			DialContext:            dialer.DialContext,
			TLSClientConfig:        &tls.Config{RootCAs: o.RootCAs},
			ForceAttemptHTTP2:      true,
			DisableKeepAlives:      true,
			MaxResponseHeaderBytes: maxHeaderBytes,
		},
	}, nil
}

// Probe runs c once and returns its result. It never panics and returns
// within c.Timeout (and before ctx ends). It fills CheckID, StartedAt,
// FinishedAt, Status, Error, Timings, HTTP and Assertions; the caller adds
// the run's identity (RunID, Location, Attempt, Worker).
func (p *Prober) Probe(ctx context.Context, c check.Check) (res check.Result) {
	start := time.Now()
	res = check.Result{CheckID: c.ID, StartedAt: start}
	defer func() {
		if v := recover(); v != nil {
			res.Status, res.Error = check.StatusError, fmt.Sprintf("internal error: panic: %v", v)
		}
		res.FinishedAt = time.Now()
		if res.Timings.Total == 0 {
			res.Timings.Total = res.FinishedAt.Sub(start)
		}
	}()
	if err := c.Validate(); err != nil {
		res.Status, res.Error = check.StatusError, "bad definition: "+err.Error()
		return res
	}
	if c.Type != check.TypeAPI {
		res.Status, res.Error = check.StatusError, fmt.Sprintf("bad definition: %s is not an api check", c.Type)
		return res
	}
	p.run(ctx, &c, start, &res)
	return res
}

// run makes the request and judges the response into res.
func (p *Prober) run(parent context.Context, c *check.Check, start time.Time, res *check.Result) {
	ctx, cancel := context.WithTimeout(parent, c.Timeout)
	defer cancel()
	tr := newTracer()
	req, err := p.request(httptrace.WithClientTrace(ctx, tr.clientTrace()), c.API)
	if err != nil {
		res.Status, res.Error = check.StatusError, "bad definition: "+err.Error()
		return
	}
	client := http.Client{Transport: p.transport, CheckRedirect: p.redirectPolicy(c.API)}
	resp, err := client.Do(req)
	if err != nil {
		res.Timings = tr.timings(start, time.Now(), false)
		res.Status, res.Error = describeFailure(err, failureContext{
			parent: parent, probe: ctx, timeout: c.Timeout, phase: tr.currentPhase(), url: c.API.URL,
		})
		return
	}
	defer resp.Body.Close()
	res.HTTP = httpResult(resp)

	tr.enterDownload()
	b, err := readBody(resp.Body, p.bodyCap, resp.ContentLength)
	defer b.release()
	end := time.Now()
	res.Timings = tr.timings(start, end, true)
	res.HTTP.BodyBytes = b.total
	res.HTTP.BodyTruncated = b.truncated
	if err != nil {
		res.Status, res.Error = describeFailure(err, failureContext{
			parent: parent, probe: ctx, timeout: c.Timeout, phase: phaseDownload, url: resp.Request.URL.String(),
		})
		return
	}

	r := &response{
		statusCode: resp.StatusCode,
		header:     resp.Header,
		body:       b.data,
		truncated:  b.truncated,
		bodyCap:    p.bodyCap,
		elapsed:    res.Timings.Total,
	}
	res.Status, res.Error = judge(c, r, res)
	if resp.StatusCode < 100 || resp.StatusCode > 999 {
		// Go's client takes any three digits ("000" is 0); no HTTP status
		// is outside 100-999, and no assertion can make such a response
		// pass. The line is quoted as received so the result says what it
		// was (the wire has no status code for it).
		res.Status = check.StatusFailed
		res.Error = fmt.Sprintf("invalid response: status line %q has status code %03d, outside 100-999",
			resp.Proto+" "+resp.Status, resp.StatusCode)
	}
}

// judge decides the status of a run that got a whole response.
func judge(c *check.Check, r *response, res *check.Result) (check.Status, string) {
	if len(c.Assertions) == 0 {
		if r.statusCode < 200 || r.statusCode > 399 {
			return check.StatusFailed, fmt.Sprintf("status code %d (a check without assertions wants 2xx or 3xx)", r.statusCode)
		}
	} else {
		results, err := evaluate(c.Assertions, r)
		res.Assertions = results
		switch {
		case errors.Is(err, check.ErrBadDefinition):
			return check.StatusError, err.Error()
		case err != nil:
			return check.StatusFailed, err.Error()
		}
	}
	if c.DegradedAfter > 0 && r.elapsed > c.DegradedAfter {
		return check.StatusDegraded, fmt.Sprintf("slow: took %v, more than degraded_after %v",
			r.elapsed.Round(time.Millisecond), c.DegradedAfter)
	}
	return check.StatusPassed, ""
}

// request builds the request of spec under ctx.
func (p *Prober) request(ctx context.Context, spec *check.APISpec) (*http.Request, error) {
	var body io.Reader
	if spec.Body != "" {
		body = strings.NewReader(spec.Body)
	}
	req, err := http.NewRequestWithContext(ctx, spec.Method, spec.URL, body)
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	for _, h := range spec.Headers {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", p.userAgent)
	}
	return req, nil
}

// redirectError stops a chain of redirects longer than the limit.
type redirectError struct {
	limit int
	next  string // the URL the redirect not followed points to
}

func (e *redirectError) Error() string {
	return fmt.Sprintf("more than %d redirects (the next was to %s)", e.limit, e.next)
}

// redirectPolicy returns the CheckRedirect of a check: the redirect itself
// when the check does not follow redirects, otherwise up to its limit. Each
// hop dials through the guard like the first request.
func (p *Prober) redirectPolicy(spec *check.APISpec) func(*http.Request, []*http.Request) error {
	if !spec.FollowRedirects {
		return func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	limit := spec.MaxRedirects
	if limit == 0 {
		limit = p.maxRedirects
	}
	return func(next *http.Request, via []*http.Request) error {
		if len(via) > limit {
			return &redirectError{limit: limit, next: next.URL.String()}
		}
		return nil
	}
}

// httpResult records the status, headers and TLS state of resp.
func httpResult(resp *http.Response) *check.HTTPResult {
	h := &check.HTTPResult{StatusCode: resp.StatusCode, Headers: recordHeaders(resp.Header)}
	if cs := resp.TLS; cs != nil {
		info := &check.TLSInfo{
			Version:     tls.VersionName(cs.Version),
			CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
			ServerName:  cs.ServerName,
		}
		if len(cs.PeerCertificates) > 0 {
			leaf := cs.PeerCertificates[0]
			info.CertSubject = leaf.Subject.String()
			info.CertIssuer = leaf.Issuer.String()
			info.CertNotBefore = leaf.NotBefore
			info.CertNotAfter = leaf.NotAfter
		}
		h.TLS = info
	}
	return h
}

// recordHeaders lists the response headers sorted by name (a Go http.Header
// does not keep the order received), each value cut at maxHeaderValue bytes
// and the whole at maxRecordedHeaders bytes.
func recordHeaders(hdr http.Header) []check.Header {
	names := make([]string, 0, len(hdr))
	n := 0
	for name, values := range hdr {
		names = append(names, name)
		n += len(values)
	}
	slices.Sort(names)
	out := make([]check.Header, 0, n)
	size := 0
	for _, name := range names {
		for _, v := range hdr[name] {
			if len(v) > maxHeaderValue {
				v = truncateTo(v, maxHeaderValue) + truncatedValueMark
			}
			size += len(name) + len(v)
			if size > maxRecordedHeaders {
				return out
			}
			out = append(out, check.Header{Name: name, Value: v})
		}
	}
	return out
}

// truncateTo cuts s to at most n bytes at a character boundary.
func truncateTo(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
