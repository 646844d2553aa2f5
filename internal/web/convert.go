package web

import (
	"fmt"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/store"
)

// checkJSONOf is the API's form of a check view; it fails as resultJSONOf
// does.
func checkJSONOf(v checkView) (checkJSON, error) {
	c := v.Check
	out := checkJSON{
		ID: c.ID, Name: c.Name, Type: c.Type, Tags: nonNil(c.Tags), State: v.State,
		Locations: make([]locationJSON, 0, len(v.Locations)),
		Links: checkLinksJSON{
			Self:    checkAPIPath(c.ID),
			Results: checkAPIPath(c.ID) + "/results",
			Rollups: checkAPIPath(c.ID) + "/rollups",
			Page:    checkPagePath(c.ID),
		},
	}
	for _, l := range v.Locations {
		lj := locationJSON{Location: l.Name, State: l.State}
		if l.Latest != nil {
			last, err := resultJSONOf(*l.Latest)
			if err != nil {
				return checkJSON{}, err
			}
			lj.LastResult = &last
		}
		out.Locations = append(out.Locations, lj)
	}
	ws := make([]windowJSON, len(v.Uptime))
	for i, u := range v.Uptime {
		ws[i] = windowJSON{Runs: u.Runs, OK: u.OK}
		if ratio, ok := u.Ratio(); ok {
			ws[i].Ratio = &ratio
		}
	}
	out.Uptime = uptimeJSON{Day: ws[0], Week: ws[1], Month: ws[2]}
	return out, nil
}

// definitionOf summarises what c runs, leaving out what may be secret.
func definitionOf(c check.Check) *definitionJSON {
	d := &definitionJSON{
		Schedule: scheduleJSON{
			EveryMS: millis(c.Schedule.Every), Cron: c.Schedule.Cron, TimeZone: c.Schedule.TimeZone,
			Text: scheduleText(c.Schedule),
		},
		TimeoutMS:       millis(c.Timeout),
		DegradedAfterMS: millis(c.DegradedAfter),
		Locations:       nonNil(c.Locations),
	}
	if c.API != nil {
		d.Request = &requestJSON{Method: c.API.Method, URL: redactURL(c.API.URL), FollowRedirects: c.API.FollowRedirects}
	}
	for _, a := range c.Assertions {
		d.Assertions = append(d.Assertions, assertionJSONOf(a))
	}
	if c.Browser != nil {
		for _, st := range c.Browser.Steps {
			d.Steps = append(d.Steps, stepDefJSON{Action: st.Action, Target: stepTarget(st)})
		}
	}
	return d
}

func assertionJSONOf(a check.Assertion) assertionJSON {
	return assertionJSON{Source: a.Source, Property: a.Property, Comparison: a.Comparison, Target: a.Target}
}

// resultJSONOf is how the API serves r: its checkfleet.result/v2 document
// without the screenshot (linked instead) and with the values of sensitive
// response headers redacted, and its links. It fails only for a result
// message.EncodeResult refuses, which the store does not record.
func resultJSONOf(r check.Result) (resultJSON, error) {
	links := resultLinksJSON{Self: resultAPIPath(r.RunID), Check: checkAPIPath(r.CheckID), Page: resultPagePath(r.RunID)}
	if h := r.HTTP; h != nil && len(h.Headers) > 0 {
		redacted := *h
		redacted.Headers = make([]check.Header, len(h.Headers))
		for i, hd := range h.Headers {
			redacted.Headers[i] = redactHeader(hd)
		}
		r.HTTP = &redacted
	}
	if b := r.Browser; b != nil && len(b.Screenshot) > 0 {
		shotless := *b
		shotless.Screenshot = nil
		r.Browser = &shotless
		links.Screenshot = screenshotPath(r.RunID)
	}
	doc, err := message.EncodeResult(r, message.V2)
	if err != nil {
		return resultJSON{}, fmt.Errorf("serve result %s as %s: %w", r.RunID, message.ResultV2, err)
	}
	return resultJSON{Result: doc, Links: links}, nil
}

func rollupJSONOf(r store.Rollup) rollupJSON {
	return rollupJSON{
		Hour: toUTC(r.Hour), Runs: r.Runs, Failures: r.Failures, Degraded: r.Degraded,
		P50MS: millis(r.P50), P95MS: millis(r.P95),
	}
}

// nonNil makes a nil slice encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
