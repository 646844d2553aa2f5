package worker

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// A drain must outlast the longest check the worker runs: the defaults do,
// and a drain shorter than the longest check plus check.RunGrace is a
// configuration error.
func TestConfigDrainOutlastsTheLongestCheck(t *testing.T) {
	valid := DefaultConfig()
	valid.Identity = check.WorkerInfo{ID: "w", Version: "v"}
	if valid.MaxCheckTimeout != check.MaxTimeout {
		t.Errorf("default max check timeout %s, want %s: a worker runs any check by default", valid.MaxCheckTimeout, check.MaxTimeout)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		error string // "" when valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"drain exactly the longest check plus grace", func(c *Config) { c.DrainTimeout = check.MaxTimeout + check.RunGrace }, ""},
		{"drain shorter than the longest check", func(c *Config) { c.DrainTimeout = time.Minute }, "shorter than the longest check"},
		{"drain without the grace", func(c *Config) { c.DrainTimeout = check.MaxTimeout }, "shorter than the longest check"},
		{"short checks, short drain", func(c *Config) { c.MaxCheckTimeout, c.DrainTimeout = 10*time.Second, 15*time.Second }, ""},
		{"short checks, shorter drain", func(c *Config) { c.MaxCheckTimeout, c.DrainTimeout = 10*time.Second, 14*time.Second }, "want at least 15s"},
		{"max check above the domain's", func(c *Config) { c.MaxCheckTimeout, c.DrainTimeout = check.MaxTimeout+time.Second, time.Hour }, "max check timeout 4m1s"},
		{"no max check", func(c *Config) { c.MaxCheckTimeout = 0 }, "max check timeout 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid
			tc.edit(&c)
			err := c.Validate()
			if tc.error == "" && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if tc.error != "" && (err == nil || !strings.Contains(err.Error(), tc.error)) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.error)
			}
		})
	}
}

// A job whose check is longer than this worker runs is answered with an
// error result saying so, and deleted: it is not run, to be cut off and
// handed back at every drain.
func TestCheckLongerThanTheDrainIsAnswered(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer target.Close()
	r := newRig(t, queue.Spec{VisibilityTimeout: 5 * time.Minute}, func(c *Config) {
		c.MaxCheckTimeout, c.DrainTimeout = 10*time.Second, 15*time.Second
	})
	r.start()
	r.sendJob(apiJob("run-long", target.URL, 20*time.Second), message.V2)
	r.sendJob(apiJob("run-fits", target.URL, 10*time.Second), message.V2)
	got := map[string]check.Result{}
	testenv.Eventually(t, 30*time.Second, "both results", func() bool {
		r.collect(got)
		return len(got) == 2
	})
	long := got["run-long"]
	if long.Status != check.StatusError || !strings.Contains(long.Error, "check timeout 20s is longer than this worker runs (10s") {
		t.Fatalf("result %s %q, want an error naming the timeout and the worker's bound", long.Status, long.Error)
	}
	if long.Worker.ID != "w-test" || long.CheckID != "check-run-long" {
		t.Errorf("result %+v: want the run's ids and the worker", long)
	}
	if fits := got["run-fits"]; fits.Status != check.StatusPassed {
		t.Errorf("the check within the bound: %s %q", fits.Status, fits.Error)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("target hit %d times, want once (by the check within the bound)", n)
	}
	testenv.Eventually(t, 10*time.Second, "both jobs deleted", func() bool { return r.env.Counts(t, r.jobs.URL).Total() == 0 })
	r.stop()
	r.wait()
}

// The longest check a worker runs finishes when the worker drains: its
// result is sent and its job deleted, never cancelled and handed back.
func TestDrainFinishesTheLongestCheck(t *testing.T) {
	target := newBlockingTarget(t)
	r := newRig(t, queue.Spec{VisibilityTimeout: 5 * time.Minute}, func(c *Config) {
		c.MaxCheckTimeout = 2 * time.Second
		c.DrainTimeout = c.MaxCheckTimeout + check.RunGrace
	})
	r.start()
	r.sendJob(apiJob("run-1", target.URL, 2*time.Second), message.V2)
	testenv.Eventually(t, 10*time.Second, "the check in flight", func() bool { return target.started.Load() == 1 })
	r.stop()
	r.wait()
	got := map[string]check.Result{}
	r.collect(got)
	if res, ok := got["run-1"]; !ok || res.Status == check.StatusPassed {
		t.Fatalf("results %+v: want the timed-out run's", got)
	}
	if c := r.env.Counts(t, r.jobs.URL); c.Total() != 0 {
		t.Fatalf("jobs queue after the drain %+v, want the job deleted", c)
	}
	if n := testutil.ToFloat64(r.w.metrics.released.WithLabelValues("cancelled")); n != 0 {
		t.Errorf("released{cancelled} = %v, want 0", n)
	}
}
