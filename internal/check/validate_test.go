package check

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func apiCheck() Check {
	return Check{
		ID:            "api-health",
		Name:          "API health",
		Type:          TypeAPI,
		Timeout:       10 * time.Second,
		DegradedAfter: 2 * time.Second,
		API: &APISpec{
			Method:          "POST",
			URL:             "https://api.example.com/v1/login",
			Headers:         []Header{{Name: "Content-Type", Value: "application/json"}, {Name: "Accept", Value: "*/*"}, {Name: "Accept", Value: "text/plain"}},
			Body:            `{"user":"probe"}`,
			FollowRedirects: true,
			MaxRedirects:    5,
		},
		Assertions: []Assertion{
			{Source: SourceStatusCode, Comparison: Equals, Target: "200"},
			{Source: SourceJSONBody, Property: "$.token", Comparison: NotEmpty},
			{Source: SourceJSONBody, Comparison: HasKey, Target: "token"},
			{Source: SourceHeaders, Property: "Content-Type", Comparison: Contains, Target: "json"},
			{Source: SourceResponseTime, Comparison: LessThan, Target: "1500"},
			{Source: SourceTextBody, Comparison: Matches, Target: `"token":\s*"`},
		},
	}
}

func browserCheck() Check {
	return Check{
		ID:      "login-flow",
		Type:    TypeBrowser,
		Timeout: 60 * time.Second,
		Browser: &BrowserSpec{
			Viewport: Viewport{Width: 1280, Height: 800},
			Steps: []Step{
				{Action: ActionGoto, URL: "https://app.example.com/login"},
				{Action: ActionFill, Selector: "#email", Value: "probe@example.com"},
				{Action: ActionFill, Selector: "#password"},
				{Action: ActionSelect, Selector: "#region", Value: "eu"},
				{Action: ActionClick, Selector: "button[type=submit]"},
				{Action: ActionPress, Key: "Enter"},
				{Action: ActionWaitVisible, Selector: ".dashboard", Timeout: 15 * time.Second},
				{Action: ActionWaitHidden, Selector: ".spinner"},
				{Action: ActionAssertText, Selector: "h1", Matcher: MatchContains, Value: "Welcome"},
				{Action: ActionAssertURL, Matcher: MatchMatches, Value: `/dashboard(\?.*)?$`},
				{Action: ActionAssertTitle, Matcher: MatchEquals, Value: "Dashboard"},
				{Action: ActionAssertVisible, Selector: "#logout"},
				{Action: ActionEval, Script: "window.appReady === true"},
				{Action: ActionSleep, Duration: 500 * time.Millisecond},
				{Action: ActionScreenshot},
			},
		},
	}
}

