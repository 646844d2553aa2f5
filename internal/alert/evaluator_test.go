package alert

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// run makes a result of check "api" at location loc, the i-th run (every
// 30 s from t0).
func run(loc string, i int, st check.Status) check.Result {
	at := t0.Add(time.Duration(i) * 30 * time.Second)
	r := check.Result{RunID: fmt.Sprintf("%s-%d", loc, i), CheckID: "api", Location: loc, Attempt: 1,
		ScheduledAt: at, StartedAt: at.Add(time.Second), FinishedAt: at.Add(2 * time.Second), Status: st}
	if st != check.StatusPassed {
		r.Error = "status 503"
	}
	return r
}

// runs makes results at loc from a string: p passed, f failed, d degraded,
// e error, . no run.
func runs(loc string, from int, pattern string) []check.Result {
	var out []check.Result
	for i, c := range pattern {
		st := map[rune]check.Status{'p': check.StatusPassed, 'f': check.StatusFailed, 'd': check.StatusDegraded, 'e': check.StatusError}[c]
		if st != "" {
			out = append(out, run(loc, from+i, st))
		}
	}
	return out
}

func apiCheck(locs ...string) check.Check {
	return check.Check{ID: "api", Name: "API", Locations: locs, Tags: []string{"prod"}}
}

func newEval(t *testing.T, cfg Config) *Evaluator {
	t.Helper()
	e, err := NewEvaluator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// brief renders notifications as "kind track scope seq @run" for comparison.
func brief(ns []Notification) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		s := fmt.Sprintf("%s %s %s", n.Kind, n.Track, n.Scope)
		if n.Seq > 0 {
			s += fmt.Sprint(" ", n.Seq)
		}
		if n.Flapping {
			s += " flapping"
		}
		if n.Withdrawn {
			s += " withdrawn"
		}
		out[i] = s + " @" + n.RunID
	}
	return out
}

// addEach adds results one at a time and returns everything Add returned.
func addEach(e *Evaluator, rs []check.Result) []Notification {
	var out []Notification
	for _, r := range rs {
		out = append(out, e.Add(r)...)
	}
	return out
}

