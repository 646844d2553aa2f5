package web

import (
	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

// checkJSONOf is the API's form of a check view.
func checkJSONOf(v checkView) checkJSON {
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
			sum := resultSummaryOf(*l.Latest)
			lj.LastResult = &sum
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
	return out
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

// resultSummaryOf is the listed form of a result.
func resultSummaryOf(r check.Result) resultSummaryJSON {
	s := resultSummaryJSON{
		RunID: r.RunID, CheckID: r.CheckID, Location: r.Location, Attempt: r.Attempt,
		Status: r.Status, Error: r.Error,
		ScheduledAt: toUTC(r.ScheduledAt), StartedAt: toUTC(r.StartedAt), FinishedAt: toUTC(r.FinishedAt),
		TotalMS: millis(r.Timings.Total),
		Links:   resultLinks{Self: resultAPIPath(r.RunID), Page: resultPagePath(r.RunID)},
	}
	if r.HTTP != nil {
		s.StatusCode = r.HTTP.StatusCode
	}
	return s
}

// resultJSONOf is the full detail of a result.
func resultJSONOf(r check.Result) resultJSON {
	t := r.Timings
	out := resultJSON{
		resultSummaryJSON: resultSummaryOf(r),
		Timings: timingsJSON{
			DNSMS: millis(t.DNS), ConnectMS: millis(t.Connect), TLSMS: millis(t.TLS),
			TTFBMS: millis(t.TTFB), DownloadMS: millis(t.Download), TotalMS: millis(t.Total),
		},
		Worker: workerJSON{ID: r.Worker.ID, Version: r.Worker.Version, Image: r.Worker.Image, Host: r.Worker.Host},
	}
	if h := r.HTTP; h != nil {
		hj := &httpJSON{StatusCode: h.StatusCode, Headers: []headerJSON{}, BodyBytes: h.BodyBytes, BodyTruncated: h.BodyTruncated}
		for _, hd := range h.Headers {
			hd = redactHeader(hd)
			hj.Headers = append(hj.Headers, headerJSON{Name: hd.Name, Value: hd.Value})
		}
		if tl := h.TLS; tl != nil {
			hj.TLS = &tlsJSON{
				Version: tl.Version, CipherSuite: tl.CipherSuite, ServerName: tl.ServerName,
				CertSubject: tl.CertSubject, CertIssuer: tl.CertIssuer,
				CertNotBefore: toUTC(tl.CertNotBefore), CertNotAfter: toUTC(tl.CertNotAfter),
			}
		}
		out.HTTP = hj
	}
	for _, a := range r.Assertions {
		out.Assertions = append(out.Assertions, assertionResultJSON{
			assertionJSON: assertionJSONOf(a.Assertion), Actual: a.Actual, Passed: a.Passed, Error: a.Error,
		})
	}
	if b := r.Browser; b != nil {
		bj := &browserJSON{
			Steps: []stepResultJSON{}, ConsoleErrors: nonNil(b.ConsoleErrors), FailedRequests: []failedRequestJSON{},
		}
		for _, st := range b.Steps {
			bj.Steps = append(bj.Steps, stepResultJSON{
				Action: st.Action, Target: st.Target, StatusCode: st.StatusCode,
				DurationMS: millis(st.Duration), Passed: st.Passed, Error: st.Error,
			})
		}
		for _, f := range b.FailedRequests {
			bj.FailedRequests = append(bj.FailedRequests, failedRequestJSON{URL: f.URL, Method: f.Method, StatusCode: f.StatusCode, Error: f.Error})
		}
		if n := b.Navigation; n != nil {
			bj.Navigation = &navigationJSON{
				URL: n.URL, DNSMS: millis(n.DNS), ConnectMS: millis(n.Connect), TLSMS: millis(n.TLS),
				TTFBMS: millis(n.TTFB), DownloadMS: millis(n.Download),
				DOMContentLoadedMS: millis(n.DOMContentLoaded), LoadMS: millis(n.Load),
			}
		}
		if len(b.Screenshot) > 0 {
			bj.ScreenshotURL = screenshotPath(r.RunID)
		}
		out.Browser = bj
	}
	return out
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
