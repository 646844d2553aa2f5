package check

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ValidationError lists everything wrong with a check definition, each
// problem naming its field.
type ValidationError struct {
	// CheckID is the id of the invalid check; may be empty.
	CheckID string
	// Problems are in field order; there is at least one.
	Problems []Problem
}

// Problem is one thing wrong with one field of a check.
type Problem struct {
	// Field is the path of the field, in checks.yaml keys: "api.url",
	// "browser.steps[2].selector". Empty for the check as a whole.
	Field string
	// Message says what is wrong, e.g. "is required".
	Message string
}

// String renders the problem as "field: message".
func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// Error lists the problems: `check "x": api.url: is required; timeout: ...`.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return fmt.Sprintf("check %q: %s", e.CheckID, strings.Join(parts, "; "))
}

// Validate reports what a job must not carry: a type that does not match
// its spec, missing required fields, durations out of range, unknown
// actions, matchers, sources and comparisons, and targets that cannot be
// compared, and a Schedule, Locations or Tags that are set but malformed
// (see MinEvery, ValidLocation). It returns nil or a *ValidationError naming
// every bad field.
func (c Check) Validate() error {
	var v validator
	if c.ID == "" {
		v.add("id", "is required")
	}
	v.duration("timeout", c.Timeout)
	v.optionalDuration("degraded", c.DegradedAfter)
	if c.DegradedAfter > 0 && c.Timeout > 0 && c.DegradedAfter >= c.Timeout {
		v.addf("degraded", "must be less than timeout (%v), got %v", c.Timeout, c.DegradedAfter)
	}
	switch c.Type {
	case TypeAPI:
		if c.API == nil {
			v.add("api", "is required for an api check")
		} else {
			validateAPI(&v, c.API)
		}
		if c.Browser != nil {
			v.add("browser", "must not be set on an api check")
		}
		for i, a := range c.Assertions {
			validateAssertion(&v, fmt.Sprintf("assertions[%d]", i), a)
		}
	case TypeBrowser:
		if c.Browser == nil {
			v.add("browser", "is required for a browser check")
		} else {
			validateBrowser(&v, c.Browser)
		}
		if c.API != nil {
			v.add("api", "must not be set on a browser check")
		}
		if len(c.Assertions) > 0 {
			v.add("assertions", "are for api checks; a browser check asserts with assert_* steps")
		}
	case "":
		v.add("type", "is required (api or browser)")
	default:
		v.addf("type", "unknown type %q (want api or browser)", c.Type)
	}
	validateSchedule(&v, c.Schedule)
	validateLocations(&v, c.Locations)
	validateTags(&v, c.Tags)
	return v.err(c.ID)
}

func validateAPI(v *validator, a *APISpec) {
	switch {
	case a.Method == "":
		v.add("api.method", "is required")
	case !slices.Contains(Methods(), a.Method):
		v.addf("api.method", "unsupported method %q (want one of %s)", a.Method, strings.Join(Methods(), ", "))
	}
	v.httpURL("api.url", a.URL)
	for i, h := range a.Headers {
		field := fmt.Sprintf("api.headers[%d]", i)
		switch {
		case h.Name == "":
			v.add(field+".name", "is required")
		case !isToken(h.Name):
			v.addf(field+".name", "%q is not a valid header name", h.Name)
		}
		if strings.ContainsAny(h.Value, "\r\n\x00") {
			v.add(field+".value", "must not contain CR, LF or NUL")
		}
	}
	if a.MaxRedirects < 0 {
		v.addf("api.max_redirects", "must not be negative, got %d", a.MaxRedirects)
	} else if a.MaxRedirects > 0 && !a.FollowRedirects {
		v.add("api.max_redirects", "is set but follow_redirects is false")
	}
}

func validateBrowser(v *validator, b *BrowserSpec) {
	if len(b.Steps) == 0 {
		v.add("browser.steps", "needs at least one step")
	}
	for i, s := range b.Steps {
		validateStep(v, fmt.Sprintf("browser.steps[%d]", i), s)
	}
	w, h := b.Viewport.Width, b.Viewport.Height
	switch {
	case w < 0 || h < 0:
		v.addf("browser.viewport", "must not be negative, got %dx%d", w, h)
	case (w == 0) != (h == 0):
		v.addf("browser.viewport", "set both width and height or neither, got %dx%d", w, h)
	}
}

