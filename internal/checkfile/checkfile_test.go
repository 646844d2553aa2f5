package checkfile

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*.golden")

func TestLoadValid(t *testing.T) {
	got, err := Load("testdata/valid.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	defaultLocs := []string{"eu-west-1", "us-east-1"}
	prod := []string{"prod"}
	berlin := "Europe/Berlin"
	want := []check.Check{
		{
			ID: "api-health", Name: "API health", Type: check.TypeAPI,
			Timeout: 15 * time.Second, DegradedAfter: 3 * time.Second,
			Schedule:  check.Schedule{Every: time.Minute},
			Locations: defaultLocs, Tags: prod,
			API: &check.APISpec{Method: "GET", URL: "https://api.example.com/health", FollowRedirects: true},
			Assertions: []check.Assertion{
				{Source: check.SourceStatusCode, Comparison: check.Equals, Target: "200"},
				{Source: check.SourceJSONBody, Property: "$.load", Comparison: check.LessThan, Target: "1.50"},
				{Source: check.SourceJSONBody, Property: "$.ok", Comparison: check.Equals, Target: "true"},
				{Source: check.SourceResponseTime, Comparison: check.LessThan, Target: "1500"},
			},
		},
		{
			ID: "login-api", Name: "Login API", Type: check.TypeAPI,
			Timeout: 5 * time.Second, DegradedAfter: time.Second,
			Schedule:  check.Schedule{Every: 30 * time.Second},
			Locations: []string{"local"}, Tags: []string{"auth", "critical"},
			API: &check.APISpec{
				Method: "POST", URL: "https://api.example.com/v1/login?next=/home",
				Headers: []check.Header{
					{Name: "Content-Type", Value: "application/json"},
					{Name: "Accept", Value: "application/json"},
					{Name: "Accept", Value: "text/plain"},
					{Name: "X-Request-Count", Value: "3"},
					{Name: "X-Empty", Value: ""},
				},
				Body: "{\"user\": \"probe\"}\n", FollowRedirects: true, MaxRedirects: 3,
			},
			Assertions: []check.Assertion{
				{Source: check.SourceJSONBody, Property: "$.token", Comparison: check.NotEmpty},
				{Source: check.SourceHeaders, Property: "Content-Type", Comparison: check.Contains, Target: "json"},
				{Source: check.SourceTextBody, Comparison: check.Matches, Target: `"token":\s*"`},
			},
		},
		{
			ID: "no-redirects", Type: check.TypeAPI,
			Timeout: 15 * time.Second, DegradedAfter: 3 * time.Second,
			Schedule:  check.Schedule{Cron: "@hourly", TimeZone: "UTC"},
			Locations: defaultLocs, Tags: prod,
			API: &check.APISpec{Method: "HEAD", URL: "http://example.com/old"},
			Assertions: []check.Assertion{
				{Source: check.SourceStatusCode, Comparison: check.Equals, Target: "301"},
				{Source: check.SourceHeaders, Property: "Location", Comparison: check.Equals, Target: "https://example.com/new"},
			},
		},
		{
			ID: "login-flow", Name: "Login flow", Type: check.TypeBrowser,
			Timeout: 60 * time.Second, DegradedAfter: 20 * time.Second,
			Schedule:  check.Schedule{Cron: "*/10 8-18 * * 1-5", TimeZone: berlin},
			Locations: defaultLocs, Tags: prod,
			Browser: &check.BrowserSpec{
				Viewport: check.Viewport{Width: 1280, Height: 800},
				Steps: []check.Step{
					{Action: check.ActionGoto, URL: "https://app.example.com/login"},
					{Action: check.ActionFill, Selector: "#email", Value: "probe@example.com"},
					{Action: check.ActionFill, Selector: "#password"},
					{Action: check.ActionSelect, Selector: "#region", Value: "eu"},
					{Action: check.ActionClick, Selector: "button[type=submit]"},
					{Action: check.ActionPress, Key: "Enter"},
					{Action: check.ActionWaitVisible, Selector: ".dashboard", Timeout: 15 * time.Second},
					{Action: check.ActionWaitHidden, Selector: ".spinner"},
					{Action: check.ActionAssertText, Selector: "h1", Matcher: check.MatchContains, Value: "Welcome"},
					{Action: check.ActionAssertURL, Matcher: check.MatchMatches, Value: `/dashboard(\?.*)?$`},
					{Action: check.ActionAssertTitle, Matcher: check.MatchEquals, Value: "Dashboard"},
					{Action: check.ActionAssertVisible, Selector: "#logout"},
					{Action: check.ActionEval, Script: "window.appReady === true"},
					{Action: check.ActionSleep, Duration: 500 * time.Millisecond},
					{Action: check.ActionScreenshot},
				},
			},
		},
		{
			ID: "login-page", Type: check.TypeBrowser,
			Timeout: 30 * time.Second, DegradedAfter: 3 * time.Second,
			Schedule:  check.Schedule{Cron: "0 9 * * 1", TimeZone: "America/New_York"},
			Locations: defaultLocs, Tags: prod,
			Browser: &check.BrowserSpec{Steps: []check.Step{
				{Action: check.ActionGoto, URL: "https://app.example.com/login"},
				{Action: check.ActionFill, Selector: "#email", Value: "probe@example.com"},
			}},
		},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d checks, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("check %d:\n got %s\nwant %s", i, dump(got[i]), dump(want[i]))
		}
	}
}