func TestEvaluatorPolicies(t *testing.T) {
	def := DefaultPolicy()
	with := func(f func(*Policy)) Policy { p := def; f(&p); return p }
	tests := []struct {
		name    string
		check   check.Check
		policy  Policy
		results []check.Result
		want    []string
	}{
		{"one failure does not alert", apiCheck("eu"), def, runs("eu", 0, "pfpp"), nil},
		{"two failures alert once, a pass recovers", apiCheck("eu"), def, runs("eu", 0, "pfffffp"),
			[]string{"trigger down * @eu-2", "recovery down * @eu-6"}},
		{"fail_after_runs 1", apiCheck("eu"), with(func(p *Policy) { p.FailAfterRuns = 1 }), runs("eu", 0, "pfp"),
			[]string{"trigger down * @eu-1", "recovery down * @eu-2"}},
		{"fail_after 1m alone waits a minute of failures", apiCheck("eu"),
			with(func(p *Policy) { p.FailAfterRuns, p.FailAfter = 0, time.Minute }), runs("eu", 0, "pffffp"),
			[]string{"trigger down * @eu-3", "recovery down * @eu-5"}},
		{"min_locations 2: one location failing does not alert", apiCheck("eu", "us", "ap"),
			with(func(p *Policy) { p.MinLocations = 2 }), append(runs("eu", 0, "ffff"), runs("us", 0, "pppp")...), nil},
		{"min_locations 2: two do", apiCheck("eu", "us", "ap"),
			with(func(p *Policy) { p.MinLocations = 2 }), append(runs("eu", 0, "ffffp"), runs("us", 0, "pffff")...),
			[]string{"trigger down * @us-2", "recovery down * @eu-4"}},
		{"min_percent 60 of 3 locations needs 2", apiCheck("eu", "us", "ap"),
			with(func(p *Policy) { p.MinPercent = 60 }), append(runs("eu", 0, "fff"), runs("us", 3, "ff")...),
			[]string{"trigger down * @us-4"}},
		{"degraded does not alert by default", apiCheck("eu"), def, runs("eu", 0, "dddd"), nil},
		{"alert_on_degraded", apiCheck("eu"), with(func(p *Policy) { p.AlertOnDegraded = true }), runs("eu", 0, "pddp"),
			[]string{"trigger down * @eu-2", "recovery down * @eu-3"}},
		{"errors alert apart and leave the down streak alone", apiCheck("eu"), def, runs("eu", 0, "feefeep"),
			[]string{"trigger error * @eu-2", "trigger down * @eu-3", "recovery error * @eu-3", "trigger error * @eu-5",
				"recovery down * @eu-6", "recovery error * @eu-6"}},
		{"errors as failure", apiCheck("eu"), with(func(p *Policy) { p.Errors = ErrorsAsFailure }), runs("eu", 0, "fep"),
			[]string{"trigger down * @eu-1", "recovery down * @eu-2"}},
		{"errors ignored", apiCheck("eu"), with(func(p *Policy) { p.Errors = ErrorsIgnore }), runs("eu", 0, "eeeep"), nil},
		{"reminders every minute, at most 2", apiCheck("eu"),
			with(func(p *Policy) { p.ReminderEvery, p.MaxReminders = time.Minute, 2 }), runs("eu", 0, "fffffffffp"),
			[]string{"trigger down * @eu-1", "reminder down * 1 @eu-3", "reminder down * 2 @eu-5", "recovery down * @eu-9"}},
		{"no recovery notice", apiCheck("eu"), with(func(p *Policy) { p.Recovery = false }), runs("eu", 0, "ffp"),
			[]string{"trigger down * @eu-1"}},
		{"scope location: each location alerts on its own", apiCheck("eu", "us"),
			with(func(p *Policy) { p.Scope = ScopeLocation }), append(runs("eu", 0, "ffp"), runs("us", 0, ".ffp")...),
			[]string{"trigger down eu @eu-1", "recovery down eu @eu-2", "trigger down us @us-2", "recovery down us @us-3"}},
		{"flapping alerts once", apiCheck("eu"), def, runs("eu", 0, "pfpfpfpfpfpfpfpfpp"),
			[]string{"trigger down * flapping @eu-6"}},
		// Six changes from run 1 to 6; the window (30m, 60 runs) lets go of
		// the first at run 61.
		{"flapping ends with a recovery once calm", apiCheck("eu"), def,
			runs("eu", 0, "pfpfpfp"+strings.Repeat("p", 60)), []string{"trigger down * flapping @eu-6", "recovery down * flapping @eu-61"}},
		{"results of other checks and locations are ignored", apiCheck("eu"), def,
			append(runs("us", 0, "ffff"), check.Result{RunID: "x", CheckID: "other", Location: "eu", Status: check.StatusFailed}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Check: tt.check, Policy: tt.policy}
			// Sorted arrival, as most arrive; the table reads results per location.
			rs := slices.Clone(tt.results)
			slices.SortStableFunc(rs, func(a, b check.Result) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
			got := brief(addEach(newEval(t, cfg), rs))
			if !slices.Equal(got, tt.want) {
				t.Errorf("notifications\n got %q\nwant %q", got, tt.want)
			}
			ev, err := Evaluate(cfg, tt.results)
			if err != nil {
				t.Fatal(err)
			}
			if got := brief(ev.Notifications); !slices.Equal(got, tt.want) {
				t.Errorf("Evaluate\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestRecoveryNamesHowLongItWasDown(t *testing.T) {
	e := newEval(t, Config{Check: apiCheck("eu"), Policy: DefaultPolicy()})
	ns := addEach(e, runs("eu", 0, "pfffp"))
	if len(ns) != 2 || ns[1].Kind != KindRecovery {
		t.Fatalf("got %q", brief(ns))
	}
	if ns[1].Down != 90*time.Second || !ns[1].Since.Equal(t0.Add(30*time.Second)) {
		t.Errorf("down %s since %s, want 1m30s since the first failed run", ns[1].Down, ns[1].Since)
	}
	if !strings.Contains(ns[1].Summary(), "after 1m30s") {
		t.Errorf("summary %q does not say how long", ns[1].Summary())
	}
	if ns[0].Key != "api/*/down/"+fmt.Sprint(t0.Add(30*time.Second).UnixMilli())+"/trigger" {
		t.Errorf("key %q", ns[0].Key)
	}
	inc := e.Incidents()
	if len(inc) != 1 || inc[0].Open() || inc[0].LastKind != KindRecovery || !slices.Equal(inc[0].Locations, []string{"eu"}) {
		t.Errorf("incidents %+v", inc)
	}
}

func TestStateWhileFailing(t *testing.T) {
	e := newEval(t, Config{Check: apiCheck("eu", "us"), Policy: DefaultPolicy()})
	e.Add(append(runs("eu", 0, "pff"), runs("us", 0, "ppf")...)...)
	s := e.State()
	if s.Down != Failing || s.Error != OK || s.Cert != OK {
		t.Errorf("state %+v", s)
	}
	eu, us := s.Locations["eu"], s.Locations["us"]
	if eu.Condition != Failing || eu.ConsecutiveFailures != 2 || !eu.FailingSince.Equal(t0.Add(30*time.Second)) {
		t.Errorf("eu %+v", eu)
	}
	if us.Condition != OK || us.ConsecutiveFailures != 1 || us.LastStatus != check.StatusFailed {
		t.Errorf("us %+v", us)
	}
	if inc := e.Incidents(); len(inc) != 1 || !inc[0].Open() || !slices.Equal(inc[0].Locations, []string{"eu"}) {
		t.Errorf("incidents %+v", inc)
	}
}

func TestMaintenanceMutesButTracks(t *testing.T) {
	win := MaintenanceWindow{ID: "deploy", Start: t0, End: t0.Add(2 * time.Minute), Tags: []string{"prod"}}
	if err := win.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Check: apiCheck("eu"), Policy: DefaultPolicy(), Maintenance: []MaintenanceWindow{win}}

	// Down inside the window, still down after it: the trigger comes when it ends.
	e := newEval(t, cfg)
	got := brief(addEach(e, runs("eu", 0, "pfff"+"ffp")))
	if want := []string{"trigger down * @eu-4", "recovery down * @eu-6"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// Down and up inside the window: nothing at all, but the incident is recorded.
	e = newEval(t, cfg)
	ns := addEach(e, runs("eu", 0, "pffp"))
	if len(ns) != 0 {
		t.Errorf("muted outage notified %q", brief(ns))
	}
	if inc := e.Incidents(); len(inc) != 1 || !inc[0].Muted || inc[0].Open() {
		t.Errorf("incidents %+v", inc)
	}
	if s := e.State(); !s.Maintenance {
		t.Errorf("state %+v does not show the window", s)
	}
	// A window selecting other checks does not mute this one.
	other := MaintenanceWindow{ID: "x", Start: t0, End: t0.Add(time.Hour), CheckIDs: []string{"web"}, Tags: []string{"staging"}}
	e = newEval(t, Config{Check: apiCheck("eu"), Policy: DefaultPolicy(), Maintenance: []MaintenanceWindow{other}})
	if ns := addEach(e, runs("eu", 0, "ff")); len(ns) != 1 {
		t.Errorf("got %q", brief(ns))
	}
}

func TestCertExpiry(t *testing.T) {
	withCert := func(r check.Result, expires time.Duration) check.Result {
		r.HTTP = &check.HTTPResult{StatusCode: 200, TLS: &check.TLSInfo{CertNotAfter: r.ScheduledAt.Add(expires)}}
		return r
	}
	rs := []check.Result{
		withCert(run("eu", 0, check.StatusPassed), 40*24*time.Hour),
		withCert(run("eu", 1, check.StatusPassed), 13*24*time.Hour),
		withCert(run("eu", 2, check.StatusPassed), 13*24*time.Hour),
		run("eu", 3, check.StatusFailed), // no TLS: says nothing of the certificate
		withCert(run("eu", 4, check.StatusPassed), 90*24*time.Hour),
	}
	e := newEval(t, Config{Check: apiCheck("eu"), Policy: DefaultPolicy()})
	ns := addEach(e, rs)
	if got, want := brief(ns), []string{"trigger cert * @eu-1", "recovery cert * @eu-4"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !ns[0].CertNotAfter.Equal(rs[1].HTTP.TLS.CertNotAfter) || !strings.Contains(ns[0].Summary(), "expires") {
		t.Errorf("trigger %+v", ns[0])
	}
}

func TestRedeliveredAndLateResults(t *testing.T) {
	cfg := Config{Check: apiCheck("eu"), Policy: DefaultPolicy()}
	t.Run("redelivered", func(t *testing.T) {
		e := newEval(t, cfg)
		rs := runs("eu", 0, "pffp")
		ns := addEach(e, append(rs, rs...))
		if got, want := brief(ns), []string{"trigger down * @eu-2", "recovery down * @eu-3"}; !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("a late failure before the streak does not alert again", func(t *testing.T) {
		e := newEval(t, cfg)
		rs := runs("eu", 0, "pfffp")
		ns := addEach(e, []check.Result{rs[0], rs[2], rs[3], rs[1], rs[4]})
		// The streak is seen to begin one run earlier: another incident id,
		// the same outage; one trigger, one recovery, under the first id.
		if got, want := brief(ns), []string{"trigger down * @eu-3", "recovery down * @eu-4"}; !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
		if ns[0].IncidentID != ns[1].IncidentID {
			t.Errorf("recovery of %s, trigger of %s", ns[1].IncidentID, ns[0].IncidentID)
		}
	})
	t.Run("a late pass that breaks the streak withdraws the alert", func(t *testing.T) {
		e := newEval(t, cfg)
		rs := runs("eu", 0, "pfpfp")
		ns := addEach(e, []check.Result{rs[0], rs[1], rs[3], rs[2]})
		if got, want := brief(ns), []string{"trigger down * @eu-3", "recovery down * withdrawn @eu-3"}; !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
		if ns := e.Add(rs[4]); len(ns) != 0 {
			t.Errorf("then %q", brief(ns))
		}
	})
	t.Run("a late result after the recovery changes nothing", func(t *testing.T) {
		e := newEval(t, cfg)
		rs := runs("eu", 0, "pfffpp")
		ns := addEach(e, []check.Result{rs[0], rs[1], rs[2], rs[4], rs[5], rs[3]})
		if got, want := brief(ns), []string{"trigger down * @eu-2", "recovery down * @eu-4"}; !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("a restart with the outbox's keys sends nothing again", func(t *testing.T) {
		rs := runs("eu", 0, "pfffff")
		e := newEval(t, cfg)
		var keys []string
		for _, n := range addEach(e, rs) {
			keys = append(keys, n.Key)
		}
		c := cfg
		c.Announced = keys
		e2 := newEval(t, c)
		if ns := e2.Add(rs...); len(ns) != 0 {
			t.Errorf("restart resent %q", brief(ns))
		}
		if ns := e2.Add(run("eu", 6, check.StatusPassed)); len(ns) != 1 || ns[0].Kind != KindRecovery || ns[0].Withdrawn {
			t.Errorf("after restart: %q", brief(ns))
		}
	})
	t.Run("since: older decisions are history", func(t *testing.T) {
		c := cfg
		c.Since = t0.Add(5 * time.Minute)
		e := newEval(t, c)
		if ns := e.Add(runs("eu", 0, "ffp")...); len(ns) != 0 {
			t.Errorf("history sent: %q", brief(ns))
		}
	})
}
