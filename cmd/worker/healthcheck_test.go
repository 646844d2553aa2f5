package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// `worker healthcheck` asks /readyz where `worker run` serves it: the
// address in CHECKFLEET_HEALTH_LISTEN, as the supervisor sets it for every
// container (the image's HEALTHCHECK runs it with no flags).
func TestHealthcheckAsksWhereRunServes(t *testing.T) {
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.Write([]byte("ready\n"))
			return
		}
		http.NotFound(w, r)
	}))
	defer ready.Close()
	draining := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "draining", http.StatusServiceUnavailable)
	}))
	defer draining.Close()

	for _, tc := range []struct {
		server *httptest.Server
		code   int
		want   string
	}{{ready, 0, "/readyz: ready"}, {draining, 1, "503 Service Unavailable: draining"}} {
		t.Setenv("CHECKFLEET_HEALTH_LISTEN", tc.server.Listener.Addr().String())
		var stdout, stderr bytes.Buffer
		code := run([]string{"healthcheck"}, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.want) {
			t.Errorf("worker healthcheck against %s: exit %d, stdout %q, stderr %q; want %d and %q",
				tc.server.URL, code, stdout.String(), stderr.String(), tc.code, tc.want)
		}
	}
}
