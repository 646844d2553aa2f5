package web

import (
	"net/http"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// Run-now refuses a check longer than its type may run, saying why, and
// enqueues nothing: a worker would cut it off at every drain.
func TestAPIRunNowRefusesACheckLongerThanAllowed(t *testing.T) {
	for _, tc := range []struct {
		typ     check.Type
		timeout time.Duration
		want    string
	}{
		{check.TypeAPI, 2 * time.Minute, "timeout: must be at most 30s for an api check, got 2m0s"},
		{check.TypeBrowser, 10 * time.Minute, "timeout: must be at most 4m0s for a browser check, got 10m0s"},
	} {
		t.Run(string(tc.typ), func(t *testing.T) {
			r := newRig(t, func(c *Config) {
				c.Checks = func() []check.Check {
					checks := fixtureChecks()
					for i := range checks {
						if checks[i].Type == tc.typ {
							checks[i].Timeout = tc.timeout
						}
					}
					return checks
				}
			})
			id := "api-ok"
			if tc.typ == check.TypeBrowser {
				id = "shop"
			}
			apiError(t, r.do("POST", "/api/v1/checks/"+id+"/run", "Authorization", "Bearer s3cret-token"),
				http.StatusUnprocessableEntity, `check "`+id+`" cannot run`, tc.want)
			if len(r.enqueued) != 0 {
				t.Errorf("enqueued %v", r.enqueued)
			}
		})
	}
}
