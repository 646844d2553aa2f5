package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

const (
	// recentRuns is how many runs the bar of recent runs shows.
	recentRuns = 50
	// chartHours is how many hours the response-time charts cover.
	chartHours = 24
	// recentFailures is how many failures the check page reads; runs of
	// the same failure are shown as one.
	recentFailures = 20
	// refreshSeconds is how often the status and check pages reload.
	refreshSeconds = 30
	// rowReaders is how many rows of the status page read the store at once.
	rowReaders = 3
)

// layout is what every page's frame needs.
type layout struct {
	Title     string // of the page, before the site's
	SiteTitle string
	Refresh   int // seconds, 0 for none
	Now       time.Time
	Nav       string // which navigation entry is current
	// Fleet links the fleet page from the navigation (the server keeps a
	// fleet).
	Fleet bool
}

// frame is a page's layout: its title, how often it reloads (0 for
// never), the clock and its navigation entry.
func (s *Server) frame(title string, refresh int, now time.Time, nav string) layout {
	return layout{Title: title, SiteTitle: s.cfg.Title, Refresh: refresh, Now: now, Nav: nav, Fleet: s.cfg.Fleet != nil}
}

// statusPage is the data of "/".
type statusPage struct {
	layout
	Hero      hero
	Rows      []checkRow
	Scheduler Status
}

// hero is the headline of the status page: the worst state and counts.
type hero struct {
	State    State
	Headline string
	Counts   []stateCount
	Down     []checkRow // the down checks, named under the headline
}

type stateCount struct {
	State State
	N     int
}

// checkRow is one check as the status page and the check page's header
// show it.
type checkRow struct {
	ID, Name, Href string
	Type           string
	Target         string
	Schedule       string
	Locations      []string
	Tags           []string
	State          State
	Runs           runsBar
	Chart          lineChart
	Uptime         []uptimeCell
	LastRun        time.Time
	LastTotal      time.Duration
	// Problem is the error of the worst latest result, for a down or
	// degraded check: "eu-west-1: expected status 200, got 503".
	Problem string
}

// uptimeCell is the uptime of one window: "99.95%", graded by Class, with
// the counts in Title.
type uptimeCell struct {
	Label, Text, Class, Title string
}

