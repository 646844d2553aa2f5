package check

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MinEvery is the shortest interval a check may run at. Shorter intervals
// would let one checks file saturate the fleet and make the target's rate
// limiter, not its health, the thing being measured.
const MinEvery = 10 * time.Second

// Schedule says when the scheduler runs a check: at a fixed interval (Every)
// or at the times a cron expression names (Cron, read in TimeZone). Exactly
// one of Every and Cron is set on a check definition. Jobs do not carry a
// schedule, so the zero Schedule is valid on a Check that came off the wire.
type Schedule struct {
	// Every runs the check at this interval, at least MinEvery. The scheduler
	// spreads checks with the same interval over it with a stable per-check
	// offset.
	Every time.Duration
	// Cron is a standard 5-field cron expression ("*/5 * * * *") or a
	// descriptor ("@hourly", "@daily", "@every 90s"). Its syntax is checked by
	// the checks-file parser with the same parser the scheduler uses;
	// Validate checks only what needs no cron parser.
	Cron string
	// TimeZone is the IANA zone ("Europe/Berlin") Cron is read in; empty
	// means UTC. It has no meaning for Every and must not be set with it.
	TimeZone string
}

// IsZero reports whether no schedule is set.
func (s Schedule) IsZero() bool { return s == Schedule{} }

// String renders the schedule as written in checks.yaml: "every 30s",
// "cron 0 9 * * 1-5 (Europe/Berlin)".
func (s Schedule) String() string {
	switch {
	case s.Every != 0:
		return "every " + s.Every.String()
	case s.Cron != "" && s.TimeZone != "":
		return fmt.Sprintf("cron %s (%s)", s.Cron, s.TimeZone)
	case s.Cron != "":
		return "cron " + s.Cron
	}
	return "unscheduled"
}

// ValidateDefinition is Validate plus what a check definition (a check in
// checks.yaml, a check the scheduler keeps) needs and a job does not carry:
// a timeout within its type's bound (ValidateTimeout), an id that is safe
// in URLs, metric labels and file names (see ValidID), a schedule, and at
// least one location. It returns nil or a
// *ValidationError naming every bad field.
func (c Check) ValidateDefinition() error {
	var v validator
	if err := c.Validate(); err != nil {
		v.problems = err.(*ValidationError).Problems
	}
	if err := c.ValidateTimeout(); err != nil {
		v.problems = append(v.problems, err.(*ValidationError).Problems...)
	}
	switch {
	case len(c.ID) > maxIDLen:
		v.addf("id", "must be at most %d characters, got %d", maxIDLen, len(c.ID))
	case c.ID != "" && !ValidID(c.ID):
		v.addf("id", "%q is not a valid id (letters, digits, '.', '_' and '-', starting with a letter or digit)", c.ID)
	}
	if c.Schedule.Every == 0 && c.Schedule.Cron == "" {
		v.add("every", "a schedule is required: set every or cron")
	}
	if len(c.Locations) == 0 {
		v.add("locations", "needs at least one location")
	}
	return v.err(c.ID)
}

const (
	maxIDLen       = 128
	maxLocationLen = 63
	maxTagLen      = 64
)

// ValidID reports whether id may name a check definition: 1 to 128 ASCII
// letters, digits, '.', '_' or '-', starting with a letter or a digit.
// Ids are case-sensitive.
func ValidID(id string) bool {
	if id == "" || len(id) > maxIDLen || !isAlnum(rune(id[0])) {
		return false
	}
	for _, r := range id {
		if !isAlnum(r) && r != '.' && r != '_' && r != '-' {
			return false
		}
	}
	return true
}

// ValidLocation reports whether name may name a location: 1 to 63 lower-case
// ASCII letters, digits and '-', starting with a letter and not ending with
// '-', like an AWS region ("eu-west-1") or "local". Locations name queues,
// metric labels and DNS-ish things, so they keep to the smallest alphabet.
func ValidLocation(name string) bool {
	if name == "" || len(name) > maxLocationLen || name[0] < 'a' || name[0] > 'z' || strings.HasSuffix(name, "-") {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// validateSchedule checks a schedule that is set; the zero Schedule passes
// (ValidateDefinition requires one).
func validateSchedule(v *validator, s Schedule) {
	if s.Every != 0 && s.Cron != "" {
		v.add("cron", "set either every or cron, not both")
	}
	if s.Every != 0 && s.Every < MinEvery {
		v.addf("every", "must be at least %v, got %v", MinEvery, s.Every)
	}
	if s.Cron != "" {
		validateCron(v, s.Cron)
	}
	if s.TimeZone != "" {
		switch {
		case s.Cron == "":
			v.add("timezone", "applies only to a cron schedule")
		case strings.HasPrefix(s.Cron, "@every"):
			v.add("timezone", "has no effect on @every")
		}
		validateTimeZone(v, s.TimeZone)
	}
}

// validateCron checks what can be checked without a cron parser: the time
// zone is not smuggled into the expression, and @every keeps to MinEvery.
func validateCron(v *validator, expr string) {
	switch {
	case strings.TrimSpace(expr) != expr:
		v.addf("cron", "must not start or end with spaces, got %q", expr)
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		v.add("cron", "set the time zone with the timezone field, not TZ= or CRON_TZ= in the expression")
	case strings.HasPrefix(expr, "@every "):
		d, err := time.ParseDuration(strings.TrimPrefix(expr, "@every "))
		if err != nil {
			v.addf("cron", "@every needs a duration like 5m, got %q", expr)
		} else if d < MinEvery {
			v.addf("cron", "@every must be at least %v, got %v", MinEvery, d)
		}
	}
}

func validateTimeZone(v *validator, tz string) {
	if tz == "Local" {
		// time.LoadLocation accepts it, but it means whatever zone the
		// scheduler's machine happens to be in.
		v.add("timezone", `must name a zone such as "Europe/Berlin" or "UTC", not "Local"`)
		return
	}
	if _, err := time.LoadLocation(tz); err != nil {
		v.addf("timezone", "unknown time zone %q (want an IANA name such as Europe/Berlin)", tz)
	}
}

func validateLocations(v *validator, locations []string) {
	seen := make(map[string]bool, len(locations))
	for i, l := range locations {
		field := fmt.Sprintf("locations[%d]", i)
		switch {
		case len(l) > maxLocationLen:
			v.addf(field, "must be at most %d characters, got %d", maxLocationLen, len(l))
		case !ValidLocation(l):
			v.addf(field, "%q is not a valid location (lower-case letters, digits and '-', starting with a letter, like eu-west-1)", l)
		case seen[l]:
			v.addf(field, "%q is listed twice", l)
		}
		seen[l] = true
	}
}

// validateTags accepts free-form labels, as Checkly does, within limits that
// keep them displayable and usable as filters.
func validateTags(v *validator, tags []string) {
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		field := fmt.Sprintf("tags[%d]", i)
		switch {
		case t == "":
			v.add(field, "must not be empty")
		case strings.TrimSpace(t) != t:
			v.addf(field, "must not start or end with spaces, got %q", t)
		case len(t) > maxTagLen:
			v.addf(field, "must be at most %d bytes, got %d", maxTagLen, len(t))
		case !utf8.ValidString(t) || strings.IndexFunc(t, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
			v.addf(field, "must be printable text, got %q", t)
		case seen[t]:
			v.addf(field, "%q is listed twice", t)
		}
		seen[t] = true
	}
}
