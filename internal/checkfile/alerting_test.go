package checkfile

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/alert"
)

// envWith is a lookup that holds exactly names.
func envWith(names ...string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		for _, n := range names {
			if n == name {
				return "set", true
			}
		}
		return "", false
	}
}

// everySecret is a lookup that holds every variable.
func everySecret(string) (string, bool) { return "set", true }

// credentials written in clear in testdata/alerting: no message may show one.
var clearCredentials = []string{"XXXXSECRETXXXX", "hunter2", "abc123", "s3cr3t", "r0ut1ngk3y"}

// TestParseAlertingInvalid parses each testdata/alerting/*.yaml with
// ParseAlerting and compares the complete error with the .golden file
// beside it (go test -update rewrites them).
func TestParseAlertingInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/alerting/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			// Every variable is set but one, to show the warning.
			lookup := func(n string) (string, bool) { return "set", n != "CHECKFLEET_SECRET_GENIE" }
			checks, _, err := ParseAlerting(filepath.Base(file), data, lookup)
			var ferr *Error
			if !errors.As(err, &ferr) {
				t.Fatalf("ParseAlerting = %d checks, %v; want *Error", len(checks), err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("problems differ from %s\ngot:\n%swant:\n%s", golden, got, want)
			}
			for _, secret := range clearCredentials {
				if strings.Contains(got, secret) {
					t.Errorf("a message shows the credential %q", secret)
				}
			}
			// Load reads none of it: the checks load as before.
			if _, err := Parse(filepath.Base(file), data); err != nil && name != "channels" {
				t.Errorf("Parse (no alerting): %v", err)
			}
		})
	}
}

