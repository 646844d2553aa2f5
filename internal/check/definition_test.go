package check

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func definition() Check {
	c := apiCheck()
	c.Schedule = Schedule{Every: time.Minute}
	c.Locations = []string{"eu-west-1", "local"}
	c.Tags = []string{"prod", "team: payments"}
	return c
}

func TestValidateDefinitionAccepts(t *testing.T) {
	for name, edit := range map[string]func(*Check){
		"every":                func(c *Check) {},
		"every at the minimum": func(c *Check) { c.Schedule.Every = MinEvery },
		"cron":                 func(c *Check) { c.Schedule = Schedule{Cron: "*/5 * * * *"} },
		"cron with zone":       func(c *Check) { c.Schedule = Schedule{Cron: "0 9 * * 1-5", TimeZone: "Europe/Berlin"} },
		"cron in UTC":          func(c *Check) { c.Schedule = Schedule{Cron: "@daily", TimeZone: "UTC"} },
		"@every":               func(c *Check) { c.Schedule = Schedule{Cron: "@every 1m30s"} },
		"no tags":              func(c *Check) { c.Tags = nil },
		"id with dots":         func(c *Check) { c.ID = "Team_A.api-health.2" },
	} {
		t.Run(name, func(t *testing.T) {
			c := definition()
			edit(&c)
			if err := c.ValidateDefinition(); err != nil {
				t.Fatalf("ValidateDefinition() = %v", err)
			}
		})
	}
}

func TestValidateDefinitionRejects(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Check)
		field  string
		substr string
	}{
		{"no schedule", func(c *Check) { c.Schedule = Schedule{} }, "every", "a schedule is required"},
		{"no locations", func(c *Check) { c.Locations = nil }, "locations", "at least one location"},
		{"id with a space", func(c *Check) { c.ID = "api health" }, "id", "not a valid id"},
		{"id starting with a dash", func(c *Check) { c.ID = "-x" }, "id", "not a valid id"},
		{"id too long", func(c *Check) { c.ID = strings.Repeat("a", 129) }, "id", "at most 128 characters"},
		{"every and cron", func(c *Check) { c.Schedule.Cron = "* * * * *" }, "cron", "not both"},
		{"every too short", func(c *Check) { c.Schedule.Every = 5 * time.Second }, "every", "at least 10s"},
		{"negative every", func(c *Check) { c.Schedule.Every = -time.Minute }, "every", "at least 10s"},
		{"timezone with every", func(c *Check) { c.Schedule.TimeZone = "UTC" }, "timezone", "only to a cron"},
		{"timezone with @every", func(c *Check) { c.Schedule = Schedule{Cron: "@every 1m", TimeZone: "UTC"} }, "timezone", "no effect on @every"},
		{"unknown zone", func(c *Check) { c.Schedule = Schedule{Cron: "@daily", TimeZone: "Mars/Olympus"} }, "timezone", "unknown time zone"},
		{"Local zone", func(c *Check) { c.Schedule = Schedule{Cron: "@daily", TimeZone: "Local"} }, "timezone", `not "Local"`},
		{"CRON_TZ prefix", func(c *Check) { c.Schedule = Schedule{Cron: "CRON_TZ=UTC * * * * *"} }, "cron", "timezone field"},
		{"TZ prefix", func(c *Check) { c.Schedule = Schedule{Cron: "TZ=UTC"} }, "cron", "timezone field"},
		{"cron with spaces", func(c *Check) { c.Schedule = Schedule{Cron: " @daily"} }, "cron", "spaces"},
		{"@every too short", func(c *Check) { c.Schedule = Schedule{Cron: "@every 1s"} }, "cron", "at least 10s"},
		{"@every garbage", func(c *Check) { c.Schedule = Schedule{Cron: "@every soon"} }, "cron", "needs a duration"},
		{"upper-case location", func(c *Check) { c.Locations[0] = "EU-West-1" }, "locations[0]", "not a valid location"},
		{"location ending in dash", func(c *Check) { c.Locations[1] = "local-" }, "locations[1]", "not a valid location"},
		{"location starting with digit", func(c *Check) { c.Locations[1] = "1local" }, "locations[1]", "not a valid location"},
		{"repeated location", func(c *Check) { c.Locations[1] = "eu-west-1" }, "locations[1]", "listed twice"},
		{"empty tag", func(c *Check) { c.Tags[0] = "" }, "tags[0]", "must not be empty"},
		{"padded tag", func(c *Check) { c.Tags[0] = "prod " }, "tags[0]", "spaces"},
		{"long tag", func(c *Check) { c.Tags[0] = string(make([]byte, 65)) }, "tags[0]", "at most 64 bytes"},
		{"control character in tag", func(c *Check) { c.Tags[0] = "a\tb" }, "tags[0]", "printable"},
		{"repeated tag", func(c *Check) { c.Tags[1] = "prod" }, "tags[1]", "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := definition()
			tt.edit(&c)
			err := c.ValidateDefinition()
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("ValidateDefinition() = %v, want *ValidationError", err)
			}
			if !slices.ContainsFunc(verr.Problems, func(p Problem) bool {
				return p.Field == tt.field && strings.Contains(p.Message, tt.substr)
			}) {
				t.Errorf("ValidateDefinition() = %v\nwant a problem on %s containing %q", err, tt.field, tt.substr)
			}
		})
	}
}

// TestValidateLeavesDefinitionFieldsOptional: a job carries no schedule,
// locations or tags, so Validate (which DecodeJob runs) must not ask for
// them, but must still check them when they are set.
func TestValidateLeavesDefinitionFieldsOptional(t *testing.T) {
	c := apiCheck()
	c.ID = "any id at all, as before"
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	c.Schedule.Every = time.Second
	assertProblem(t, c, "every", "at least 10s")
}

func TestScheduleString(t *testing.T) {
	for s, want := range map[Schedule]string{
		{}:                        "unscheduled",
		{Every: 90 * time.Second}: "every 1m30s",
		{Cron: "@hourly"}:         "cron @hourly",
		{Cron: "0 9 * * *", TimeZone: "Europe/Berlin"}: "cron 0 9 * * * (Europe/Berlin)",
	} {
		if got := s.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", s, got, want)
		}
		if s.IsZero() != (want == "unscheduled") {
			t.Errorf("%#v.IsZero() = %v", s, s.IsZero())
		}
	}
}