func TestValidateAccepts(t *testing.T) {
	for name, c := range map[string]Check{
		"full api check":     apiCheck(),
		"full browser check": browserCheck(),
		"minimal api check": {ID: "x", Type: TypeAPI, Timeout: time.Millisecond,
			API: &APISpec{Method: "GET", URL: "http://example.com"}},
		"every comparison for json_body": func() Check {
			c := apiCheck()
			c.Assertions = nil
			for _, cmp := range Comparisons() {
				a := Assertion{Source: SourceJSONBody, Property: "$.a", Comparison: cmp, Target: "1"}
				if !cmp.TakesTarget() {
					a.Target = ""
				}
				c.Assertions = append(c.Assertions, a)
			}
			return c
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Check)
		field  string
		substr string
	}{
		{"missing id", func(c *Check) { c.ID = "" }, "id", "is required"},
		{"missing type", func(c *Check) { c.Type = "" }, "type", "is required"},
		{"unknown type", func(c *Check) { c.Type = "ping" }, "type", `unknown type "ping"`},
		{"zero timeout", func(c *Check) { c.Timeout = 0 }, "timeout", "is required"},
		{"negative timeout", func(c *Check) { c.Timeout = -time.Second }, "timeout", "must not be negative"},
		{"sub-millisecond timeout", func(c *Check) { c.Timeout = time.Microsecond }, "timeout", "at least 1ms"},
		{"negative degraded", func(c *Check) { c.DegradedAfter = -1 }, "degraded", "must not be negative"},
		{"degraded not below timeout", func(c *Check) { c.DegradedAfter = c.Timeout }, "degraded", "less than timeout"},
		{"api type without api", func(c *Check) { c.API = nil }, "api", "is required for an api check"},
		{"api type with browser", func(c *Check) { c.Browser = browserCheck().Browser }, "browser", "must not be set on an api check"},
		{"browser type with api", func(c *Check) { c.Type = TypeBrowser; c.Browser = browserCheck().Browser; c.Assertions = nil },
			"api", "must not be set on a browser check"},
		{"browser type without browser", func(c *Check) { c.Type = TypeBrowser; c.API = nil; c.Assertions = nil },
			"browser", "is required for a browser check"},
		{"browser check with assertions", func(c *Check) { c.Type = TypeBrowser; c.API = nil; c.Browser = browserCheck().Browser },
			"assertions", "assert_* steps"},
		{"missing method", func(c *Check) { c.API.Method = "" }, "api.method", "is required"},
		{"lower-case method", func(c *Check) { c.API.Method = "get" }, "api.method", `unsupported method "get"`},
		{"missing url", func(c *Check) { c.API.URL = "" }, "api.url", "is required"},
		{"relative url", func(c *Check) { c.API.URL = "/health" }, "api.url", "absolute http or https"},
		{"ftp url", func(c *Check) { c.API.URL = "ftp://example.com/x" }, "api.url", "absolute http or https"},
		{"unparsable url", func(c *Check) { c.API.URL = "http://[::1" }, "api.url", "not a valid URL"},
		{"url without host", func(c *Check) { c.API.URL = "http:///x" }, "api.url", "has no host"},
		{"empty header name", func(c *Check) { c.API.Headers[1].Name = "" }, "api.headers[1].name", "is required"},
		{"bad header name", func(c *Check) { c.API.Headers[0].Name = "X Bad" }, "api.headers[0].name", "not a valid header name"},
		{"header injection", func(c *Check) { c.API.Headers[0].Value = "a\r\nX-Evil: 1" }, "api.headers[0].value", "CR, LF"},
		{"negative max redirects", func(c *Check) { c.API.MaxRedirects = -1 }, "api.max_redirects", "must not be negative"},
		{"max redirects without follow", func(c *Check) { c.API.FollowRedirects = false }, "api.max_redirects", "follow_redirects is false"},
		{"unknown source", func(c *Check) { c.Assertions[0].Source = "cookies" }, "assertions[0].source", `unknown source "cookies"`},
		{"unknown comparison", func(c *Check) { c.Assertions[1].Comparison = "between" }, "assertions[1].comparison", `unknown comparison "between"`},
		{"comparison not for source", func(c *Check) { c.Assertions[0].Comparison = Contains }, "assertions[0].comparison", "contains cannot be used with status_code"},
		{"has_key on headers with property", func(c *Check) { c.Assertions[3].Comparison = HasKey }, "assertions[3].property", "must be empty for has_key on headers"},
		{"has_key on headers with bad name", func(c *Check) {
			c.Assertions[3] = Assertion{Source: SourceHeaders, Comparison: HasKey, Target: "X Bad"}
		},
			"assertions[3].target", "not a valid header name"},
		{"has_key on status code", func(c *Check) { c.Assertions[0].Comparison = HasKey }, "assertions[0].comparison", "has_key cannot be used with status_code"},
		{"status target not a code", func(c *Check) { c.Assertions[0].Target = "OK" }, "assertions[0].target", "must be a status code"},
		{"status target out of range", func(c *Check) { c.Assertions[0].Target = "42" }, "assertions[0].target", "must be a status code"},
		{"status target with sign", func(c *Check) { c.Assertions[0].Target = "+20" }, "assertions[0].target", "must be a status code"},
		{"response time with sign", func(c *Check) { c.Assertions[4].Target = "+5" }, "assertions[4].target", "whole number of milliseconds"},
		{"missing target", func(c *Check) { c.Assertions[3].Target = "" }, "assertions[3].target", "is required for contains"},
		{"target for is_empty", func(c *Check) { c.Assertions[1].Target = "x" }, "assertions[1].target", "must be empty for not_empty"},
		{"response time not a number", func(c *Check) { c.Assertions[4].Target = "1.5s" }, "assertions[4].target", "whole number of milliseconds"},
		{"bad regexp", func(c *Check) { c.Assertions[5].Target = "(" }, "assertions[5].target", "not a valid regular expression"},
		{"headers without property", func(c *Check) { c.Assertions[3].Property = "" }, "assertions[3].property", "is required for headers"},
		{"json property not a path", func(c *Check) { c.Assertions[1].Property = "token" }, "assertions[1].property", "JSONPath starting with $"},
		{"property on status_code", func(c *Check) { c.Assertions[0].Property = "x" }, "assertions[0].property", "must be empty for status_code"},
		{"json less_than not a number", func(c *Check) {
			c.Assertions[1] = Assertion{Source: SourceJSONBody, Property: "$.n", Comparison: LessThan, Target: "ten"}
		}, "assertions[1].target", "must be a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := apiCheck()
			tt.edit(&c)
			assertProblem(t, c, tt.field, tt.substr)
		})
	}
}

