package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

// The charts are drawn as inline SVG by the templates from the geometry
// computed here: numbers only, so nothing user-controlled reaches a path,
// and every text (titles, labels) goes through html/template's escaping.
// Colours come from classes styled by the stylesheet, so they follow the
// colour scheme and need no inline style under the CSP.

// runsBar is a check's recent runs as bars, oldest on the left; slots not
// yet filled are drawn empty on the left.
type runsBar struct {
	Width, Height float64
	Bars          []runBar
	// Label describes the bar for screen readers: counts per status.
	Label string
	// OK and Total count the runs shown and the ok ones among them.
	OK, Total int
}

// runBar is one run.
type runBar struct {
	X, W  float64
	Class string // status class: passed, degraded, failed, error, empty
	Href  string
	Title string
}

const (
	runBarWidth = 4
	runBarGap   = 2
)

// newRunsBar draws the first slots of results (newest first, as the store
// lists them) with the newest on the right.
func newRunsBar(results []check.Result, slots int) runsBar {
	if len(results) > slots {
		results = results[:slots]
	}
	rb := runsBar{Width: float64(slots*(runBarWidth+runBarGap) - runBarGap), Height: 28, Total: len(results)}
	counts := map[check.Status]int{}
	empty := slots - len(results)
	for i := range slots {
		bar := runBar{X: float64(i * (runBarWidth + runBarGap)), W: runBarWidth, Class: "empty"}
		if i >= empty {
			r := results[len(results)-1-(i-empty)]
			counts[r.Status]++
			if r.Status.OK() {
				rb.OK++
			}
			bar.Class = statusClass(r.Status)
			bar.Href = resultPagePath(r.RunID)
			bar.Title = runTitle(r)
		}
		rb.Bars = append(rb.Bars, bar)
	}
	var parts []string
	for _, st := range check.Statuses() {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	if len(parts) == 0 {
		rb.Label = "No runs yet"
	} else {
		rb.Label = fmt.Sprintf("Last %d runs: %s", len(results), strings.Join(parts, ", "))
	}
	return rb
}

// runTitle is the tooltip of one run.
func runTitle(r check.Result) string {
	t := fmt.Sprintf("%s · %s · %s · %s", r.Status, fmtDuration(r.Timings.Total), r.Location, fmtTime(r.FinishedAt))
	if r.Error != "" {
		t += "\n" + truncate(r.Error, 200)
	}
	return t
}

// statusClass is the CSS class of a result status.
func statusClass(s check.Status) string {
	if s.Valid() {
		return string(s)
	}
	return "empty"
}

// chartSize is the geometry of one kind of line chart. The plot fills its
// viewBox and is stretched to the width of the page (the stylesheet fixes
// its height), so strokes and points are drawn at a fixed screen size and
// the axis labels are HTML beside it.
type chartSize struct {
	Width, Height float64
	Labels        bool // axis labels and grid lines
}

var (
	sparkSize = chartSize{Width: 240, Height: 40}
	largeSize = chartSize{Width: 960, Height: 200, Labels: true}
)

// lineChart is the response time of a check per hour: p95 as a shaded
// band over p50 as a line, with a mark under every hour that had failures.
type lineChart struct {
	Size    chartSize
	Band    string // path d of the area between p50 and p95, one subpath per run of hours with data
	P50     string // path d of the p50 line
	P95     string // path d of the p95 line
	Points  []chartPoint
	Fails   []failTick
	Grid    []gridLine
	XLabels []string // one per quarter of the hours, the first at the left edge
	// Max is the top of the y scale; Peak the highest p95 drawn.
	Max, Peak time.Duration
	// Label describes the chart for screen readers.
	Label string
	Empty bool
}

// chartPoint is one hour with runs, at its p50.
type chartPoint struct {
	X, Y  float64
	Title string
}

// failTick marks an hour with failed runs.
type failTick struct {
	X, W  float64
	Title string
}

// gridLine is a horizontal line of the large chart and its label; Class
// places the label (top, mid, bottom).
type gridLine struct {
	Y     float64
	Label string
	Class string
}

// newLineChart draws hours hourly rollups starting at from.
func newLineChart(rollups []store.Rollup, from time.Time, hours int, size chartSize) lineChart {
	c := lineChart{Size: size, Empty: true}
	buckets := make([]*store.Rollup, hours)
	for i := range rollups {
		r := &rollups[i]
		idx := int(r.Hour.Sub(from) / time.Hour)
		if idx < 0 || idx >= hours || r.Runs == 0 {
			continue
		}
		buckets[idx] = r
		c.Empty = false
		c.Peak = max(c.Peak, r.P95, r.P50)
	}
	c.Max = niceCeil(c.Peak + c.Peak/10)
	step := size.Width / float64(hours)
	x := func(i int) float64 { return round1((float64(i) + 0.5) * step) }
	y := func(d time.Duration) float64 {
		return round1(size.Height - size.Height*float64(d)/float64(c.Max))
	}
	var band, p50, p95 strings.Builder
	var seg []int
	flush := func() {
		if len(seg) == 0 {
			return
		}
		for j, i := range seg {
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&p50, "%s%s %s ", cmd, num(x(i)), num(y(buckets[i].P50)))
			fmt.Fprintf(&p95, "%s%s %s ", cmd, num(x(i)), num(y(buckets[i].P95)))
		}
		// The band runs along p95 and back along p50; a lone hour gets a
		// sliver wide enough to see.
		first, last := seg[0], seg[len(seg)-1]
		left, right := x(first), x(last)
		if len(seg) == 1 {
			left, right = round1(left-step/4), round1(right+step/4)
		}
		fmt.Fprintf(&band, "M%s %s ", num(left), num(y(buckets[first].P95)))
		for _, i := range seg {
			fmt.Fprintf(&band, "L%s %s ", num(x(i)), num(y(buckets[i].P95)))
		}
		fmt.Fprintf(&band, "L%s %s L%s %s ", num(right), num(y(buckets[last].P95)), num(right), num(y(buckets[last].P50)))
		for j := len(seg) - 1; j >= 0; j-- {
			fmt.Fprintf(&band, "L%s %s ", num(x(seg[j])), num(y(buckets[seg[j]].P50)))
		}
		fmt.Fprintf(&band, "L%s %s Z ", num(left), num(y(buckets[first].P50)))
		seg = seg[:0]
	}
	for i, b := range buckets {
		if b == nil {
			flush()
			continue
		}
		seg = append(seg, i)
		title := fmt.Sprintf("%s · p50 %s · p95 %s · %d runs", fmtHour(b.Hour), fmtDuration(b.P50), fmtDuration(b.P95), b.Runs)
		if b.Failures > 0 {
			title += fmt.Sprintf(", %d failed", b.Failures)
			c.Fails = append(c.Fails, failTick{
				X: round1(float64(i)*step + 1), W: round1(step - 2),
				Title: fmt.Sprintf("%s · %d of %d runs failed", fmtHour(b.Hour), b.Failures, b.Runs),
			})
		}
		if b.Degraded > 0 {
			title += fmt.Sprintf(", %d degraded", b.Degraded)
		}
		c.Points = append(c.Points, chartPoint{X: x(i), Y: y(b.P50), Title: title})
	}
	flush()
	c.Band, c.P50, c.P95 = strings.TrimSpace(band.String()), strings.TrimSpace(p50.String()), strings.TrimSpace(p95.String())
	if size.Labels {
		c.Grid = []gridLine{
			{Y: 0, Label: fmtDuration(c.Max), Class: "top"},
			{Y: size.Height / 2, Label: fmtDuration(c.Max / 2), Class: "mid"},
			{Y: size.Height, Label: "0", Class: "bottom"},
		}
		for q := range 4 {
			c.XLabels = append(c.XLabels, from.Add(time.Duration(q*hours/4)*time.Hour).UTC().Format("15:04"))
		}
	}
	if c.Empty {
		c.Label = "Response time: no runs in the last 24 hours"
	} else {
		c.Label = fmt.Sprintf("Response time per hour over the last 24 hours: p95 peaked at %s", fmtDuration(c.Peak))
	}
	return c
}