func validateStep(v *validator, field string, s Step) {
	need := func(name, value string) {
		if value == "" {
			v.addf(field+"."+name, "is required for %s", s.Action)
		}
	}
	switch s.Action {
	case ActionGoto:
		v.httpURL(field+".url", s.URL)
	case ActionClick, ActionFill, ActionSelect, ActionWaitVisible, ActionWaitHidden, ActionAssertVisible:
		need("selector", s.Selector)
	case ActionPress:
		need("key", s.Key)
	case ActionAssertText, ActionAssertURL, ActionAssertTitle:
		if s.Action == ActionAssertText {
			need("selector", s.Selector)
		}
		switch s.Matcher {
		case "":
			v.addf(field+".matcher", "is required for %s (contains, equals or matches)", s.Action)
		case MatchMatches:
			v.regexp(field+".value", s.Value)
		}
	case ActionEval:
		need("script", s.Script)
	case ActionSleep:
		v.duration(field+".duration", s.Duration)
	case ActionScreenshot:
	case "":
		v.add(field+".action", "is required")
	default:
		v.addf(field+".action", "unknown action %q", s.Action)
	}
	if s.Matcher != "" && !s.Matcher.Valid() {
		v.addf(field+".matcher", "unknown matcher %q (want contains, equals or matches)", s.Matcher)
	}
	v.optionalDuration(field+".timeout", s.Timeout)
}

func validateAssertion(v *validator, field string, a Assertion) {
	if !a.Source.Valid() {
		v.addf(field+".source", "unknown source %q (want one of %s)", a.Source, list(Sources()))
		return
	}
	switch {
	case !a.Comparison.Valid():
		v.addf(field+".comparison", "unknown comparison %q", a.Comparison)
		return
	case !slices.Contains(a.Source.Comparisons(), a.Comparison):
		v.addf(field+".comparison", "%s cannot be used with %s (want one of %s)",
			a.Comparison, a.Source, list(a.Source.Comparisons()))
		return
	}
	switch a.Source {
	case SourceHeaders:
		if a.Comparison == HasKey {
			if a.Property != "" {
				v.add(field+".property", "must be empty for has_key on headers (the target names the header)")
			}
			if a.Target != "" && !isToken(a.Target) {
				v.addf(field+".target", "%q is not a valid header name", a.Target)
			}
		} else if a.Property == "" {
			v.add(field+".property", "is required for headers (the header name)")
		} else if !isToken(a.Property) {
			v.addf(field+".property", "%q is not a valid header name", a.Property)
		}
	case SourceJSONBody:
		if a.Property != "" && !strings.HasPrefix(a.Property, "$") {
			v.addf(field+".property", "must be a JSONPath starting with $, got %q", a.Property)
		}
	default:
		if a.Property != "" {
			v.addf(field+".property", "must be empty for %s", a.Source)
		}
	}
	if !a.Comparison.TakesTarget() {
		if a.Target != "" {
			v.addf(field+".target", "must be empty for %s", a.Comparison)
		}
		return
	}
	switch {
	case a.Target == "":
		v.addf(field+".target", "is required for %s", a.Comparison)
	case a.Comparison == Matches:
		v.regexp(field+".target", a.Target)
	case a.Source == SourceStatusCode:
		if len(a.Target) != 3 || !isDigits(a.Target) || a.Target[0] == '0' {
			v.addf(field+".target", "must be a status code (100-999), got %q", a.Target)
		}
	case a.Source == SourceResponseTime:
		if _, err := strconv.ParseInt(a.Target, 10, 64); err != nil || !isDigits(a.Target) {
			v.addf(field+".target", "must be a whole number of milliseconds, got %q", a.Target)
		}
	case a.Comparison == LessThan || a.Comparison == GreaterThan:
		if _, err := strconv.ParseFloat(a.Target, 64); err != nil {
			v.addf(field+".target", "must be a number for %s, got %q", a.Comparison, a.Target)
		}
	}
}

// validator collects problems in the order fields are checked.
type validator struct{ problems []Problem }

func (v *validator) add(field, msg string) {
	v.problems = append(v.problems, Problem{Field: field, Message: msg})
}

// err returns the problems collected as a *ValidationError, or nil.
func (v *validator) err(id string) error {
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{CheckID: id, Problems: v.problems}
}

func (v *validator) addf(field, format string, args ...any) {
	v.add(field, fmt.Sprintf(format, args...))
}

// duration requires a positive duration of at least a millisecond: wire
// formats carry whole milliseconds, so anything shorter would arrive as zero.
func (v *validator) duration(field string, d time.Duration) {
	if d == 0 {
		v.add(field, "is required")
		return
	}
	v.optionalDuration(field, d)
}

// optionalDuration accepts zero (not set) or a duration of at least 1ms.
func (v *validator) optionalDuration(field string, d time.Duration) {
	switch {
	case d < 0:
		v.addf(field, "must not be negative, got %v", d)
	case d > 0 && d < time.Millisecond:
		v.addf(field, "must be at least 1ms, got %v", d)
	}
}

func (v *validator) httpURL(field, s string) {
	if s == "" {
		v.add(field, "is required")
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.addf(field, "is not a valid URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		v.addf(field, "must be an absolute http or https URL, got %q", s)
	case u.Host == "":
		v.addf(field, "has no host: %q", s)
	}
}

func (v *validator) regexp(field, expr string) {
	if _, err := regexp.Compile(expr); err != nil {
		v.addf(field, "is not a valid regular expression: %v", err)
	}
}

// isToken reports whether s is an RFC 9110 token, as header names must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r >= 0x80 || !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// isDigits reports whether s is one or more ASCII digits, with no sign.
func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func list[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}
