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
