package browser

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// Every action against a page that supports it, passing and failing. Each
// case runs the page's goto first, then its steps; the last step is the one
// under test.
func TestEveryStepAction(t *testing.T) {
	s := newSite(t)
	p, _ := startProber(t, func(o *Options) { o.StepTimeout = 2 * time.Second })
	open := check.Step{Action: check.ActionGoto, URL: s.URL + "/steps"}
	short := time.Second
	closed := closedPort(t)
	tests := []struct {
		name   string
		steps  []check.Step
		status check.Status
		inErr  []string // substrings of the error
	}{
		{"goto", nil, check.StatusPassed, nil},
		{"goto 404", []check.Step{{Action: check.ActionGoto, URL: s.URL + "/status?code=404"}}, check.StatusFailed,
			[]string{"step 2 (goto", "status 404", "want below 400"}},
		{"goto 503", []check.Step{{Action: check.ActionGoto, URL: s.URL + "/status?code=503"}}, check.StatusFailed, []string{"status 503"}},
		{"goto refused connection", []check.Step{{Action: check.ActionGoto, URL: "http://" + closed + "/"}}, check.StatusFailed,
			[]string{"the page did not load", "connect " + closed, "connection refused"}},
		{"click", []check.Step{
			{Action: check.ActionClick, Selector: "#show"},
			{Action: check.ActionAssertVisible, Selector: "#later", Timeout: short},
		}, check.StatusPassed, nil},
		{"click missing element", []check.Step{{Action: check.ActionClick, Selector: "#nope", Timeout: short}}, check.StatusFailed,
			[]string{`step 2 (click "#nope")`, "step timeout 1s", `expected "#nope" to be visible and enabled: no element matches it`}},
		{"click invisible element", []check.Step{{Action: check.ActionClick, Selector: "#invisible", Timeout: short}}, check.StatusFailed,
			[]string{"a <p> that is not visible"}},
		{"fill input then change event", []check.Step{
			{Action: check.ActionFill, Selector: "#name", Value: "Zoë"},
			{Action: check.ActionAssertText, Selector: "#out", Matcher: check.MatchEquals, Value: "name=Zoë", Timeout: short},
		}, check.StatusPassed, nil},
		{"fill replaces", []check.Step{
			{Action: check.ActionFill, Selector: "#notes", Value: "first"},
			{Action: check.ActionFill, Selector: "#notes", Value: "second"},
			{Action: check.ActionEval, Script: `document.getElementById("notes").value === "second"`},
		}, check.StatusPassed, nil},
		{"fill contenteditable", []check.Step{
			{Action: check.ActionFill, Selector: "#editor", Value: "rich text"},
			{Action: check.ActionAssertText, Selector: "#editor", Matcher: check.MatchEquals, Value: "rich text", Timeout: short},
		}, check.StatusPassed, nil},
		{"fill a select", []check.Step{{Action: check.ActionFill, Selector: "#color", Value: "x"}}, check.StatusFailed,
			[]string{"is a <select>, which cannot be filled"}},
		{"select by value", []check.Step{
			{Action: check.ActionSelect, Selector: "#color", Value: "g"},
			{Action: check.ActionAssertText, Selector: "#out", Matcher: check.MatchEquals, Value: "color=g", Timeout: short},
		}, check.StatusPassed, nil},
		{"select by label", []check.Step{
			{Action: check.ActionSelect, Selector: "#color", Value: "Blue"},
			{Action: check.ActionAssertText, Selector: "#out", Matcher: check.MatchEquals, Value: "color=b", Timeout: short},
		}, check.StatusPassed, nil},
		{"select missing option", []check.Step{{Action: check.ActionSelect, Selector: "#color", Value: "purple"}}, check.StatusFailed,
			[]string{`no option with value or label "purple"`, `"r", "g", "b"`}},
		{"press on a selector", []check.Step{
			{Action: check.ActionPress, Selector: "#name", Key: "Enter"},
			{Action: check.ActionPress, Key: "a"},
			{Action: check.ActionPress, Key: "ArrowDown"},
			{Action: check.ActionAssertText, Selector: "#keys", Matcher: check.MatchEquals, Value: "Enter;a;ArrowDown;", Timeout: short},
		}, check.StatusPassed, nil},
		{"press unknown key", []check.Step{{Action: check.ActionPress, Key: "Hyperspace"}}, check.StatusError,
			[]string{"bad definition", `unknown key "Hyperspace"`}},
		{"wait_visible for a late element", []check.Step{{Action: check.ActionWaitVisible, Selector: "#late"}}, check.StatusPassed, nil},
		{"wait_visible times out", []check.Step{{Action: check.ActionWaitVisible, Selector: "#later", Timeout: short}}, check.StatusFailed,
			[]string{`expected "#later" to be visible: it matches a <p> that is not visible`}},
		{"wait_hidden", []check.Step{
			{Action: check.ActionClick, Selector: "#hide"},
			{Action: check.ActionWaitHidden, Selector: "#banner", Timeout: short},
		}, check.StatusPassed, nil},
		{"wait_hidden times out", []check.Step{{Action: check.ActionWaitHidden, Selector: "#banner", Timeout: short}}, check.StatusFailed,
			[]string{`expected "#banner" to be hidden or absent: it matches a <p>`}},
		{"assert_text matches", []check.Step{{Action: check.ActionAssertText, Selector: "#banner", Matcher: check.MatchMatches, Value: `^Cookie \w+$`}}, check.StatusPassed, nil},
		{"assert_text bad regexp", []check.Step{{Action: check.ActionAssertText, Selector: "#banner", Matcher: check.MatchMatches, Value: `(`}}, check.StatusError,
			[]string{"bad definition"}},
		{"assert_text missing element", []check.Step{{Action: check.ActionAssertText, Selector: "#nope", Matcher: check.MatchContains, Value: "x", Timeout: short}}, check.StatusFailed,
			[]string{`waited for "#nope": no element matches it`}},
		{"assert_url", []check.Step{{Action: check.ActionAssertURL, Matcher: check.MatchContains, Value: "/steps"}}, check.StatusPassed, nil},
		{"assert_url fails", []check.Step{{Action: check.ActionAssertURL, Matcher: check.MatchEquals, Value: "http://example.invalid/", Timeout: short}}, check.StatusFailed,
			[]string{`expected the URL to equal "http://example.invalid/", found "` + s.URL + `/steps"`}},
		{"assert_title", []check.Step{{Action: check.ActionAssertTitle, Matcher: check.MatchEquals, Value: "Steps page"}}, check.StatusPassed, nil},
		{"assert_title fails", []check.Step{{Action: check.ActionAssertTitle, Matcher: check.MatchContains, Value: "Checkout", Timeout: short}}, check.StatusFailed,
			[]string{`expected the title to contain "Checkout", found "Steps page"`}},
		{"assert_visible fails on hidden", []check.Step{{Action: check.ActionAssertVisible, Selector: "#invisible", Timeout: short}}, check.StatusFailed,
			[]string{"not visible"}},
		{"eval true", []check.Step{{Action: check.ActionEval, Script: `document.querySelectorAll("option").length === 3`}}, check.StatusPassed, nil},
		{"eval awaits a promise", []check.Step{{Action: check.ActionEval, Script: `new Promise(r => setTimeout(() => r(true), 50))`}}, check.StatusPassed, nil},
		{"eval false", []check.Step{{Action: check.ActionEval, Script: `1 === 2`}}, check.StatusFailed, []string{"the script evaluated to false"}},
		{"eval throws", []check.Step{{Action: check.ActionEval, Script: `throw new Error("no cart")`}}, check.StatusFailed, []string{"script threw", "no cart"}},
		{"sleep", []check.Step{{Action: check.ActionSleep, Duration: 50 * time.Millisecond}}, check.StatusPassed, nil},
		{"screenshot", []check.Step{{Action: check.ActionScreenshot}}, check.StatusPassed, nil},
		{"invalid selector", []check.Step{{Action: check.ActionClick, Selector: "##"}}, check.StatusError,
			[]string{"bad definition", `invalid CSS selector "##"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := p.Probe(context.Background(), browserCheck("steps", 15*time.Second, append([]check.Step{open}, tt.steps...)...))
			if res.Status != tt.status {
				t.Fatalf("want %s, got %s", tt.status, describe(res))
			}
			for _, want := range tt.inErr {
				if !strings.Contains(res.Error, want) {
					t.Errorf("error %q lacks %q", res.Error, want)
				}
			}
			if tt.status == check.StatusPassed {
				if n := len(res.Browser.Steps); n != len(tt.steps)+1 {
					t.Errorf("%d step results, want %d", n, len(tt.steps)+1)
				}
				for i, sr := range res.Browser.Steps {
					if !sr.Passed || sr.Error != "" || sr.Duration <= 0 {
						t.Errorf("step %d: %+v", i+1, sr)
					}
				}
			}
			if tt.name == "screenshot" && len(res.Browser.Screenshot) == 0 {
				t.Error("a screenshot step left no screenshot")
			}
		})
	}
}

// A sleep longer than the cap sleeps the cap, and says so.
func TestSleepIsCapped(t *testing.T) {
	p, _ := startProber(t, func(o *Options) { o.MaxSleep = 100 * time.Millisecond })
	res := p.Probe(context.Background(), browserCheck("sleep", 5*time.Second,
		check.Step{Action: check.ActionSleep, Duration: 3 * time.Second}))
	if res.Status != check.StatusPassed || res.Timings.Total >= 3*time.Second {
		t.Fatalf("want passed well before 3s: %s", describe(res))
	}
	if got := res.Browser.Steps[0].Target; got != "100ms (capped from 3s)" {
		t.Errorf("target %q", got)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
