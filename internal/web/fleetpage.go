package web

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
)

const (
	// fleetRefreshSeconds is how often the fleet page reloads: a rollout
	// moves a host every few seconds.
	fleetRefreshSeconds = 10
	// fleetHistory is how many rollouts the fleet page lists.
	fleetHistory = 50
	// timelineMoves is how many pointer moves the timeline shows.
	timelineMoves = 16
)

// fleetPage is the data of "/fleet": what /api/v1/fleet/status and
// /api/v1/fleet/history answer, laid out.
type fleetPage struct {
	layout
	Rings    []ringView
	Timeline timeline
	History  []rolloutRow
	// Hosts and Lost count the fleet's hosts.
	Hosts, Lost int
}

// ringView is one ring: its pointer, lock, rollout in progress and hosts.
type ringView struct {
	Name     string
	Release  releaseView
	Lock     *fleetapi.Lock
	Versions []versionCount
	Rollout  *progressView
	Hosts    []hostRow
	Lost     int
}

// releaseView is a ring's release pointer.
type releaseView struct {
	Set       bool
	Image     imageView
	Previous  imageView
	Percent   int
	Version   int64
	RolloutID string
	UpdatedAt time.Time
}

// imageView is an image as the page shows it: its tag and a short id
// (Full in the title).
type imageView struct {
	Tag, ID, Full string
}

// versionCount is how many hosts of a ring run an image.
type versionCount struct {
	Image imageView
	N     int
	// Current is set for the ring pointer's image.
	Current bool
}

// hostRow is one host of a ring.
type hostRow struct {
	ID            string
	Labels        string
	Locations     string
	Slots         []slotCell
	Ready, Total  int
	LastHeartbeat time.Time
	Lost          bool
	// State is ok, upgrading, unhealthy or lost; StateText says it in
	// words (with the reason of an unhealthy host).
	State, StateText string
}

// slotCell is one worker slot of a host.
type slotCell struct {
	Slot      int
	Image     imageView
	Version   string
	Ready     bool
	CrashLoop bool
}

// progressView is a ring's rollout running or paused.
type progressView struct {
	ID, Kind, Step, Phase string
	To                    imageView
	Who, Message          string
	Paused                bool
	Done, Total           int
	// Bar is the done share drawn as a bar 100 wide.
	Bar                float64
	Upgrading, Waiting []string
	Failed, Lost       []fleetapi.HostProblem
	Resume, Revert     string
}

// rolloutRow is one rollout of the history.
type rolloutRow struct {
	ID, Ring, Kind, Step string
	Who                  string
	From, To             imageView
	Message              string
	Outcome              string // as recorded: succeeded, rolled_back, ...
	OutcomeText          string
	Reason               string
	StartedAt, EndedAt   time.Time
	Took                 string
	Hosts                string // "8 upgraded, 1 lost"
}

// timeline is the pointer moves of every ring, oldest on the left, one
// lane per ring.
type timeline struct {
	Width, Height float64
	Lanes         []timelineLane
	Moves         []timelineMove
	Links         []timelineLink
	// Label describes the moves in words for screen readers.
	Label string
}

type timelineLane struct {
	Ring string
	Y    float64
}

// timelineMove is one pointer move: a dot on its ring's lane.
type timelineMove struct {
	X, Y  float64
	Step  string // canary, 10%, all, unify, rollback
	Tag   string
	Class string // the outcome
	Title string
}

// timelineLink joins two consecutive moves.
type timelineLink struct {
	X1, Y1, X2, Y2 float64
}

// The timeline's geometry, in SVG user units.
const (
	tlLeft   = 96.0
	tlStep   = 84.0
	tlLane   = 52.0
	tlTop    = 30.0
	tlBottom = 22.0
)

func (s *Server) pageFleet(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Fleet == nil {
		s.pageMessage(w, r, http.StatusNotFound, "No fleet here", "This control plane keeps no fleet: its hosts do not register with it.")
		return
	}
	ctx := r.Context()
	st, err := s.cfg.Fleet.Status(ctx)
	if err != nil {
		s.pageFleetError(w, r, err)
		return
	}
	rs, err := s.cfg.Fleet.History(ctx, "", fleetHistory)
	if err != nil {
		s.pageFleetError(w, r, err)
		return
	}
	now := s.now()
	page := fleetPage{layout: s.frame("Fleet", fleetRefreshSeconds, now, "fleet")}
	for _, ring := range st.Rings {
		rv := newRingView(ring)
		page.Hosts += len(rv.Hosts)
		page.Lost += rv.Lost
		page.Rings = append(page.Rings, rv)
	}
	history := make([]fleetapi.Rollout, 0, len(rs))
	for _, ro := range rs {
		wire := fleetapi.RolloutOf(ro)
		history = append(history, wire)
		page.History = append(page.History, newRolloutRow(wire, now))
	}
	page.Timeline = newTimeline(st.Rings, history)
	s.render(w, r, http.StatusOK, "fleet", page)
}

