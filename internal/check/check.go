package check

import (
	"slices"
	"time"
)

// Type is the kind of a check: it decides which runner takes the check and
// which spec (API or Browser) the check carries.
type Type string

// The check types.
const (
	// TypeAPI is an HTTP request made with net/http, judged by Assertions.
	TypeAPI Type = "api"
	// TypeBrowser is a script of Steps run in headless Chrome.
	TypeBrowser Type = "browser"
)

// Types lists every check type, in documentation order.
func Types() []Type { return []Type{TypeAPI, TypeBrowser} }

// Valid reports whether t is one of Types.
func (t Type) Valid() bool { return slices.Contains(Types(), t) }

// Check is one check definition: what to run, how long it may take, and
// what counts as passing. Exactly one of API and Browser is set, matching
// Type.
type Check struct {
	// ID identifies the check across runs (results, metrics, the store).
	ID string
	// Name is the human-readable title shown on the status page.
	Name string
	// Type says which of API and Browser is set.
	Type Type
	// Timeout bounds one run; a run that exceeds it fails. Must be positive,
	// and in a definition at most MaxTimeoutOf(Type).
	Timeout time.Duration
	// DegradedAfter marks a passing run slower than this as degraded.
	// Zero disables it; otherwise it must be less than Timeout.
	DegradedAfter time.Duration
	// API is the request of an api check.
	API *APISpec
	// Browser is the script of a browser check.
	Browser *BrowserSpec
	// Assertions judge the response of an api check; all must pass.
	// Browser checks assert with assert_* steps instead.
	Assertions []Assertion

	// The fields below belong to the definition, not to a run: the
	// scheduler reads them, jobs do not carry them, and Validate accepts
	// them unset (ValidateDefinition requires Schedule and Locations).

	// Schedule says when the check runs.
	Schedule Schedule
	// Locations name where it runs, one job per location per due run; each
	// is a ValidLocation ("eu-west-1", "local") with a jobs queue of its own.
	Locations []string
	// Tags are free-form labels for filtering and grouping on the status
	// page, as in Checkly.
	Tags []string
}

// APISpec is the HTTP request an api check makes.
type APISpec struct {
	// Method is an HTTP method in upper case; see Methods.
	Method string
	// URL is an absolute http or https URL.
	URL string
	// Headers are sent in this order. A slice rather than a map keeps the
	// order written in checks.yaml, allows a header to repeat, and gives one
	// deterministic encoding.
	Headers []Header
	// Body is sent as the request body; empty sends none.
	Body string
	// FollowRedirects makes the runner follow 3xx responses; otherwise the
	// redirect response itself is what the assertions see.
	FollowRedirects bool
	// MaxRedirects caps how many redirects are followed when FollowRedirects
	// is set; zero means the runner's default.
	MaxRedirects int
}

// Header is one HTTP header line, in a request or in a response.
type Header struct {
	// Name is the header field name, as written (not canonicalised).
	Name string
	// Value is the field value, without surrounding whitespace.
	Value string
}

// Methods lists the HTTP methods an api check may use.
func Methods() []string {
	return []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
}

// BrowserSpec is the script of a browser check.
type BrowserSpec struct {
	// Steps run in order; the first failing step ends the run.
	Steps []Step
	// Viewport is the window size; zero means the runner's default.
	Viewport Viewport
}

// Viewport is a browser window size in CSS pixels.
type Viewport struct {
	// Width in CSS pixels.
	Width int
	// Height in CSS pixels.
	Height int
}

// Step is one action of a browser script. Which fields an action needs is
// listed with each Action constant; Validate enforces it.
type Step struct {
	// Action is what the step does.
	Action Action
	// Selector is the CSS selector of the element acted on.
	Selector string
	// Value is the text to type (fill), the option value to choose (select),
	// or the expected text, URL or title (assert_*), read by Matcher.
	Value string
	// URL is where goto navigates: an absolute http or https URL.
	URL string
	// Key is the key press sends, in the names of the DOM KeyboardEvent.key
	// attribute ("Enter", "Tab", "a").
	Key string
	// Script is the JavaScript eval runs; the step fails if it throws or
	// evaluates to false.
	Script string
	// Matcher says how an assert_* step compares the page with Value.
	Matcher Matcher
	// Timeout bounds how long the step waits for its element or condition;
	// zero means the runner's default.
	Timeout time.Duration
	// Duration is how long a sleep step sleeps.
	Duration time.Duration
}

// Action is what a browser step does.
type Action string

// The browser step actions and the Step fields each one needs.
const (
	ActionGoto          Action = "goto"           // URL
	ActionClick         Action = "click"          // Selector
	ActionFill          Action = "fill"           // Selector, Value (may be empty to clear)
	ActionSelect        Action = "select"         // Selector, Value
	ActionPress         Action = "press"          // Key; Selector focuses an element first
	ActionWaitVisible   Action = "wait_visible"   // Selector
	ActionWaitHidden    Action = "wait_hidden"    // Selector
	ActionAssertText    Action = "assert_text"    // Selector, Matcher, Value
	ActionAssertURL     Action = "assert_url"     // Matcher, Value
	ActionAssertTitle   Action = "assert_title"   // Matcher, Value
	ActionAssertVisible Action = "assert_visible" // Selector
	ActionEval          Action = "eval"           // Script
	ActionSleep         Action = "sleep"          // Duration
	ActionScreenshot    Action = "screenshot"     // nothing
)

