package checkfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/checkfleet/checkfleet/internal/timetable"
)

// FuzzParse: Parse never panics; what it accepts is valid, and what it
// refuses comes with problems that say where.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/invalid/*.yaml")
	seeds = append(append(seeds, more...), "../../examples/checks.yaml")
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("checks: &c\n  - *c\n"))
	f.Add([]byte("- {id: a, type: api, cron: 'TZ=UTC', locations: [local], request: {url: 'http://h/'}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checks, err := Parse("fuzz.yaml", data)
		if err != nil {
			var ferr *Error
			if !errors.As(err, &ferr) || len(ferr.Problems) == 0 {
				t.Fatalf("error %v (%T) is not an *Error with problems", err, err)
			}
			if checks != nil {
				t.Fatalf("checks returned with an error")
			}
			for _, p := range ferr.Problems {
				if p.File != "fuzz.yaml" || p.Line < 0 || p.Message == "" {
					t.Fatalf("bad problem %#v", p)
				}
			}
			return
		}
		ids := map[string]bool{}
		for _, c := range checks {
			if err := c.ValidateDefinition(); err != nil {
				t.Fatalf("accepted an invalid check: %v", err)
			}
			if c.Schedule.Cron != "" {
				if _, err := timetable.ParseCron(c.Schedule); err != nil {
					t.Fatalf("accepted cron %q: %v", c.Schedule.Cron, err)
				}
			}
			if ids[c.ID] {
				t.Fatalf("accepted duplicate id %q", c.ID)
			}
			ids[c.ID] = true
		}
	})
}

// FuzzParseAlerting: ParseAlerting never panics; what it accepts passes
// package alert's validation, names only channels it defines and has a
// policy for every check; what it refuses says where.
func FuzzParseAlerting(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/alerting/*.yaml")
	more, _ := filepath.Glob("testdata/alertfolder/*/*.yaml")
	seeds = append(append(seeds, more...), "testdata/alertfolder/alerting.yaml", "testdata/valid.yaml", "../../examples/checks.yaml")
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("alert_channels: &c\n  - *c\n"))
	f.Add([]byte("alert_policy: {channels: [a]}\nalert_channels: [{id: a, type: webhook, url: 'https://h.example/${{ env.CHECKFLEET_SECRET_X }}', headers: {Authorization: '${{ env.CHECKFLEET_SECRET_Y }}'}}]\nchecks: []\n"))
	lookup := func(name string) (string, bool) { return "v", len(name)%2 == 0 }
	f.Fuzz(func(t *testing.T, data []byte) {
		checks, a, err := ParseAlerting("fuzz.yaml", data, lookup)
		if err != nil {
			var ferr *Error
			if !errors.As(err, &ferr) || len(ferr.Problems) == 0 {
				t.Fatalf("error %v (%T) is not an *Error with problems", err, err)
			}
			for _, p := range ferr.Problems {
				if p.File != "fuzz.yaml" || p.Line < 0 || p.Message == "" {
					t.Fatalf("bad problem %#v", p)
				}
			}
			return
		}
		channels := map[string]bool{}
		for _, c := range a.Channels {
			if err := c.Validate(); err != nil {
				t.Fatalf("accepted an invalid channel: %v", err)
			}
			channels[c.Name] = true
		}
		for _, w := range a.Maintenance {
			if err := w.Validate(); err != nil {
				t.Fatalf("accepted an invalid window: %v", err)
			}
		}
		if len(a.Checks) != len(checks) {
			t.Fatalf("%d checks, alerting for %d", len(checks), len(a.Checks))
		}
		for _, c := range checks {
			ca, ok := a.Checks[c.ID]
			if !ok {
				t.Fatalf("no alerting for %q", c.ID)
			}
			if err := ca.Policy.ValidateFor(c); err != nil {
				t.Fatalf("accepted an invalid policy: %v", err)
			}
			for _, ch := range ca.Channels {
				if !channels[ch] {
					t.Fatalf("check %q names channel %q, which is not defined", c.ID, ch)
				}
			}
		}
		for _, p := range a.Warnings {
			if !p.Warning || p.File != "fuzz.yaml" {
				t.Fatalf("bad warning %#v", p)
			}
		}
	})
}