func (s *Server) pageFleetError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error().Err(err).Str("path", r.URL.Path).Msg("web: fleet read failed")
	s.pageMessage(w, r, http.StatusInternalServerError, "Could not read the fleet",
		"The store did not answer; the scheduler's log says why. This page will work again once it does.")
}

func newRingView(rs fleetapi.RingStatus) ringView {
	rel := rs.Release
	rv := ringView{
		Name: rs.Ring, Lock: rs.Lock,
		Release: releaseView{
			Set: rel.Image.Tag != "" || rel.Image.ID != "", Image: newImageView(rel.Image), Previous: newImageView(rel.Previous),
			Percent: rel.Percent, Version: rel.Version, RolloutID: rel.RolloutID,
		},
	}
	if rel.UpdatedAt != nil {
		rv.Release.UpdatedAt = *rel.UpdatedAt
	}
	for _, v := range rs.Versions {
		rv.Versions = append(rv.Versions, versionCount{
			Image: newImageView(v.Image), N: len(v.Hosts),
			Current: rv.Release.Set && v.Image.Tag == rel.Image.Tag && (rel.Image.ID == "" || v.Image.ID == rel.Image.ID),
		})
	}
	for _, h := range rs.Hosts {
		row := newHostRow(h)
		if row.Lost {
			rv.Lost++
		}
		rv.Hosts = append(rv.Hosts, row)
	}
	if rs.Rollout != nil {
		rv.Rollout = newProgressView(*rs.Rollout)
	}
	return rv
}

func newHostRow(h fleetapi.Host) hostRow {
	row := hostRow{ID: h.ID, Lost: h.Lost, Locations: strings.Join(h.Locations, ", ")}
	keys := make([]string, 0, len(h.Labels))
	for k := range h.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	labels := make([]string, 0, len(keys))
	for _, k := range keys {
		labels = append(labels, k+"="+h.Labels[k])
	}
	row.Labels = strings.Join(labels, " ")
	if h.LastHeartbeat != nil {
		row.LastHeartbeat = *h.LastHeartbeat
	}
	for _, sl := range h.State.Slots {
		row.Slots = append(row.Slots, slotCell{Slot: sl.Slot, Image: newImageView(sl.Image), Version: sl.WorkerVersion, Ready: sl.Ready, CrashLoop: sl.CrashLoop})
		row.Total++
		if sl.Ready {
			row.Ready++
		}
	}
	switch {
	case h.Lost:
		row.State, row.StateText = "lost", "lost: no heartbeat"
	case h.State.Upgrading:
		p := h.State.Progress
		row.State, row.StateText = "upgrading", fmt.Sprintf("upgrading to %s: %d of %d slots", imageText(p.To), p.Done, p.Total)
	case !h.Healthy:
		row.State, row.StateText = "unhealthy", "unhealthy"
		if h.Why != "" {
			row.StateText += ": " + h.Why
		}
	default:
		row.State, row.StateText = "ok", "healthy"
	}
	return row
}

func newProgressView(p fleetapi.Progress) *progressView {
	ro := p.Rollout
	v := &progressView{
		ID: ro.ID, Kind: ro.Kind, Step: stepOf(ro), Phase: p.Phase, To: newImageView(ro.To), Who: ro.Who, Message: ro.Message,
		Paused: ro.Outcome == "paused", Done: len(p.Done), Total: p.Total,
		Upgrading: p.Upgrading, Waiting: p.Waiting, Failed: p.Failed, Lost: p.Lost, Resume: p.Resume, Revert: p.Revert,
	}
	if v.Total > 0 {
		v.Bar = 100 * float64(min(v.Done, v.Total)) / float64(v.Total)
	}
	return v
}

