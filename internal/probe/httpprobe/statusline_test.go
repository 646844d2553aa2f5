package httpprobe

import (
	"context"
	"strings"
	"testing"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/probe/httpprobe/httpprobetest"
)

// A status line whose code is outside 100-999 (Go's client takes "000" as
// 0 and "099" as 99) fails the check, with the status line as received in
// the error, whatever the assertions say.
func TestProbeStatusCodeOutOfRange(t *testing.T) {
	p := newProber(t, Options{Policy: loopback})
	for _, tt := range []struct {
		line string
		code int
	}{
		{"HTTP/1.1 000 X", 0},
		{"HTTP/1.1 099 Odd", 99},
	} {
		t.Run(tt.line, func(t *testing.T) {
			url := httpprobetest.RawTarget(t, tt.line+"\r\nContent-Length: 2\r\nX-Seen: yes\r\n\r\nok")
			for _, c := range []check.Check{
				apiCheck(url),
				apiCheck(url, assert(check.SourceStatusCode, "", check.LessThan, "200")),
			} {
				res := p.Probe(context.Background(), c)
				wantStatus(t, res, check.StatusFailed, `status line "`+tt.line+`"`)
				if !strings.Contains(res.Error, "outside 100-999") {
					t.Errorf("error %q does not say the code is out of range", res.Error)
				}
				if res.HTTP == nil || res.HTTP.StatusCode != tt.code || !hasHeader(res.HTTP.Headers, "X-Seen", "yes") {
					t.Errorf("HTTP = %+v, want the response recorded with status code %d", res.HTTP, tt.code)
				}
			}
		})
	}
}