// waterfall lays phases end to end as shares of their total, for the timing
// bars of a result.
type waterfall struct {
	Rows  []waterfallRow
	Total time.Duration
}

type waterfallRow struct {
	Name     string
	Duration time.Duration
	// Offset and Width are percentages of the total.
	Offset, Width float64
}

type phase struct {
	name string
	d    time.Duration
}

// newWaterfall lays phases after one another; zero phases are kept (they
// did not happen) with no width. total is the whole run, which may be more
// than the phases add up to.
func newWaterfall(total time.Duration, phases ...phase) waterfall {
	w := waterfall{Total: total}
	var sum time.Duration
	for _, p := range phases {
		sum += p.d
	}
	scale := max(total, sum)
	var at time.Duration
	for _, p := range phases {
		row := waterfallRow{Name: p.name, Duration: p.d}
		if scale > 0 {
			row.Offset = round1(100 * float64(at) / float64(scale))
			row.Width = round1(100 * float64(p.d) / float64(scale))
		}
		if p.d > 0 && row.Width < 0.5 {
			row.Width = 0.5
		}
		at += p.d
		w.Rows = append(w.Rows, row)
	}
	return w
}

// niceCeil rounds d up to 1, 2, 2.5 or 5 times a power of ten
// milliseconds, at least 10 ms, for the top of a y scale.
func niceCeil(d time.Duration) time.Duration {
	ms := float64(d) / float64(time.Millisecond)
	if ms <= 10 {
		return 10 * time.Millisecond
	}
	pow := math.Pow(10, math.Floor(math.Log10(ms)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if ms <= m*pow {
			return time.Duration(m * pow * float64(time.Millisecond))
		}
	}
	return time.Duration(10 * pow * float64(time.Millisecond))
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
