package httpprobe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/netguard"
)

// Every test talks to servers on loopback only, which the guard must be
// told to allow.
var loopback = netguard.Policy{Allow: []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
}}

func newProber(t testing.TB, o Options) *Prober {
	t.Helper()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func apiCheck(url string, assertions ...check.Assertion) check.Check {
	return check.Check{
		ID:         "test",
		Type:       check.TypeAPI,
		Timeout:    10 * time.Second,
		API:        &check.APISpec{Method: "GET", URL: url},
		Assertions: assertions,
	}
}

func wantStatus(t *testing.T, res check.Result, status check.Status, errText string) {
	t.Helper()
	t.Logf("%s %q", res.Status, res.Error)
	if res.Status != status || !strings.Contains(res.Error, errText) || (errText == "" && res.Error != "") {
		t.Fatalf("result %s %q, want %s %q", res.Status, res.Error, status, errText)
	}
}

func TestProbePasses(t *testing.T) {
	var got *http.Request
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, gotBody = r.Clone(context.Background()), string(b)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Request-Id", "abc")
		io.WriteString(w, `{"data":{"id":"7"}}`)
	}))
	defer srv.Close()
	p := newProber(t, Options{Policy: loopback, UserAgent: "checkfleet/test"})
	c := apiCheck(srv.URL+"/orders?x=1",
		assert(check.SourceStatusCode, "", check.Equals, "200"),
		assert(check.SourceJSONBody, "$.data.id", check.Equals, "7"),
		assert(check.SourceHeaders, "content-type", check.Equals, "application/json"),
		assert(check.SourceResponseTime, "", check.LessThan, "10000"),
	)
	c.API.Method = "POST"
	c.API.Body = `{"q":1}`
	c.API.Headers = []check.Header{{Name: "X-Token", Value: "t1"}, {Name: "Host", Value: "api.example"}}
	before := time.Now()
	res := p.Probe(context.Background(), c)
	wantStatus(t, res, check.StatusPassed, "")

	if got.Method != "POST" || got.URL.RequestURI() != "/orders?x=1" || gotBody != `{"q":1}` {
		t.Errorf("server got %s %s %q", got.Method, got.URL, gotBody)
	}
	if got.Header.Get("X-Token") != "t1" || got.Host != "api.example" || got.UserAgent() != "checkfleet/test" {
		t.Errorf("server got headers %v, host %q", got.Header, got.Host)
	}
	if res.CheckID != "test" || res.StartedAt.Before(before) || res.FinishedAt.Before(res.StartedAt) {
		t.Errorf("identity/times: %+v", res)
	}
	if res.HTTP == nil || res.HTTP.StatusCode != 200 || res.HTTP.BodyBytes != int64(len(`{"data":{"id":"7"}}`)) || res.HTTP.BodyTruncated || res.HTTP.TLS != nil {
		t.Fatalf("HTTP result %+v", res.HTTP)
	}
	if !hasHeader(res.HTTP.Headers, "X-Request-Id", "abc") || !hasHeader(res.HTTP.Headers, "Content-Type", "application/json") {
		t.Errorf("headers %v", res.HTTP.Headers)
	}
	tm := res.Timings
	if tm.Connect <= 0 || tm.TTFB <= 0 || tm.Total <= 0 || tm.DNS != 0 || tm.TLS != 0 || tm.Total < tm.Connect+tm.TTFB {
		t.Errorf("timings %+v", tm)
	}
	if len(res.Assertions) != 4 {
		t.Fatalf("assertions %+v", res.Assertions)
	}
	for i, a := range res.Assertions {
		if !a.Passed || a.Actual == "" {
			t.Errorf("assertion %d: %+v", i+1, a)
		}
	}
}

func hasHeader(hs []check.Header, name, value string) bool {
	for _, h := range hs {
		if h.Name == name && h.Value == value {
			return true
		}
	}
	return false
}

// TestProbeDefaultUserAgent: the default names checkfleet and its version.
func TestProbeDefaultUserAgent(t *testing.T) {
	var ua atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ua.Store(r.UserAgent()) }))
	defer srv.Close()
	res := newProber(t, Options{Policy: loopback}).Probe(context.Background(), apiCheck(srv.URL))
	wantStatus(t, res, check.StatusPassed, "")
	if got := ua.Load().(string); !strings.HasPrefix(got, "checkfleet/") {
		t.Fatalf("User-Agent %q", got)
	}
}

