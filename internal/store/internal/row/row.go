// Package row is how a result becomes a row of both SQL stores and back:
// the columns they index and filter on, the body (the result as a
// checkfleet.result/v2 document, message.EncodeResult at message.V2,
// without its screenshot), the screenshot on its own, and the microsecond
// precision of their time columns.
package row

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/store"
)

// Result is a result as the stores keep it: the columns they index and
// filter on, the full result as a checkfleet.result/v2 message without its
// screenshot, and the screenshot on its own.
type Result struct {
	RunID         string
	CheckID       string
	Location      string
	Status        string
	Attempt       int
	ScheduledAt   time.Time // UTC, truncated to the microsecond
	StartedAt     time.Time
	FinishedAt    time.Time
	TotalMS       int64
	Error         string
	WorkerID      string
	WorkerVersion string
	// Body is the result encoded by message.EncodeResult at message.V2,
	// with Browser.Screenshot left out.
	Body []byte
	// Screenshot is Browser.Screenshot; nil when there is none.
	Screenshot []byte
}

// Encode turns r into a row. A result that message.EncodeResult refuses
// is an error wrapping store.ErrInvalid.
func Encode(r check.Result) (Result, error) {
	var shot []byte
	if r.Browser != nil && r.Browser.Screenshot != nil {
		b := *r.Browser
		shot, b.Screenshot = b.Screenshot, nil
		r.Browser = &b
	}
	body, err := message.EncodeResult(r, message.V2)
	if err != nil {
		return Result{}, fmt.Errorf("%w: result of run %q: %w", store.ErrInvalid, r.RunID, err)
	}
	return Result{
		RunID: r.RunID, CheckID: r.CheckID, Location: r.Location, Status: string(r.Status), Attempt: r.Attempt,
		ScheduledAt: Micro(r.ScheduledAt), StartedAt: Micro(r.StartedAt), FinishedAt: Micro(r.FinishedAt),
		TotalMS: r.Timings.Total.Round(time.Millisecond).Milliseconds(), Error: r.Error,
		WorkerID: r.Worker.ID, WorkerVersion: r.Worker.Version, Body: body, Screenshot: shot,
	}, nil
}

// EncodeAll encodes results for one upsert: the first of several results
// with the same run id is kept (as the store keeps the first recorded), and
// the rows are sorted by run id so that concurrent upserts take their locks
// in one order. An invalid result fails them all, naming its index.
func EncodeAll(results []check.Result) ([]Result, error) {
	rows := make([]Result, 0, len(results))
	seen := make(map[string]bool, len(results))
	for i, r := range results {
		row, err := Encode(r)
		if err != nil {
			return nil, fmt.Errorf("results[%d]: %w", i, err)
		}
		if !seen[row.RunID] {
			seen[row.RunID] = true
			rows = append(rows, row)
		}
	}
	slices.SortFunc(rows, func(a, b Result) int { return strings.Compare(a.RunID, b.RunID) })
	return rows, nil
}

// Decode reads a row's body and screenshot back into the result.
func Decode(body, screenshot []byte) (check.Result, error) {
	r, _, err := message.DecodeResult(body)
	if err != nil {
		return check.Result{}, fmt.Errorf("decode stored result: %w", err)
	}
	if len(screenshot) > 0 {
		if r.Browser == nil {
			r.Browser = &check.BrowserResult{}
		}
		r.Browser.Screenshot = screenshot
	}
	return r, nil
}

// Micro returns t in UTC truncated to the microsecond, the precision both
// stores keep in their time columns.
func Micro(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Micros returns t as microseconds since the Unix epoch (rounded down).
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros is the inverse of Micros, in UTC.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Rows is what both database/sql and pgx rows offer for reading.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// LatestQuery selects the newest result of every check and location.
const LatestQuery = `SELECT r.run_id, r.body FROM latest l JOIN results r ON r.run_id = l.run_id`

// CollectLatest reads the rows of LatestQuery into results by check id and
// location.
func CollectLatest(rows Rows) (map[string]map[string]check.Result, error) {
	out := map[string]map[string]check.Result{}
	for rows.Next() {
		var (
			runID string
			body  []byte
		)
		if err := rows.Scan(&runID, &body); err != nil {
			return nil, fmt.Errorf("latest results: %w", err)
		}
		r, err := Decode(body, nil)
		if err != nil {
			return nil, fmt.Errorf("latest results: run %q: %w", runID, err)
		}
		if out[r.CheckID] == nil {
			out[r.CheckID] = map[string]check.Result{}
		}
		out[r.CheckID][r.Location] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latest results: %w", err)
	}
	return out, nil
}