func (s *Server) pageStatus(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := s.now()
	views, err := s.views(ctx, s.cfg.Checks())
	if err != nil {
		s.pageStoreError(w, r, err)
		return
	}
	page := statusPage{
		layout:    s.frame("", refreshSeconds, now, "status"),
		Scheduler: s.status(),
	}
	// Each row reads the store twice; a few rows at a time keep the page
	// fast without taking every connection of the store's pool.
	page.Rows = make([]checkRow, len(views))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(rowReaders)
	for i, v := range views {
		g.Go(func() (err error) {
			page.Rows[i], err = s.checkRow(gctx, v, now, sparkSize)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		s.pageStoreError(w, r, err)
		return
	}
	page.Hero = newHero(page.Rows)
	s.render(w, r, http.StatusOK, "status", page)
}

// checkRow reads a check's recent runs and hourly rollups and lays them out.
func (s *Server) checkRow(ctx context.Context, v checkView, now time.Time, size chartSize) (checkRow, error) {
	c := v.Check
	row := checkRow{
		ID: c.ID, Name: c.Name, Href: checkPagePath(c.ID), Type: typeLabel(c.Type), Target: checkTarget(c),
		Schedule: scheduleText(c.Schedule), Locations: c.Locations, Tags: c.Tags, State: v.State,
	}
	if row.Name == "" {
		row.Name = c.ID
	}
	recent, _, err := s.cfg.Results.ListResults(ctx, store.ResultQuery{CheckID: c.ID, Limit: recentRuns})
	if err != nil {
		return row, fmt.Errorf("list recent results of %s: %w", c.ID, err)
	}
	row.Runs = newRunsBar(recent, recentRuns)
	from := chartStart(now)
	rollups, err := s.cfg.Results.Rollups(ctx, c.ID, from, from.Add(chartHours*time.Hour))
	if err != nil {
		return row, fmt.Errorf("read rollups of %s: %w", c.ID, err)
	}
	row.Chart = newLineChart(rollups, from, chartHours, size)
	for _, u := range v.Uptime {
		cell := uptimeCell{Label: u.Label, Class: uptimeClass(u), Text: "—", Title: "no runs in the last " + u.Label}
		if ratio, ok := u.Ratio(); ok {
			cell.Text = fmtPercent(ratio)
			cell.Title = fmt.Sprintf("%d of %d runs ok in the last %s", u.OK, u.Runs, u.Label)
		}
		row.Uptime = append(row.Uptime, cell)
	}
	for _, l := range v.Locations {
		if l.Latest == nil {
			continue
		}
		if l.Latest.FinishedAt.After(row.LastRun) {
			row.LastRun, row.LastTotal = l.Latest.FinishedAt, l.Latest.Timings.Total
		}
		if l.State == v.State && (v.State == StateDown || v.State == StateDegraded) && row.Problem == "" {
			row.Problem = l.Name + ": " + problemOf(*l.Latest)
		}
	}
	return row, nil
}

// chartStart is the first hour the charts show: the last chartHours
// hours, the current one included.
func chartStart(now time.Time) time.Time {
	return now.UTC().Truncate(time.Hour).Add(-(chartHours - 1) * time.Hour)
}

// problemOf says in a line what went wrong in a result.
func problemOf(r check.Result) string {
	if r.Status == check.StatusDegraded && r.Error == "" {
		return "slower than its degraded threshold (" + fmtDuration(r.Timings.Total) + ")"
	}
	if r.Error == "" {
		return string(r.Status)
	}
	return truncate(r.Error, 160)
}

func newHero(rows []checkRow) hero {
	counts := map[State]int{}
	h := hero{State: StateNoData}
	for _, row := range rows {
		counts[row.State]++
		h.State = worse(h.State, row.State)
		if row.State == StateDown {
			h.Down = append(h.Down, row)
		}
	}
	for _, st := range []State{StateUp, StateDegraded, StateDown, StateNoData} {
		if counts[st] > 0 {
			h.Counts = append(h.Counts, stateCount{st, counts[st]})
		}
	}
	switch {
	case len(rows) == 0:
		h.Headline = "No checks loaded"
	case counts[StateDown] > 0:
		h.Headline = plural(counts[StateDown], "check") + " down"
	case counts[StateDegraded] > 0:
		h.Headline = plural(counts[StateDegraded], "check") + " degraded"
	case counts[StateUp] == 0:
		h.Headline = "Waiting for the first results"
	case counts[StateNoData] > 0:
		h.Headline = "All checks with results are up"
	default:
		h.Headline = "All checks up"
	}
	return h
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func typeLabel(t check.Type) string {
	switch t {
	case check.TypeAPI:
		return "API"
	case check.TypeBrowser:
		return "Browser"
	}
	return string(t)
}

// checkTarget is what a check looks at, in a line: the request of an api
// check, the first page a browser check opens.
func checkTarget(c check.Check) string {
	if c.API != nil {
		return c.API.Method + " " + redactURL(c.API.URL)
	}
	if c.Browser != nil {
		for _, st := range c.Browser.Steps {
			if st.Action == check.ActionGoto {
				return redactURL(st.URL)
			}
		}
	}
	return ""
}

// render executes page name with data into a buffer first, so a template
// error is a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error().Err(err).Str("page", name).Str("path", r.URL.Path).Msg("web: render page")
		http.Error(w, "could not render this page; the scheduler's log says why", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// messagePage is the data of an error page.
type messagePage struct {
	layout
	Code    int
	Heading string
	Message string
}

func (s *Server) pageMessage(w http.ResponseWriter, r *http.Request, code int, heading, msg string) {
	s.render(w, r, code, "message", messagePage{
		layout: s.frame(heading, 0, s.now(), ""),
		Code:   code, Heading: heading, Message: msg,
	})
}

func (s *Server) pageNotFound(w http.ResponseWriter, r *http.Request) {
	s.pageMessage(w, r, http.StatusNotFound, "Page not found", "There is nothing at "+r.URL.Path+".")
}

func (s *Server) pageStoreError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error().Err(err).Str("path", r.URL.Path).Msg("web: store read failed")
	s.pageMessage(w, r, http.StatusInternalServerError, "Could not read the results",
		"The store did not answer; the scheduler's log says why. This page will work again once it does.")
}

// failuresOf reads the latest failed and error results of a check, newest
// first.
func (s *Server) failuresOf(ctx context.Context, checkID string, n int) ([]check.Result, error) {
	var all []check.Result
	for _, st := range []check.Status{check.StatusFailed, check.StatusError} {
		page, _, err := s.cfg.Results.ListResults(ctx, store.ResultQuery{CheckID: checkID, Status: st, Limit: n})
		if err != nil {
			return nil, fmt.Errorf("list %s results of %s: %w", st, checkID, err)
		}
		all = append(all, page...)
	}
	slices.SortFunc(all, func(a, b check.Result) int {
		if c := b.FinishedAt.Compare(a.FinishedAt); c != 0 {
			return c
		}
		if a.RunID > b.RunID {
			return -1
		}
		if a.RunID < b.RunID {
			return 1
		}
		return 0
	})
	if len(all) > n {
		all = all[:n]
	}
	return all, nil
}

// isNotFound reports a store miss.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
