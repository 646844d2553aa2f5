package cli_test

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/checkfleet/checkfleet/internal/cli"
)

func TestHealthcheck(t *testing.T) {
	var ready atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != "/readyz":
			http.NotFound(w, r)
		case ready.Load():
			w.Write([]byte("ready\n"))
		default:
			http.Error(w, "draining: 2 checks in flight\nsecond line", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	for _, tc := range []struct {
		name       string
		args       []string
		env        string // CHECKFLEET_HEALTH_LISTEN
		notReady   bool
		code       int
		out, inErr string
	}{
		{name: "flag", args: []string{"--health-listen", addr}, out: "http://" + addr + "/readyz: ready"},
		{name: "environment", env: addr, out: "http://" + addr + "/readyz: ready"},
		{name: "unspecified host asked on loopback", args: []string{"--health-listen", "0.0.0.0:" + port}, out: "http://127.0.0.1:" + port + "/readyz: ready"},
		{name: "empty host asked on loopback", args: []string{"--health-listen", ":" + port}, out: "http://127.0.0.1:" + port + "/readyz: ready"},
		{name: "url", args: []string{"--url", srv.URL + "/readyz"}, out: "ready"},
		{name: "not ready", args: []string{"--health-listen", addr}, notReady: true, code: 1,
			inErr: "healthcheck http://" + addr + "/readyz: 503 Service Unavailable: draining: 2 checks in flight\n"},
		{name: "other path", args: []string{"--url", srv.URL + "/nope"}, code: 1, inErr: "404 Not Found"},
		{name: "nothing listening", args: []string{"--url", closed.URL + "/readyz"}, code: 1, inErr: "connection refused"},
		{name: "bad address", args: []string{"--health-listen", "nohost"}, code: 1, inErr: `--health-listen "nohost"`},
		{name: "arguments", args: []string{"extra"}, code: 1, inErr: "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CHECKFLEET_HEALTH_LISTEN", tc.env)
			ready.Store(!tc.notReady)
			var stdout, stderr bytes.Buffer
			root := &ffcli.Command{Name: "worker", Subcommands: []*ffcli.Command{
				cli.HealthcheckCommand("worker", "health-listen", "127.0.0.1:1", &stdout),
			}}
			code := cli.Run(root, append([]string{"healthcheck"}, tc.args...), &stderr)
			if code != tc.code || !strings.Contains(stdout.String(), tc.out) || !strings.Contains(stderr.String(), tc.inErr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, stdout with %q, stderr with %q",
					code, stdout.String(), stderr.String(), tc.code, tc.out, tc.inErr)
			}
		})
	}
}