func newRolloutRow(ro fleetapi.Rollout, now time.Time) rolloutRow {
	row := rolloutRow{
		ID: ro.ID, Ring: ro.Ring, Kind: ro.Kind, Step: stepOf(ro), Who: ro.Who,
		From: newImageView(ro.From), To: newImageView(ro.To), Message: ro.Message,
		Outcome: ro.Outcome, OutcomeText: strings.ReplaceAll(ro.Outcome, "_", " "), Reason: ro.Reason, StartedAt: ro.StartedAt,
	}
	end := now
	if ro.EndedAt != nil {
		row.EndedAt, end = *ro.EndedAt, *ro.EndedAt
	}
	if !ro.StartedAt.IsZero() && end.After(ro.StartedAt) {
		row.Took = fmtDuration(end.Sub(ro.StartedAt))
	}
	counts := map[string]int{}
	for _, h := range ro.Hosts {
		counts[h.Result]++
	}
	var parts []string
	for _, res := range []string{"upgraded", "failed", "lost", "skipped"} {
		if counts[res] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[res], res))
		}
	}
	row.Hosts = strings.Join(parts, ", ")
	return row
}

// newTimeline lays out the last timelineMoves rollouts (history is newest
// first), one lane per ring.
func newTimeline(rings []fleetapi.RingStatus, history []fleetapi.Rollout) timeline {
	var t timeline
	lane := map[string]float64{}
	for i, r := range rings {
		y := tlTop + float64(i)*tlLane
		lane[r.Ring] = y
		t.Lanes = append(t.Lanes, timelineLane{Ring: r.Ring, Y: y})
	}
	moves := slices.Clone(history[:min(len(history), timelineMoves)])
	slices.Reverse(moves)
	var words []string
	for _, ro := range moves {
		y, ok := lane[ro.Ring]
		if !ok {
			continue
		}
		x := tlLeft + float64(len(t.Moves))*tlStep
		if n := len(t.Moves); n > 0 {
			prev := t.Moves[n-1]
			t.Links = append(t.Links, timelineLink{X1: prev.X, Y1: prev.Y, X2: x, Y2: y})
		}
		m := timelineMove{X: x, Y: y, Step: stepOf(ro), Tag: ro.To.Tag, Class: strings.ReplaceAll(ro.Outcome, "_", "-")}
		m.Title = fmt.Sprintf("%s %s: %s → %s, %s by %s at %s", ro.Ring, m.Step, imageText(ro.From), imageText(ro.To),
			strings.ReplaceAll(ro.Outcome, "_", " "), ro.Who, fmtTime(ro.StartedAt))
		t.Moves = append(t.Moves, m)
		words = append(words, fmt.Sprintf("%s %s %s %s", ro.Ring, m.Step, ro.To.Tag, strings.ReplaceAll(ro.Outcome, "_", " ")))
	}
	t.Width = tlLeft + float64(max(len(t.Moves), 1))*tlStep
	t.Height = tlTop + float64(max(len(rings)-1, 0))*tlLane + tlBottom
	if len(words) == 0 {
		t.Label = "No pointer moves yet"
	} else {
		t.Label = "Pointer moves, oldest first: " + strings.Join(words, "; ")
	}
	return t
}

// stepOf names a rollout's move the way operators say it: canary, dev,
// 10%, all, unify, rollback.
func stepOf(ro fleetapi.Rollout) string {
	switch ro.Kind {
	case "deploy":
		if ro.Ring == "production" {
			if ro.Percent > 0 && ro.Percent < 100 {
				return fmt.Sprintf("%d%%", ro.Percent)
			}
			return "all"
		}
		return ro.Ring
	case "":
		return "—"
	}
	return ro.Kind
}

func newImageView(i fleetapi.Image) imageView {
	return imageView{Tag: i.Tag, ID: shortImageID(i.ID), Full: i.ID}
}

// shortImageID is an image id cut to 12 hex digits, like docker images.
func shortImageID(id string) string {
	_, hex, found := strings.Cut(id, ":")
	if !found {
		hex = id
	}
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}

// imageText is an image in a line: "v2 (0123456789ab)", "v2", or "—".
func imageText(i fleetapi.Image) string {
	switch {
	case i.Tag == "" && i.ID == "":
		return "—"
	case i.ID == "":
		return i.Tag
	case i.Tag == "":
		return shortImageID(i.ID)
	}
	return i.Tag + " (" + shortImageID(i.ID) + ")"
}
