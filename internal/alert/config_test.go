package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPolicyValidate(t *testing.T) {
	def := DefaultPolicy()
	if err := def.Validate(); err != nil {
		t.Fatalf("default policy: %v", err)
	}
	with := func(f func(*Policy)) Policy { p := def; f(&p); return p }
	tests := []struct {
		name  string
		p     Policy
		field string
	}{
		{"no threshold", with(func(p *Policy) { p.FailAfterRuns = 0 }), "fail_after_runs"},
		{"negative duration", with(func(p *Policy) { p.FailAfter = -time.Second }), "fail_after"},
		{"no location", with(func(p *Policy) { p.MinLocations = 0 }), "min_locations"},
		{"percent", with(func(p *Policy) { p.MinPercent = 120 }), "min_percent"},
		{"scope", with(func(p *Policy) { p.Scope = "region" }), "scope"},
		{"location scope with min_locations", with(func(p *Policy) { p.Scope, p.MinLocations = ScopeLocation, 2 }), "scope"},
		{"errors", with(func(p *Policy) { p.Errors = "loud" }), "errors"},
		{"reminders without a cap", with(func(p *Policy) { p.ReminderEvery = time.Hour }), "max_reminders"},
		{"a cap without reminders", with(func(p *Policy) { p.MaxReminders = 3 }), "max_reminders"},
		{"cert days", with(func(p *Policy) { p.CertExpiryDays = 400 }), "cert_expiry_days"},
		{"flap without window", with(func(p *Policy) { p.FlapWindow = 0 }), "flap_window"},
		{"flap of one", with(func(p *Policy) { p.FlapChanges = 1 }), "flap_changes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Problems[0].Field != tt.field {
				t.Fatalf("got %v, want a problem with %s", err, tt.field)
			}
		})
	}
	err := with(func(p *Policy) { p.MinLocations = 3 }).ValidateFor(apiCheck("eu", "us"))
	if err == nil || !strings.Contains(err.Error(), "min_locations: check \"api\" runs in 2 location(s), fewer than 3") {
		t.Errorf("impossible threshold: %v", err)
	}
}

func TestChannelResolveKeepsSecretsOut(t *testing.T) {
	env := map[string]string{"PD_KEY": "r0ut1ngk3y", "HOOK_SECRET": "hm4c", "SLACK_URL": "https://hooks.slack.test/T/B/t0k3n"}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	cfgs := []ChannelConfig{
		{Name: "pd", Kind: KindPagerDuty, PagerDuty: &PagerDutyConfig{RoutingKey: "${{ env.PD_KEY }}"}},
		{Name: "hook", Kind: KindWebhook, Webhook: &WebhookConfig{URL: "http://127.0.0.1:1/x", Secret: "${{env.HOOK_SECRET}}"}},
		{Name: "slack", Kind: KindSlack, Slack: &SlackConfig{URL: "${{ env.SLACK_URL }}"}},
	}
	for _, c := range cfgs {
		r, err := c.Resolve(lookup)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		j, _ := json.Marshal(r)
		for _, shown := range []string{fmt.Sprint(r), fmt.Sprintf("%+v", r), fmt.Sprintf("%#v", r), string(j)} {
			for _, v := range env {
				if strings.Contains(shown, v) {
					t.Errorf("%s: %q shows a secret", c.Name, shown)
				}
			}
		}
	}
	r, _ := cfgs[0].Resolve(lookup)
	if r.Token.Reveal() != "r0ut1ngk3y" || r.URL.Reveal() != DefaultPagerDutyURL || r.Severity != "critical" {
		t.Errorf("resolved %v", r)
	}

	_, err := cfgs[0].Resolve(func(string) (string, bool) { return "", false })
	var missing *MissingSecretError
	if !errors.As(err, &missing) || missing.Name != "PD_KEY" || missing.Field != "pagerduty.routing_key" {
		t.Errorf("missing variable: %v", err)
	}
	clear := ChannelConfig{Name: "og", Kind: KindOpsgenie, Opsgenie: &OpsgenieConfig{APIKey: "abc-123-in-clear"}}
	err = clear.Validate()
	if err == nil || strings.Contains(err.Error(), "abc-123") || !strings.Contains(err.Error(), "opsgenie.api_key: must be a reference") {
		t.Errorf("key in clear: %v", err)
	}
	if got := (ChannelConfig{Name: "x", Kind: "sms"}).Validate(); got == nil || !strings.Contains(got.Error(), "type:") {
		t.Errorf("unknown kind: %v", got)
	}
	mail := ChannelConfig{Name: "m", Kind: KindEmail, Email: &EmailConfig{Host: "smtp.test", Username: "u", Password: "${{ env.P }}", From: "not an address", To: []string{"ops@example.com"}}}
	if got := mail.Validate(); got == nil || !strings.Contains(got.Error(), "email.from") {
		t.Errorf("email: %v", got)
	}
	if refs := mail.References(); len(refs) != 1 || refs[0] != "P" {
		t.Errorf("references %q", refs)
	}
}

func TestMaintenanceWindow(t *testing.T) {
	c := apiCheck("eu")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	nightly := MaintenanceWindow{ID: "nightly", Cron: "0 3 * * *", Duration: 30 * time.Minute, Timezone: "Europe/Berlin", Tags: []string{"prod"}}
	if err := nightly.Validate(); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, berlin)
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{day.Add(2*time.Hour + 59*time.Minute), false},
		{day.Add(3 * time.Hour), true},
		{day.Add(3*time.Hour + 29*time.Minute), true},
		{day.Add(3*time.Hour + 30*time.Minute), false},
		{day.Add(27 * time.Hour).UTC(), true}, // the next night, asked in UTC
	} {
		if got := nightly.Active(c, tt.at); got != tt.want {
			t.Errorf("Active at %s = %v, want %v", tt.at, got, tt.want)
		}
		w := windowCache{w: nightly}
		w.covers(tt.at.Add(-time.Hour)) // a cached answer from before must not stick
		if got := w.covers(tt.at); got != tt.want {
			t.Errorf("cached covers at %s = %v, want %v", tt.at, got, tt.want)
		}
	}
	other := apiCheck("eu")
	other.ID, other.Tags = "web", []string{"staging"}
	if nightly.Active(other, day.Add(3*time.Hour)) {
		t.Error("a window by tag muted a check without the tag")
	}
	for _, bad := range []MaintenanceWindow{
		{ID: "a", Start: day, End: day, CheckIDs: []string{"api"}},
		{ID: "b", Cron: "61 * * * *", Duration: time.Hour, CheckIDs: []string{"api"}},
		{ID: "c", Start: day, End: day.Add(time.Hour)},
		{ID: "d", Cron: "0 3 * * *", Duration: time.Hour, Timezone: "Mars/Olympus", Tags: []string{"x"}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("window %s: no error", bad.ID)
		}
	}
}
