package web

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// checkPage is the data of "/checks/{id}".
type checkPage struct {
	layout
	Row        checkRow
	Locations  []locationView
	Failures   []failureGroup
	Screenshot *screenshotView
	Definition *definitionJSON
	RunNow     string // the curl command that runs the check now
}

// failureGroup is a run of consecutive failures of a check that failed
// the same way (same status, step and error), newest first.
type failureGroup struct {
	// Latest is the newest failure of the group.
	Latest check.Result
	Href   string
	Step   string // "Step 3 · click #login", empty for api checks
	// Runs are all of the group's failures, Latest first.
	Runs      []failureRun
	Locations []string
	Since     time.Time // when the oldest of the group finished
	// More says the group may go on past the failures that were read.
	More bool
}

// failureRun links one failure of a group.
type failureRun struct {
	Href, Label, Title string
}

// groupFailures folds consecutive failures (newest first) that failed the
// same way into one group each. truncated says there may be older
// failures than those given.
func groupFailures(failures []check.Result, truncated bool) []failureGroup {
	var groups []failureGroup
	for _, f := range failures {
		step := ""
		if i, st, ok := failedStep(f); ok {
			step = fmt.Sprintf("Step %d · %s", i+1, st.Action)
			if st.Target != "" {
				step += " " + st.Target
			}
		}
		run := failureRun{Href: resultPagePath(f.RunID), Label: f.FinishedAt.UTC().Format("15:04"), Title: f.Location + " · " + fmtTime(f.FinishedAt)}
		if n := len(groups); n > 0 {
			g := &groups[n-1]
			if g.Latest.Status == f.Status && g.Latest.Error == f.Error && g.Step == step {
				g.Runs = append(g.Runs, run)
				g.Since = f.FinishedAt
				if !slices.Contains(g.Locations, f.Location) {
					g.Locations = append(g.Locations, f.Location)
				}
				continue
			}
		}
		groups = append(groups, failureGroup{
			Latest: f, Href: resultPagePath(f.RunID), Step: step,
			Runs: []failureRun{run}, Locations: []string{f.Location}, Since: f.FinishedAt,
		})
	}
	if n := len(groups); n > 0 {
		groups[n-1].More = truncated
	}
	return groups
}

// screenshotView is the latest failure's screenshot.
type screenshotView struct {
	Src, Href, Alt string
	Result         check.Result
}

func (s *Server) pageCheck(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	c, ok := s.findCheck(id)
	if !ok {
		s.pageMessage(w, r, http.StatusNotFound, "Check not found", fmt.Sprintf("No check with id %q is loaded.", id))
		return
	}
	now := s.now()
	views, err := s.views(ctx, []check.Check{c})
	if err != nil {
		s.pageStoreError(w, r, err)
		return
	}
	row, err := s.checkRow(ctx, views[0], now, largeSize)
	if err != nil {
		s.pageStoreError(w, r, err)
		return
	}
	failures, err := s.failuresOf(ctx, c.ID, recentFailures)
	if err != nil {
		s.pageStoreError(w, r, err)
		return
	}
	page := checkPage{
		layout:     s.frame(row.Name, refreshSeconds, now, ""),
		Row:        row,
		Locations:  views[0].Locations,
		Definition: definitionOf(c),
		RunNow:     fmt.Sprintf(`curl -X POST -H "Authorization: Bearer $CHECKFLEET_TOKEN" %s/run`, s.absolute(r, checkAPIPath(c.ID))),
	}
	page.Failures = groupFailures(failures, len(failures) == recentFailures)
	// The list leaves screenshots out, so read the newest failure whole.
	if len(failures) > 0 && c.Type == check.TypeBrowser {
		latest, err := s.cfg.Results.Result(ctx, failures[0].RunID)
		if err != nil && !isNotFound(err) {
			s.pageStoreError(w, r, err)
			return
		}
		if err == nil && latest.Browser != nil && len(latest.Browser.Screenshot) > 0 {
			page.Screenshot = &screenshotView{
				Src: screenshotPath(latest.RunID), Href: resultPagePath(latest.RunID), Result: latest,
				Alt: fmt.Sprintf("Screenshot of the failed run at %s in %s", fmtTime(latest.FinishedAt), latest.Location),
			}
		}
	}
	s.render(w, r, http.StatusOK, "check", page)
}

// resultPage is the data of "/results/{run_id}".
type resultPage struct {
	layout
	R          check.Result
	CheckName  string
	CheckHref  string // empty when the check is no longer loaded
	APIHref    string
	Timings    *waterfall
	Navigation *waterfall
	NavTiming  *check.NavigationTiming
	Headers    []check.Header
	Steps      []stepRow
	Screenshot string
}

// stepRow is one browser step with its bar on the run's timeline.
type stepRow struct {
	N int
	check.StepResult
	Bar waterfallRow
}

func (s *Server) pageResult(w http.ResponseWriter, r *http.Request) {
	runID := r.PathValue("run_id")
	res, err := s.cfg.Results.Result(r.Context(), runID)
	if isNotFound(err) {
		s.pageMessage(w, r, http.StatusNotFound, "Run not found", fmt.Sprintf("No result with run id %q is recorded; it may have been pruned.", runID))
		return
	}
	if err != nil {
		s.pageStoreError(w, r, fmt.Errorf("read result %s: %w", runID, err))
		return
	}
	page := resultPage{
		layout:    s.frame("Run "+res.RunID, 0, s.now(), ""),
		R:         res,
		CheckName: res.CheckID,
		APIHref:   resultAPIPath(res.RunID),
	}
	if c, ok := s.findCheck(res.CheckID); ok {
		page.CheckHref = checkPagePath(c.ID)
		if c.Name != "" {
			page.CheckName = c.Name
		}
	}
	t := res.Timings
	if res.HTTP != nil || t.DNS+t.Connect+t.TLS+t.TTFB+t.Download > 0 {
		wf := newWaterfall(t.Total, phase{"DNS", t.DNS}, phase{"Connect", t.Connect}, phase{"TLS", t.TLS},
			phase{"Time to first byte", t.TTFB}, phase{"Download", t.Download})
		page.Timings = &wf
	}
	if h := res.HTTP; h != nil {
		for _, hd := range h.Headers {
			page.Headers = append(page.Headers, redactHeader(hd))
		}
	}
	if b := res.Browser; b != nil {
		if n := b.Navigation; n != nil {
			page.NavTiming = n
			// Navigation Timing counts the TLS handshake in Connect.
			wf := newWaterfall(n.Load, phase{"DNS", n.DNS}, phase{"Connect", max(0, n.Connect-n.TLS)}, phase{"TLS", n.TLS},
				phase{"Time to first byte", n.TTFB}, phase{"Download", n.Download})
			page.Navigation = &wf
		}
		var phases []phase
		for _, st := range b.Steps {
			phases = append(phases, phase{string(st.Action), st.Duration})
		}
		bars := newWaterfall(0, phases...)
		for i, st := range b.Steps {
			page.Steps = append(page.Steps, stepRow{N: i + 1, StepResult: st, Bar: bars.Rows[i]})
		}
		if len(b.Screenshot) > 0 {
			page.Screenshot = screenshotPath(res.RunID)
		}
	}
	s.render(w, r, http.StatusOK, "result", page)
}

// absolute makes a path absolute on the host the request came to, for a
// command to copy.
func (s *Server) absolute(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// lastResultAgo renders when a location last ran.
func lastResultAgo(now time.Time, r *check.Result) string {
	if r == nil {
		return "never"
	}
	return fmtAgo(now, r.FinishedAt)
}