func TestProbeStatusWithoutAssertions(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.WriteHeader(code)
	}))
	defer srv.Close()
	p := newProber(t, Options{Policy: loopback})
	for code, want := range map[int]check.Status{200: check.StatusPassed, 204: check.StatusPassed, 304: check.StatusPassed,
		404: check.StatusFailed, 500: check.StatusFailed, 503: check.StatusFailed} {
		res := p.Probe(context.Background(), apiCheck(fmt.Sprintf("%s/%d", srv.URL, code)))
		if res.Status != want || res.HTTP == nil || res.HTTP.StatusCode != code {
			t.Errorf("status %d: %s %q", code, res.Status, res.Error)
		}
		if want == check.StatusFailed && res.Error != fmt.Sprintf("status code %d (a check without assertions wants 2xx or 3xx)", code) {
			t.Errorf("status %d: error %q", code, res.Error)
		}
	}
}

func TestProbeAssertionFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"data":{"id":"8"}}`)
	}))
	defer srv.Close()
	p := newProber(t, Options{Policy: loopback})
	res := p.Probe(context.Background(), apiCheck(srv.URL,
		assert(check.SourceStatusCode, "", check.Equals, "200"),
		assert(check.SourceJSONBody, "$.data.id", check.Equals, "7")))
	wantStatus(t, res, check.StatusFailed, `assertion 2 (json_body $.data.id equals "7"): got "8"`)
	if !res.Assertions[0].Passed || res.Assertions[1].Passed || res.Assertions[1].Actual != "8" {
		t.Fatalf("assertions %+v", res.Assertions)
	}
}

func TestProbeBadDefinition(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	p := newProber(t, Options{Policy: loopback})

	res := p.Probe(context.Background(), apiCheck(srv.URL, assert(check.SourceTextBody, "", check.Matches, "([a-z")))
	wantStatus(t, res, check.StatusError, "bad definition")
	if !strings.Contains(res.Error, "assertions[0].target") && !strings.Contains(res.Error, "regular expression") {
		t.Errorf("error %q does not name the bad regular expression", res.Error)
	}

	noTimeout := apiCheck(srv.URL)
	noTimeout.Timeout = 0
	wantStatus(t, p.Probe(context.Background(), noTimeout), check.StatusError, "bad definition: ")

	browser := check.Check{ID: "b", Type: check.TypeBrowser, Timeout: time.Second,
		Browser: &check.BrowserSpec{Steps: []check.Step{{Action: check.ActionGoto, URL: srv.URL}}}}
	wantStatus(t, p.Probe(context.Background(), browser), check.StatusError, "bad definition: browser is not an api check")

	wantStatus(t, p.Probe(context.Background(), apiCheck(srv.URL, assert(check.SourceJSONBody, "$..[", check.Equals, "1"))),
		check.StatusError, "bad definition")
}

func TestProbeBodyCap(t *testing.T) {
	const size = 3 << 20
	payload := []byte(strings.Repeat("0123456789abcdef", size/16))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("length") {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		w.Write(payload)
	}))
	defer srv.Close()
	p := newProber(t, Options{Policy: loopback})
	for _, url := range []string{srv.URL + "/?length", srv.URL + "/chunked"} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		res := p.Probe(context.Background(), apiCheck(url, assert(check.SourceStatusCode, "", check.Equals, "200")))
		runtime.ReadMemStats(&after)
		wantStatus(t, res, check.StatusPassed, "")
		if res.HTTP.BodyBytes != size || !res.HTTP.BodyTruncated {
			t.Errorf("%s: BodyBytes %d, truncated %v; want %d, true", url, res.HTTP.BodyBytes, res.HTTP.BodyTruncated, size)
		}
		// The cap is 1 MiB: the probe must not have held the 3 MiB body.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size {
			t.Errorf("%s: probe allocated %d bytes for a %d-byte body", url, alloc, size)
		}
	}

	// Assertions see the first BodyCap bytes.
	small := newProber(t, Options{Policy: loopback, BodyCap: 32})
	res := small.Probe(context.Background(), apiCheck(srv.URL, assert(check.SourceTextBody, "", check.Equals, string(payload[:32]))))
	wantStatus(t, res, check.StatusPassed, "")
	res = small.Probe(context.Background(), apiCheck(srv.URL, assert(check.SourceJSONBody, "$.a", check.Equals, "1")))
	wantStatus(t, res, check.StatusFailed, "only the first 32 bytes were read")
}

// blockingServer answers with headers and, if partial, part of a body, then
// blocks until the test ends or the client goes away.
// Every request entering the handler is announced on entered.
func blockingServer(t *testing.T, partial bool) (srv *httptest.Server, entered <-chan struct{}) {
	release := make(chan struct{})
	in := make(chan struct{}, 16)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in <- struct{}{}
		if partial {
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "first bytes")
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	return srv, in
}

func TestProbeTimeout(t *testing.T) {
	p := newProber(t, Options{Policy: loopback})
	for _, tt := range []struct {
		partial bool
		phase   string
	}{{false, "ttfb"}, {true, "download"}} {
		t.Run(tt.phase, func(t *testing.T) {
			srv, _ := blockingServer(t, tt.partial)
			c := apiCheck(srv.URL)
			c.Timeout = 300 * time.Millisecond
			start := time.Now()
			res := p.Probe(context.Background(), c)
			wantStatus(t, res, check.StatusFailed, "timeout after 300ms during "+tt.phase)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("probe took %v with a 300ms timeout", took)
			}
			if res.Timings.Total < c.Timeout {
				t.Errorf("total %v, shorter than the timeout", res.Timings.Total)
			}
			if tt.partial && (res.HTTP == nil || res.HTTP.BodyBytes != int64(len("first bytes"))) {
				t.Errorf("HTTP result %+v, want the bytes that arrived", res.HTTP)
			}
		})
	}
}

// TestProbeCancelled: the caller ending the probe (a drain deadline) is
// the worker's doing, not the target's: status error.
func TestProbeCancelled(t *testing.T) {
	srv, entered := blockingServer(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan check.Result)
	go func() { done <- newProber(t, Options{Policy: loopback}).Probe(ctx, apiCheck(srv.URL)) }()
	<-entered
	cancel()
	res := <-done
	wantStatus(t, res, check.StatusError, "check stopped by the worker during ttfb: context canceled")
}

func TestProbeDegraded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(20 * time.Millisecond) // the slowness under test, not synchronisation
		}
	}))
	defer srv.Close()
	p := newProber(t, Options{Policy: loopback})

	c := apiCheck(srv.URL+"/slow", assert(check.SourceStatusCode, "", check.Equals, "200"))
	c.DegradedAfter = 10 * time.Millisecond
	res := p.Probe(context.Background(), c)
	wantStatus(t, res, check.StatusDegraded, "slow: took ")
	if !strings.Contains(res.Error, "more than degraded_after 10ms") || !res.Assertions[0].Passed {
		t.Errorf("degraded result %+v", res)
	}

	fast := apiCheck(srv.URL+"/fast", assert(check.SourceStatusCode, "", check.Equals, "200"))
	fast.DegradedAfter = 5 * time.Second
	wantStatus(t, p.Probe(context.Background(), fast), check.StatusPassed, "")

	failing := apiCheck(srv.URL+"/fast", assert(check.SourceStatusCode, "", check.Equals, "500"))
	failing.DegradedAfter = time.Millisecond // a failure stays a failure, however slow
	wantStatus(t, p.Probe(context.Background(), failing), check.StatusFailed, "assertion 1")
}

// TestProbeConcurrent runs probes in parallel (for the race detector) and
// checks each gets its own connection.
func TestProbeConcurrent(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	p := newProber(t, Options{Policy: loopback})
	const workers, each = 16, 8
	errs := make(chan error, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				path := fmt.Sprintf("/w%d/%d", w, i)
				res := p.Probe(context.Background(), apiCheck(srv.URL+path, assert(check.SourceJSONBody, "$.path", check.Equals, path)))
				if res.Status != check.StatusPassed {
					errs <- fmt.Errorf("%s: %s %s", path, res.Status, res.Error)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := conns.Load(); n != workers*each {
		t.Errorf("server accepted %d connections for %d probes", n, workers*each)
	}
}

func TestOptionsValidate(t *testing.T) {
	if _, err := New(Options{BodyCap: -1}); err == nil {
		t.Error("New accepted a negative body cap")
	}
	if _, err := New(Options{UserAgent: "a\r\nX-Evil: 1"}); err == nil {
		t.Error("New accepted a user agent with CRLF")
	}
}
