package message

import (
	"strings"

	"github.com/checkfleet/checkfleet/internal/check"
)

// checkV2 is the wire form of a check definition in checkfleet.job/v2.
// The check's id travels as the job's check_id.
type checkV2 struct {
	Type       string        `json:"type"`
	TimeoutMS  int64         `json:"timeout_ms"`
	DegradedMS int64         `json:"degraded_ms,omitempty"`
	API        *apiV2        `json:"api,omitempty"`
	Browser    *browserV2    `json:"browser,omitempty"`
	Assertions []assertionV2 `json:"assertions,omitempty"`
}

type apiV2 struct {
	Method          string     `json:"method"`
	URL             string     `json:"url"`
	Headers         []headerV2 `json:"headers,omitempty"`
	Body            string     `json:"body,omitempty"`
	FollowRedirects bool       `json:"follow_redirects,omitempty"`
	MaxRedirects    int        `json:"max_redirects,omitempty"`
}

type headerV2 struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type browserV2 struct {
	Steps    []stepV2    `json:"steps"`
	Viewport *viewportV2 `json:"viewport,omitempty"`
}

type viewportV2 struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

type stepV2 struct {
	Action     string `json:"action"`
	Selector   string `json:"selector,omitempty"`
	Value      string `json:"value,omitempty"`
	URL        string `json:"url,omitempty"`
	Key        string `json:"key,omitempty"`
	Script     string `json:"script,omitempty"`
	Matcher    string `json:"matcher,omitempty"`
	TimeoutMS  int64  `json:"timeout_ms,omitempty"`
	DurationMS int64  `json:"duration_ms,omitempty"`
}

type assertionV2 struct {
	Source     string `json:"source"`
	Property   string `json:"property,omitempty"`
	Comparison string `json:"comparison"`
	Target     string `json:"target,omitempty"`
}

func checkV2From(c check.Check) checkV2 {
	w := checkV2{
		Type:       string(c.Type),
		TimeoutMS:  millisOf(c.Timeout),
		DegradedMS: millisOf(c.DegradedAfter),
	}
	if a := c.API; a != nil {
		w.API = &apiV2{
			Method: a.Method, URL: a.URL, Headers: headersV2From(a.Headers), Body: a.Body,
			FollowRedirects: a.FollowRedirects, MaxRedirects: a.MaxRedirects,
		}
	}
	if b := c.Browser; b != nil {
		w.Browser = &browserV2{Steps: make([]stepV2, len(b.Steps))}
		if b.Viewport != (check.Viewport{}) {
			w.Browser.Viewport = &viewportV2{Width: b.Viewport.Width, Height: b.Viewport.Height}
		}
		for i, s := range b.Steps {
			w.Browser.Steps[i] = stepV2{
				Action: string(s.Action), Selector: s.Selector, Value: s.Value, URL: s.URL, Key: s.Key,
				Script: s.Script, Matcher: string(s.Matcher),
				TimeoutMS: millisOf(s.Timeout), DurationMS: millisOf(s.Duration),
			}
		}
	}
	for _, a := range c.Assertions {
		w.Assertions = append(w.Assertions, assertionV2From(a))
	}
	return w
}

func assertionV2From(a check.Assertion) assertionV2 {
	return assertionV2{
		Source: string(a.Source), Property: a.Property, Comparison: string(a.Comparison), Target: a.Target,
	}
}

func headersV2From(hs []check.Header) []headerV2 {
	var w []headerV2
	for _, h := range hs {
		w = append(w, headerV2{Name: h.Name, Value: h.Value})
	}
	return w
}

// readCheckV2 reads the "check" object of a v2 job. Enums and semantics
// are left to check.Validate, which DecodeJob runs next.
func readCheckV2(o object) check.Check {
	c := check.Check{
		Type:          check.Type(o.str("type", true)),
		Timeout:       o.millis("timeout_ms", true, 1),
		DegradedAfter: o.millis("degraded_ms", false, 0),
	}
	if a, ok := o.object("api", false); ok {
		c.API = &check.APISpec{
			Method:          a.str("method", true),
			URL:             a.str("url", true),
			Headers:         readHeaders(a, "headers"),
			Body:            a.str("body", false),
			FollowRedirects: a.boolean("follow_redirects", false),
			MaxRedirects:    int(a.integer("max_redirects", false, 0, maxInt32)),
		}
	}
	if b, ok := o.object("browser", false); ok {
		c.Browser = &check.BrowserSpec{}
		if _, ok := b.get("steps", true); ok {
			b.objects("steps", func(s object) { c.Browser.Steps = append(c.Browser.Steps, readStep(s)) })
		}
		if v, ok := b.object("viewport", false); ok {
			c.Browser.Viewport = check.Viewport{
				Width:  int(v.integer("width", true, 1, maxInt32)),
				Height: int(v.integer("height", true, 1, maxInt32)),
			}
		}
	}
	o.objects("assertions", func(a object) { c.Assertions = append(c.Assertions, readAssertion(a)) })
	return c
}

func readStep(o object) check.Step {
	return check.Step{
		Action:   check.Action(o.str("action", true)),
		Selector: o.str("selector", false),
		Value:    o.str("value", false),
		URL:      o.str("url", false),
		Key:      o.str("key", false),
		Script:   o.str("script", false),
		Matcher:  check.Matcher(o.str("matcher", false)),
		Timeout:  o.millis("timeout_ms", false, 0),
		Duration: o.millis("duration_ms", false, 0),
	}
}

func readAssertion(o object) check.Assertion {
	return check.Assertion{
		Source:     check.Source(o.str("source", true)),
		Property:   o.str("property", false),
		Comparison: check.Comparison(o.str("comparison", true)),
		Target:     o.str("target", false),
	}
}

func readHeaders(o object, key string) []check.Header {
	var hs []check.Header
	o.objects(key, func(h object) {
		hs = append(hs, check.Header{Name: h.str("name", true), Value: h.str("value", true)})
	})
	return hs
}

// v2Field maps a check.Problem field (checks.yaml keys) onto its JSON path
// under prefix: durations gain their "_ms" suffix, the id is the job's
// check_id.
func v2Field(prefix, field string) string {
	if field == "id" {
		return "check_id"
	}
	last := field[strings.LastIndex(field, ".")+1:]
	switch last {
	case "timeout", "duration", "degraded":
		field += "_ms"
	}
	if field == "" {
		return prefix
	}
	return prefix + "." + field
}