// TestParseAlertingProblems pins one message per rule, on its line.
func TestParseAlertingProblems(t *testing.T) {
	const check = "checks:\n  - id: home\n    type: api\n    every: 1m\n    locations: [local]\n    tags: [web]\n    request: {url: 'https://example.com/'}\n"
	const slack = "alert_channels:\n  - {id: ops, type: slack, url: '${{ env.CHECKFLEET_SECRET_SLACK }}'}\n"
	tests := []struct {
		name, src string
		lookup    func(string) (string, bool)
		want      []string // problems, warnings among them
	}{
		{
			name:   "unknown channel in a check",
			src:    slack + "alert_policy: {channels: [ops]}\n" + check + "    alert: {channels: [ops, opps]}\n",
			lookup: everySecret,
			want:   []string{`t.yaml:11: alert.channels[1]: unknown channel "opps" (did you mean "ops"?)`},
		},
		{
			name: "unknown channel with none defined",
			src:  "alert_policy: {channels: [ops]}\n" + check,
			want: []string{`t.yaml:1: alert_policy.channels[0]: unknown channel "ops": no alert_channels are defined`},
		},
		{
			name: "unset variable is a warning",
			src:  slack + check + "    alert: {channels: [ops]}\n",
			want: []string{`t.yaml:2: warning: alert_channels[0].url: ${{ env.CHECKFLEET_SECRET_SLACK }} is not set in this environment: channel "ops" cannot send until the control plane's environment has it`},
		},
		{
			name:   "unused channel is a warning",
			src:    slack + check,
			lookup: everySecret,
			want:   []string{`t.yaml:2: warning: alert_channels[0].id: channel "ops" is used by no check (name it in alert_policy.channels or a check's alert.channels)`},
		},
		{
			name:   "a variable outside the prefix",
			src:    "alert_channels:\n  - {id: ops, type: webhook, url: 'https://h.example.com/${{ env.CHECKFLEET_TOKEN }}'}\n" + check + "    alert: {channels: [ops]}\n",
			lookup: everySecret,
			want:   []string{`t.yaml:2: alert_channels[0].url: ${{ env.CHECKFLEET_TOKEN }}: a checks file reads only variables named CHECKFLEET_SECRET_*, never the control plane's own settings and credentials`},
		},
		{
			name:   "impossible threshold for a check",
			src:    slack + check + "    alert: {channels: [ops], min_locations: 2}\n",
			lookup: everySecret,
			want:   []string{`t.yaml:10: alert.min_locations: check "home" runs in 1 location(s), fewer than 2`},
		},
		{
			name:   "impossible threshold from alert_policy",
			src:    slack + "alert_policy: {channels: [ops], min_locations: 2}\n" + check,
			lookup: everySecret,
			want:   []string{`t.yaml:3: alert_policy.min_locations: check "home" runs in 1 location(s), fewer than 2`},
		},
		{
			name: "window selecting nothing",
			src:  check + "maintenance:\n  - {id: m, cron: '0 2 * * 0', duration: 1h, checks: [home, hom], tags: [db]}\n",
			want: []string{
				`t.yaml:9: warning: maintenance[0].checks[1]: no check has id "hom" (did you mean "home"?), so it selects nothing`,
				`t.yaml:9: warning: maintenance[0].tags[0]: no check is tagged "db", so it selects nothing`,
			},
		},
		{
			name: "bad cron",
			src:  check + "maintenance:\n  - {id: m, cron: '0 25 * * *', duration: 1h, tags: [web]}\n",
			want: []string{`t.yaml:9: maintenance[0].cron: end of range (25) above maximum (23): 25`},
		},
		{
			name: "clear routing key",
			src:  "alert_channels:\n  - id: pd\n    type: pagerduty\n    routing_key: 0123456789abcdef\n" + check + "    alert: {channels: [pd]}\n",
			want: []string{`t.yaml:4: alert_channels[0].routing_key: must be a reference ${{ env.NAME }}, not the secret itself`},
		},
		{
			name:   "alert_policy misplaced in defaults",
			src:    "defaults: {alert: {channels: [x]}}\n" + check,
			lookup: everySecret,
			want:   []string{`t.yaml:1: unknown field "alert" in defaults`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := tt.lookup
			if lookup == nil {
				lookup = envWith()
			}
			_, a, err := ParseAlerting("t.yaml", []byte(tt.src), lookup)
			var got []string
			var ferr *Error
			switch {
			case errors.As(err, &ferr):
				for _, p := range ferr.Problems {
					got = append(got, p.String())
				}
			case err != nil:
				t.Fatal(err)
			default:
				for _, p := range a.Warnings {
					got = append(got, p.String())
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestParseAlertingMerge pins how alert_policy and a check's alert combine
// over alert.DefaultPolicy.
func TestParseAlertingMerge(t *testing.T) {
	src := `alert_channels:
  - {id: a, type: slack, url: "${{ env.CHECKFLEET_SECRET_A }}"}
  - {id: b, type: slack, url: "${{ env.CHECKFLEET_SECRET_B }}"}
alert_policy:
  channels: [a]
  fail_after_runs: 3
  reminder_every: 1h
  max_reminders: 2
defaults: {every: 1m, locations: [eu-west-1, us-east-1]}
checks:
  - {id: plain, type: api, request: {url: "https://example.com/"}}
  - id: timed
    type: api
    request: {url: "https://example.com/"}
    alert: {channels: [b], fail_after: 5m, reminder_every: 0s, flap_changes: 0}
  - id: muted
    type: api
    request: {url: "https://example.com/"}
    alert: {channels: [], min_locations: 2, alert_on_degraded: true, errors: failure, recovery: false}
`
	_, a, err := ParseAlerting("t.yaml", []byte(src), everySecret)
	if err != nil {
		t.Fatal(err)
	}
	base := alert.DefaultPolicy()
	base.FailAfterRuns, base.ReminderEvery, base.MaxReminders = 3, time.Hour, 2
	timed := base
	timed.FailAfterRuns, timed.FailAfter = 0, 5*time.Minute // one threshold: fail_after replaces the runs
	timed.ReminderEvery, timed.MaxReminders = 0, 0          // reminders off, their cap with them
	timed.FlapChanges, timed.FlapWindow = 0, 0              // flapping off, its window with it
	muted := base
	muted.MinLocations, muted.AlertOnDegraded, muted.Errors, muted.Recovery = 2, true, alert.ErrorsAsFailure, false
	want := map[string]CheckAlerting{
		"plain": {Policy: base, Channels: []string{"a"}},
		"timed": {Policy: timed, Channels: []string{"b"}},
		"muted": {Policy: muted, Channels: []string{}},
	}
	for id, w := range want {
		got := a.Checks[id]
		if !reflect.DeepEqual(got.Policy, w.Policy) || len(got.Channels) != len(w.Channels) || (len(w.Channels) > 0 && !reflect.DeepEqual(got.Channels, w.Channels)) {
			t.Errorf("%s:\n got %+v\nwant %+v", id, got, w)
		}
	}
	if len(a.Checks) != 3 || len(a.Warnings) != 0 {
		t.Errorf("checks %v, warnings %v", a.Checks, a.Warnings)
	}
}

// TestLoadAlertingExample: the demo file validates, with every part read,
// and `scheduler dev`'s Load is not bothered by secrets that are not set.
func TestLoadAlertingExample(t *testing.T) {
	const path = "../../examples/checks.yaml"
	checks, a, err := LoadAlerting(path, everySecret)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Warnings) != 0 {
		t.Errorf("warnings with every secret set: %v", a.Warnings)
	}
	var names []string
	for _, c := range a.Channels {
		if _, err := c.Resolve(everySecret); err != nil {
			t.Errorf("resolve %s: %v", c.Name, err)
		}
		names = append(names, c.Name+":"+string(c.Kind))
	}
	if want := []string{"ops-slack:slack", "oncall:pagerduty", "ops-mail:email"}; !reflect.DeepEqual(names, want) {
		t.Errorf("channels %v, want %v", names, want)
	}
	if len(a.Checks) != len(checks) {
		t.Errorf("%d checks, alerting for %d", len(checks), len(a.Checks))
	}
	if got := a.Checks["login-flow"]; got.Policy.FailAfter != 5*time.Minute || got.Policy.FailAfterRuns != 0 || !reflect.DeepEqual(got.Channels, []string{"oncall", "ops-mail"}) {
		t.Errorf("login-flow: %+v", got)
	}
	if len(a.Maintenance) != 1 || a.Maintenance[0].ID != "nightly-deploy" {
		t.Fatalf("maintenance %+v", a.Maintenance)
	}
	// Validated, so Active works: 03:05 Berlin time mutes the failing checks.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := time.Date(2025, 6, 3, 3, 5, 0, 0, berlin)
	for _, c := range checks {
		if got, want := a.Maintenance[0].Active(c, at), strings.Contains(strings.Join(c.Tags, ","), "failing"); got != want {
			t.Errorf("window active for %s: %v, want %v", c.ID, got, want)
		}
	}

	_, a, err = LoadAlerting(path, envWith())
	if err != nil || len(a.Warnings) != 3 {
		t.Errorf("no secrets set: %v, warnings %v; want 3 warnings", err, a.Warnings)
	}
	if _, err := Load(path); err != nil {
		t.Errorf("Load: %v", err)
	}
}

// TestLoadAlertingFolder: alerting in a file of its own beside the
// checks; channels shared by the folder, alert_policy by its file.
func TestLoadAlertingFolder(t *testing.T) {
	checks, a, err := LoadAlerting("testdata/alertfolder", everySecret)
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 3 || len(a.Channels) != 2 || len(a.Maintenance) != 1 || len(a.Warnings) != 0 {
		t.Fatalf("%d checks, %+v", len(checks), a)
	}
	if got := a.Checks["web-home"]; got.Policy.FailAfter != 3*time.Minute || got.Policy.FailAfterRuns != 0 || !reflect.DeepEqual(got.Channels, []string{"ops-slack"}) {
		t.Errorf("web-home: %+v", got)
	}
	if got := a.Checks["web-login"]; got.Policy.FailAfterRuns != 3 || got.Policy.FailAfter != 0 || got.Policy.MinPercent != 50 {
		t.Errorf("web-login: %+v", got)
	}
	if got := a.Checks["db-health"]; !reflect.DeepEqual(got.Policy, alert.DefaultPolicy()) || len(got.Channels) != 0 {
		t.Errorf("db-health (no alert_policy in its file): %+v", got)
	}
	if _, err := Load("testdata/alertfolder"); err != nil {
		t.Errorf("Load: %v", err)
	}

	// A channel id is unique across the folder.
	dir := t.TempDir()
	for name, src := range map[string]string{
		"a.yaml": "alert_channels:\n  - {id: ops, type: slack, url: '${{ env.CHECKFLEET_SECRET_A }}'}\n",
		"b.yaml": "alert_channels:\n  - {id: x, type: slack, url: '${{ env.CHECKFLEET_SECRET_B }}'}\n  - {id: ops, type: slack, url: '${{ env.CHECKFLEET_SECRET_C }}'}\n" +
			"checks:\n  - {id: c, type: api, every: 1m, locations: [local], request: {url: 'https://e.example/'}, alert: {channels: [ops, x]}}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = LoadAlerting(dir, everySecret)
	want := filepath.Join(dir, "b.yaml") + `:3: alert_channels[1].id: duplicate channel id "ops", first defined at ` + filepath.Join(dir, "a.yaml") + ":2"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