// TestParseBuiltInDefaults covers what neither the check nor defaults set,
// and the bare-list form.
func TestParseBuiltInDefaults(t *testing.T) {
	src := `
- id: a
  type: api
  every: 10s
  locations: [local]
  request: { url: "http://127.0.0.1:8081/" }
- id: b
  type: browser
  cron: "@every 1m"
  locations: [local]
  steps:
    - { action: assert_title, value: Home }
`
	got, err := Parse("list.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []check.Check{
		{ID: "a", Type: check.TypeAPI, Timeout: 10 * time.Second, Schedule: check.Schedule{Every: 10 * time.Second},
			Locations: []string{"local"}, API: &check.APISpec{Method: "GET", URL: "http://127.0.0.1:8081/", FollowRedirects: true}},
		{ID: "b", Type: check.TypeBrowser, Timeout: 60 * time.Second, Schedule: check.Schedule{Cron: "@every 1m"},
			Locations: []string{"local"}, Browser: &check.BrowserSpec{Steps: []check.Step{
				{Action: check.ActionAssertTitle, Matcher: check.MatchContains, Value: "Home"}}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", dumpAll(got), dumpAll(want))
	}
}

func TestParseTargetKeepsScalarText(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{`200`, "200"},
		{`"200"`, "200"},
		{`1.50`, "1.50"},
		{`0x1F`, "0x1F"},
		{`1e3`, "1e3"},
		{`true`, "true"},
		{`'007'`, "007"},
		{`2024-01-01`, "2024-01-01"},
	} {
		src := "- id: t\n  type: api\n  every: 1m\n  locations: [local]\n  request: {url: 'http://h/'}\n" +
			"  assertions:\n    - {source: json_body, property: $.v, comparison: equals, target: " + tt.yaml + "}\n"
		got, err := Parse("t.yaml", []byte(src))
		if err != nil {
			t.Errorf("target %s: %v", tt.yaml, err)
			continue
		}
		if g := got[0].Assertions[0].Target; g != tt.want {
			t.Errorf("target %s read as %q, want %q", tt.yaml, g, tt.want)
		}
	}
}

// TestParseInvalid parses each testdata/invalid/*.yaml and compares the
// complete error with the .golden file beside it (go test -update rewrites
// them).
func TestParseInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
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
			checks, err := Parse(filepath.Base(file), data)
			var ferr *Error
			if !errors.As(err, &ferr) {
				t.Fatalf("Parse = %d checks, %v; want *Error", len(checks), err)
			}
			if checks != nil {
				t.Errorf("Parse returned checks along with an error")
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
			for _, p := range ferr.Problems {
				if p.File != filepath.Base(file) {
					t.Errorf("problem %q names file %q", p, p.File)
				}
			}
		})
	}
}

