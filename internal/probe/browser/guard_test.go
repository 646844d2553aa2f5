package browser

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/netguard"
)

// With only 127.0.0.2 allowed, a page there whose image, fetch, https fetch
// and websocket point at 127.0.0.1 loads, every one of those requests is
// refused by the guard and reported, and the server on 127.0.0.1 sees
// nothing. A page on 127.0.0.1 itself is an error, not a failure.
func TestNetworkGuardCoversEveryRequest(t *testing.T) {
	var hits atomic.Int32
	private := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer private.Close()
	privateTLS := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer privateTLS.Close()
	privateHost := strings.TrimPrefix(private.URL, "http://")

	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2 (loopback): %v", err)
	}
	page := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>loading</title><img src="%[1]s/pixel.png">
<script>
  const ws = new WebSocket("ws://%[2]s/socket");
  Promise.allSettled([fetch("%[1]s/api"), fetch("%[3]s/secure")])
    .then(r => document.title = r.every(x => x.status === "rejected") ? "blocked" : "reached");
</script>`, private.URL, privateHost, privateTLS.URL)
	}))
	page.Listener = ln
	page.Start()
	defer page.Close()

	p, _ := startProber(t, func(o *Options) {
		o.Policy = netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}
	})
	res := p.Probe(context.Background(), browserCheck("guarded", 15*time.Second,
		check.Step{Action: check.ActionGoto, URL: page.URL + "/"},
		check.Step{Action: check.ActionAssertTitle, Matcher: check.MatchEquals, Value: "blocked"}))
	if res.Status != check.StatusPassed {
		t.Fatalf("the page on 127.0.0.2: %s", describe(res))
	}
	for _, path := range []string{private.URL + "/pixel.png", private.URL + "/api", privateTLS.URL + "/secure"} {
		var found *check.FailedRequest
		for i, f := range res.Browser.FailedRequests {
			if f.URL == path {
				found = &res.Browser.FailedRequests[i]
			}
		}
		switch {
		case found == nil:
			t.Errorf("no failed request for %s: %s", path, describe(res))
		case !strings.Contains(found.Error, "network guard refused 127.0.0.1: loopback"):
			t.Errorf("failed request %s: error %q does not give the guard's reason", path, found.Error)
		case strings.HasPrefix(path, "https") && !strings.Contains(found.Error, "net::ERR_TUNNEL_CONNECTION_FAILED"):
			t.Errorf("failed request %s: error %q lacks Chromium's error", path, found.Error)
		}
	}

	res = p.Probe(context.Background(), browserCheck("private", 10*time.Second,
		check.Step{Action: check.ActionGoto, URL: private.URL + "/"}))
	if res.Status != check.StatusError || !strings.Contains(res.Error, "network guard refused 127.0.0.1") {
		t.Errorf("a page on a refused address: want an error with the guard's reason: %s", describe(res))
	}
	res = p.Probe(context.Background(), browserCheck("private-tls", 10*time.Second,
		check.Step{Action: check.ActionGoto, URL: privateTLS.URL + "/"}))
	if res.Status != check.StatusError || !strings.Contains(res.Error, "network guard refused 127.0.0.1") {
		t.Errorf("an https page on a refused address: %s", describe(res))
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server on 127.0.0.1 saw %d requests", n)
	}
	if n := testutil.ToFloat64(p.metrics.refusals); n < 5 {
		t.Errorf("guard refusals counted %v, want at least 5", n)
	}
}
