package web

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

// checkView is a check with what the store says about it now: the base of
// both the API's check objects and the status page's rows.
type checkView struct {
	Check     check.Check
	State     State
	Locations []locationView
	Uptime    []uptimeWindow
}

// locationView is one location of a check and its latest result there.
type locationView struct {
	Name   string
	State  State
	Latest *check.Result
}

// uptimeWindow counts a check's runs over one window.
type uptimeWindow struct {
	Label string
	Runs  int64
	OK    int64
}

// Ratio is OK/Runs; ok is false without runs.
func (u uptimeWindow) Ratio() (ratio float64, ok bool) {
	if u.Runs == 0 {
		return 0, false
	}
	return float64(u.OK) / float64(u.Runs), true
}

// uptimeWindows are the windows uptime is reported over.
var uptimeWindows = []struct {
	label string
	span  time.Duration
}{
	{"24h", 24 * time.Hour},
	{"7d", 7 * 24 * time.Hour},
	{"30d", 30 * 24 * time.Hour},
}

// views reads the latest results and uptime of checks from the store.
// The four reads are independent, so they run at once.
func (s *Server) views(ctx context.Context, checks []check.Check) ([]checkView, error) {
	now := s.now()
	var latest map[string]map[string]check.Result
	sums := make([]map[string]store.Summary, len(uptimeWindows))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		if latest, err = s.cfg.Results.Latest(gctx); err != nil {
			return fmt.Errorf("read latest results: %w", err)
		}
		return nil
	})
	for i, w := range uptimeWindows {
		g.Go(func() (err error) {
			if sums[i], err = s.cfg.Results.Summaries(gctx, now.Add(-w.span)); err != nil {
				return fmt.Errorf("read uptime over %s: %w", w.label, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	views := make([]checkView, 0, len(checks))
	for _, c := range checks {
		v := checkView{Check: c, State: StateOf(c.Locations, latest[c.ID])}
		for _, loc := range c.Locations {
			lv := locationView{Name: loc, State: StateNoData}
			if r, ok := latest[c.ID][loc]; ok {
				lv.Latest, lv.State = &r, stateOfStatus(r.Status)
			}
			v.Locations = append(v.Locations, lv)
		}
		for i, w := range uptimeWindows {
			sum := sums[i][c.ID]
			v.Uptime = append(v.Uptime, uptimeWindow{Label: w.label, Runs: sum.Runs, OK: sum.OK})
		}
		views = append(views, v)
	}
	return views, nil
}

// findCheck returns the loaded check with id.
func (s *Server) findCheck(id string) (check.Check, bool) {
	for _, c := range s.cfg.Checks() {
		if c.ID == id {
			return c, true
		}
	}
	return check.Check{}, false
}

// stepTarget says what a step acts on, for display. It leaves out what may
// be secret: the value a fill step types and the script an eval step runs.
func stepTarget(st check.Step) string {
	switch st.Action {
	case check.ActionGoto:
		return redactURL(st.URL)
	case check.ActionPress:
		if st.Selector != "" {
			return st.Key + " on " + st.Selector
		}
		return st.Key
	case check.ActionAssertText:
		return st.Selector + " " + string(st.Matcher) + " " + strconv.Quote(st.Value)
	case check.ActionAssertURL, check.ActionAssertTitle:
		return string(st.Matcher) + " " + strconv.Quote(st.Value)
	case check.ActionSleep:
		return st.Duration.String()
	case check.ActionEval, check.ActionScreenshot:
		return ""
	}
	return st.Selector
}

// failedStep returns the index and the step that failed in a browser
// result; ok is false when no step failed.
func failedStep(r check.Result) (index int, step check.StepResult, ok bool) {
	if r.Browser == nil {
		return 0, check.StepResult{}, false
	}
	for i, st := range r.Browser.Steps {
		if !st.Passed {
			return i, st, true
		}
	}
	return 0, check.StepResult{}, false
}