// TestParseReportsEveryProblem pins that problems from the decoder and from
// validation, in several checks, all come back at once and in line order.
func TestParseReportsEveryProblem(t *testing.T) {
	src := `checks:
  - id: one
    type: api
    timout: 5s
    every: 5s
    locations: [EU]
    request:
      url: example.com/health
  - id: two
    type: browser
    every: 1m
    locations: [local]
    steps:
      - { action: click }
      - { action: goto, url: /login, selector: a }
`
	_, err := Parse("checks.yaml", []byte(src))
	want := []string{
		`checks.yaml:4: unknown field "timout" in check "one" (did you mean "timeout"?)`,
		`checks.yaml:5: every: must be at least 10s, got 5s`,
		`checks.yaml:6: locations[0]: "EU" is not a valid location (lower-case letters, digits and '-', starting with a letter, like eu-west-1)`,
		`checks.yaml:8: request.url: must be an absolute http or https URL, got "example.com/health"`,
		`checks.yaml:14: steps[0].selector: is required for click`,
		`checks.yaml:15: steps[1].url: must be an absolute http or https URL, got "/login"`,
		`checks.yaml:15: steps[1].selector: is not used by goto (goto takes url, timeout)`,
	}
	assertLines(t, err, want)
	if p := err.(*Error).Problems[3]; p.Line != 8 || p.Column != 12 || p.Field != "request.url" {
		t.Errorf("request.url problem at %d:%d %q, want 8:12 request.url", p.Line, p.Column, p.Field)
	}
}

func TestParseUnknownFieldSuggestions(t *testing.T) {
	for _, tt := range []struct{ key, where, suggestion string }{
		{"timout", "check", "timeout"},
		{"Timeout", "check", "timeout"},
		{"degraded", "check", "degraded_after"},
		{"url", "check", "request.url"},
		{"frequency", "check", "every"},
		{"location", "check", "locations"},
		{"time_zone", "check", "timezone"},
		{"colour", "check", ""},
		{"methd", "request", "method"},
		{"selectr", "step", "selector"},
		{"comparision", "assertion", "comparison"},
	} {
		known := map[string]keys{"check": checkKeys, "request": requestKeys, "step": stepKeys, "assertion": assertionKeys}[tt.where]
		if got := suggest(tt.key, known); got != tt.suggestion {
			t.Errorf("suggest(%q, %s keys) = %q, want %q", tt.key, tt.where, got, tt.suggestion)
		}
	}
}

func TestParseRefusesYAMLBomb(t *testing.T) {
	// Nine levels of nine: 9^9 (387 million) nodes if expanded.
	var b strings.Builder
	b.WriteString("x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for c := 'b'; c <= 'i'; c++ {
		p := string(c - 1)
		b.WriteString("x-" + string(c) + ": &" + string(c) + " [*" + p + strings.Repeat(", *"+p, 8) + "]\n")
	}
	b.WriteString("checks:\n  - id: bomb\n    type: api\n    every: 1m\n    locations: *i\n    request: {url: 'http://h/'}\n")
	start := time.Now()
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Parse took %v", elapsed)
	}
	assertLines(t, err, []string{
		"bomb.yaml:14: alias *i takes the file past 1000000 nodes expanded through aliases, or refers to itself; refusing it (nested aliases grow exponentially)",
	})

	// An anchor that contains itself is refused the same way.
	_, err = Parse("cycle.yaml", []byte("checks: &c\n  - *c\n"))
	assertLines(t, err, []string{
		"cycle.yaml:2: alias *c takes the file past 1000000 nodes expanded through aliases, or refers to itself; refusing it (nested aliases grow exponentially)",
	})
}

func TestParseSharedAnchorsWithinBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-steps: &steps\n")
	for range 20 {
		b.WriteString("  - { action: click, selector: '#a' }\n")
	}
	b.WriteString("checks:\n")
	const n = 2000
	for i := range n {
		b.WriteString("  - { id: c" + itoa(i) + ", type: browser, every: 1m, locations: [local], steps: *steps }\n")
	}
	checks, err := Parse("shared.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != n || len(checks[n-1].Browser.Steps) != 20 {
		t.Fatalf("got %d checks", len(checks))
	}
}

func TestParseEmptyAndOversized(t *testing.T) {
	for _, src := range []string{"", "\n\n", "# nothing here\n", "---\n", "~\n"} {
		_, err := Parse("empty.yaml", []byte(src))
		var ferr *Error
		if !errors.As(err, &ferr) || len(ferr.Problems) != 1 || !strings.HasPrefix(ferr.Problems[0].Message, "file is empty") {
			t.Errorf("Parse(%q) = %v, want a single 'file is empty' problem", src, err)
		}
	}
	big := make([]byte, MaxFileSize+1)
	assertLines(t, errOf(Parse("big.yaml", big)), []string{
		"big.yaml: file is 10485761 bytes, more than the 10 MiB a checks file may have",
	})

	dir := t.TempDir()
	name := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(name, big, 0o644); err != nil {
		t.Fatal(err)
	}
	assertLines(t, errOf(Load(name)), []string{
		name + ": file is 10485761 bytes, more than the 10 MiB a checks file may have",
	})
}