func TestValidateRejectsBrowser(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*BrowserSpec)
		field  string
		substr string
	}{
		{"no steps", func(b *BrowserSpec) { b.Steps = nil }, "browser.steps", "at least one step"},
		{"missing action", func(b *BrowserSpec) { b.Steps[2].Action = "" }, "browser.steps[2].action", "is required"},
		{"unknown action", func(b *BrowserSpec) { b.Steps[2].Action = "hover" }, "browser.steps[2].action", `unknown action "hover"`},
		{"goto without url", func(b *BrowserSpec) { b.Steps[0].URL = "" }, "browser.steps[0].url", "is required"},
		{"goto relative url", func(b *BrowserSpec) { b.Steps[0].URL = "login" }, "browser.steps[0].url", "absolute http or https"},
		{"click without selector", func(b *BrowserSpec) { b.Steps[4].Selector = "" }, "browser.steps[4].selector", "is required for click"},
		{"press without key", func(b *BrowserSpec) { b.Steps[5].Key = "" }, "browser.steps[5].key", "is required for press"},
		{"assert_text without matcher", func(b *BrowserSpec) { b.Steps[8].Matcher = "" }, "browser.steps[8].matcher", "is required for assert_text"},
		{"assert_text without selector", func(b *BrowserSpec) { b.Steps[8].Selector = "" }, "browser.steps[8].selector", "is required for assert_text"},
		{"unknown matcher", func(b *BrowserSpec) { b.Steps[10].Matcher = "like" }, "browser.steps[10].matcher", `unknown matcher "like"`},
		{"unknown matcher on a click", func(b *BrowserSpec) { b.Steps[4].Matcher = "like" }, "browser.steps[4].matcher", `unknown matcher "like"`},
		{"bad step regexp", func(b *BrowserSpec) { b.Steps[9].Value = "[" }, "browser.steps[9].value", "not a valid regular expression"},
		{"eval without script", func(b *BrowserSpec) { b.Steps[12].Script = "" }, "browser.steps[12].script", "is required for eval"},
		{"sleep without duration", func(b *BrowserSpec) { b.Steps[13].Duration = 0 }, "browser.steps[13].duration", "is required"},
		{"negative step timeout", func(b *BrowserSpec) { b.Steps[6].Timeout = -time.Second }, "browser.steps[6].timeout", "must not be negative"},
		{"half a viewport", func(b *BrowserSpec) { b.Viewport.Height = 0 }, "browser.viewport", "both width and height"},
		{"negative viewport", func(b *BrowserSpec) { b.Viewport.Width = -1 }, "browser.viewport", "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := browserCheck()
			tt.edit(c.Browser)
			assertProblem(t, c, tt.field, tt.substr)
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	c := Check{ID: "bad", Type: TypeAPI, Timeout: -1, API: &APISpec{}}
	err := c.Validate()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Validate() = %v, want *ValidationError", err)
	}
	var fields []string
	for _, p := range verr.Problems {
		fields = append(fields, p.Field)
	}
	if want := []string{"timeout", "api.method", "api.url"}; !slices.Equal(fields, want) {
		t.Errorf("problem fields = %v, want %v", fields, want)
	}
	want := `check "bad": timeout: must not be negative, got -1ns; api.method: is required; api.url: is required`
	if err.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", err, want)
	}
}

func TestSourceComparisons(t *testing.T) {
	for _, s := range Sources() {
		if len(s.Comparisons()) == 0 {
			t.Errorf("%s has no comparisons", s)
		}
		for _, c := range s.Comparisons() {
			if !c.Valid() {
				t.Errorf("%s lists invalid comparison %q", s, c)
			}
		}
	}
	if got := Source("nope").Comparisons(); got != nil {
		t.Errorf("unknown source comparisons = %v, want nil", got)
	}
}

func TestStatusOK(t *testing.T) {
	want := map[Status]bool{StatusPassed: true, StatusDegraded: true, StatusFailed: false, StatusError: false}
	for _, s := range Statuses() {
		if !s.Valid() || s.OK() != want[s] {
			t.Errorf("%s: Valid=%v OK=%v, want true %v", s, s.Valid(), s.OK(), want[s])
		}
	}
	if Status("unknown").Valid() {
		t.Error(`Status("unknown").Valid() = true`)
	}
}

func assertProblem(t *testing.T, c Check, field, substr string) {
	t.Helper()
	err := c.Validate()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Validate() = %v, want *ValidationError", err)
	}
	for _, p := range verr.Problems {
		if p.Field == field && strings.Contains(p.Message, substr) {
			return
		}
	}
	t.Errorf("Validate() = %v\nwant a problem on %s containing %q", err, field, substr)
}