// Actions lists every browser step action, in documentation order.
func Actions() []Action {
	return []Action{
		ActionGoto, ActionClick, ActionFill, ActionSelect, ActionPress,
		ActionWaitVisible, ActionWaitHidden, ActionAssertText, ActionAssertURL,
		ActionAssertTitle, ActionAssertVisible, ActionEval, ActionSleep,
		ActionScreenshot,
	}
}

// Valid reports whether a is one of Actions.
func (a Action) Valid() bool { return slices.Contains(Actions(), a) }

// Matcher says how an assert_* step compares what it reads with Step.Value.
type Matcher string

// The matchers.
const (
	// MatchContains passes when the text contains Value.
	MatchContains Matcher = "contains"
	// MatchEquals passes when the text equals Value exactly.
	MatchEquals Matcher = "equals"
	// MatchMatches passes when the RE2 regular expression Value matches.
	MatchMatches Matcher = "matches"
)

// Matchers lists every matcher.
func Matchers() []Matcher { return []Matcher{MatchContains, MatchEquals, MatchMatches} }

// Valid reports whether m is one of Matchers.
func (m Matcher) Valid() bool { return slices.Contains(Matchers(), m) }

// Assertion is one condition on the response of an api check.
type Assertion struct {
	// Source is the part of the response read.
	Source Source
	// Property narrows Source: a JSONPath starting with "$" for json_body
	// (empty means the whole document), a header name for headers (empty
	// for has_key, whose Target names the header).
	Property string
	// Comparison is how the value read is compared with Target.
	Comparison Comparison
	// Target is the expected value, always written as a string: "200" for a
	// status code, "500" (milliseconds) for response_time, a key name for
	// has_key, an RE2 expression for matches. Empty for is_empty and
	// not_empty.
	Target string
}

// Source is the part of an HTTP response an assertion reads.
type Source string

// The assertion sources.
const (
	SourceStatusCode   Source = "status_code"   // the status code, an integer
	SourceTextBody     Source = "text_body"     // the body as text
	SourceJSONBody     Source = "json_body"     // the body parsed as JSON, narrowed by Property
	SourceHeaders      Source = "headers"       // the header named by Property
	SourceResponseTime Source = "response_time" // total time in milliseconds
)

// Sources lists every assertion source.
func Sources() []Source {
	return []Source{SourceStatusCode, SourceTextBody, SourceJSONBody, SourceHeaders, SourceResponseTime}
}

// Valid reports whether s is one of Sources.
func (s Source) Valid() bool { return slices.Contains(Sources(), s) }

// Comparisons lists the comparisons that make sense for s: numbers are
// ordered, text is searched, JSON and headers have keys (has_key on headers
// asks whether the header named by Target is present). It is empty for an unknown
// source.
func (s Source) Comparisons() []Comparison {
	text := []Comparison{Equals, NotEquals, Contains, NotContains, IsEmpty, NotEmpty, Matches}
	switch s {
	case SourceStatusCode:
		return []Comparison{Equals, NotEquals, LessThan, GreaterThan}
	case SourceResponseTime:
		return []Comparison{LessThan, GreaterThan}
	case SourceTextBody:
		return text
	case SourceHeaders:
		return append(text, HasKey)
	case SourceJSONBody:
		return Comparisons()
	}
	return nil
}

// Comparison is how an assertion compares the value read with its Target.
type Comparison string

// The comparisons.
const (
	Equals      Comparison = "equals"
	NotEquals   Comparison = "not_equals"
	Contains    Comparison = "contains"
	NotContains Comparison = "not_contains"
	LessThan    Comparison = "less_than"    // numeric
	GreaterThan Comparison = "greater_than" // numeric
	IsEmpty     Comparison = "is_empty"     // takes no Target
	NotEmpty    Comparison = "not_empty"    // takes no Target
	HasKey      Comparison = "has_key"      // Target is the key (json_body) or header name (headers)
	Matches     Comparison = "matches"      // Target is an RE2 expression
)

// Comparisons lists every comparison.
func Comparisons() []Comparison {
	return []Comparison{
		Equals, NotEquals, Contains, NotContains, LessThan, GreaterThan,
		IsEmpty, NotEmpty, HasKey, Matches,
	}
}

// Valid reports whether c is one of Comparisons.
func (c Comparison) Valid() bool { return slices.Contains(Comparisons(), c) }

// TakesTarget reports whether c compares with a Target (all but is_empty and
// not_empty do).
func (c Comparison) TakesTarget() bool { return c != IsEmpty && c != NotEmpty }