func TestLoadFolder(t *testing.T) {
	checks, err := Load("testdata/folder")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range checks {
		ids = append(ids, c.ID)
	}
	// api/ sorts before b.yml and z.yaml; .hidden/ and notes.txt are skipped.
	if want := []string{"api-one", "api-two", "browser-one", "last"}; !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
}

func TestLoadFolderDuplicateID(t *testing.T) {
	_, err := Load("testdata/dup")
	assertLines(t, err, []string{
		`testdata/dup/a.yaml:5: unknown field "tyep" in check "home" (did you mean "type"?)`,
		`testdata/dup/b.yaml:1: id: duplicate id "home", first defined at testdata/dup/a.yaml:3`,
		`testdata/dup/b.yaml:11: id: duplicate id "b-twice", first defined at testdata/dup/b.yaml:6`,
	})
}

func TestLoadErrors(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want os.ErrNotExist", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	assertLines(t, errOf(Load(dir)), []string{dir + ": no *.yaml or *.yml files in the folder"})
}

func TestExampleParses(t *testing.T) {
	checks, err := Load("../../examples/checks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var api, browser int
	for _, c := range checks {
		if err := c.ValidateDefinition(); err != nil {
			t.Errorf("%s: %v", c.ID, err)
		}
		if !slices.Equal(c.Locations, []string{"local"}) {
			t.Errorf("%s: locations %v, want [local]", c.ID, c.Locations)
		}
		switch c.Type {
		case check.TypeAPI:
			api++
			if !strings.HasPrefix(c.API.URL, "http://127.0.0.1:8081/") {
				t.Errorf("%s: url %s is not a demo target", c.ID, c.API.URL)
			}
		case check.TypeBrowser:
			browser++
		}
	}
	if api < 3 || browser < 1 {
		t.Errorf("example has %d api and %d browser checks", api, browser)
	}
}

func TestStepFieldsCoverEveryAction(t *testing.T) {
	for _, a := range check.Actions() {
		fields, ok := stepFields[a]
		if !ok {
			t.Errorf("stepFields has no entry for %s", a)
		}
		for _, f := range fields {
			if !slices.Contains(stepKeys.names, f) {
				t.Errorf("stepFields[%s] lists %q, which is not a step key", a, f)
			}
		}
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{Problems: []Problem{
		{File: "a.yaml", Line: 3, Column: 5, Field: "request.url", Message: "is required"},
		{File: "a.yaml", Line: 4, Message: `unknown field "x" in check "c"`},
		{File: "b.yaml", Message: "file is empty"},
	}, Omitted: 2}
	want := "a.yaml:3: request.url: is required\n" +
		"a.yaml:4: unknown field \"x\" in check \"c\"\n" +
		"b.yaml: file is empty\n" +
		"... and 2 more problems"
	if e.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", e.Error(), want)
	}
}

func TestParseCapsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("checks:\n  - id: a\n    type: api\n    every: 1m\n    locations: [local]\n    request: {url: 'http://h/'}\n")
	for i := range maxProblems + 5 {
		b.WriteString("    x" + itoa(i) + ": 1\n")
	}
	var ferr *Error
	if _, err := Parse("many.yaml", []byte(b.String())); !errors.As(err, &ferr) {
		t.Fatalf("got %v", err)
	}
	if len(ferr.Problems) != maxProblems || ferr.Omitted != 5 {
		t.Errorf("got %d problems, %d omitted; want %d and 5", len(ferr.Problems), ferr.Omitted, maxProblems)
	}
}

func assertLines(t *testing.T, err error, want []string) {
	t.Helper()
	var ferr *Error
	if !errors.As(err, &ferr) {
		t.Fatalf("error = %v (%T), want *checkfile.Error", err, err)
	}
	var got []string
	for _, p := range ferr.Problems {
		got = append(got, p.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func errOf(_ []check.Check, err error) error { return err }

func itoa(i int) string { return strconv.Itoa(i) }

// dump renders a check with its pointers followed, for failure messages.
func dump(c check.Check) string {
	s := fmt.Sprintf("%+v", c)
	if c.API != nil {
		s += fmt.Sprintf("\n  api: %+v", *c.API)
	}
	if c.Browser != nil {
		s += fmt.Sprintf("\n  browser: %+v", *c.Browser)
	}
	return s
}

func dumpAll(cs []check.Check) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, dump(c))
	}
	return strings.Join(parts, "\n")
}
