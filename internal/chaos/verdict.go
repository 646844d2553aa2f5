package chaos

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Planned is one row of the scheduler's outbox.
type Planned struct {
	RunID, CheckID string
	ScheduledAt    time.Time
	Sent           bool
}

// Recorded is one row of the results table.
type Recorded struct {
	RunID, CheckID, Location, Status, WorkerVersion string
	ScheduledAt, StartedAt, FinishedAt              time.Time
}

// ReadStore reads the outbox and the results from the store at dsn, as
// they are (SQL, not the Store interface: the verdict must not depend on
// the code it judges).
func ReadStore(ctx context.Context, dsn string) ([]Planned, []Recorded, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to the store: %w", err)
	}
	defer conn.Close(ctx)
	var planned []Planned
	rows, err := conn.Query(ctx, `SELECT run_id, check_id, scheduled_at, sent_at IS NOT NULL FROM outbox`)
	if err != nil {
		return nil, nil, fmt.Errorf("read the outbox: %w", err)
	}
	for rows.Next() {
		var p Planned
		if err := rows.Scan(&p.RunID, &p.CheckID, &p.ScheduledAt, &p.Sent); err != nil {
			return nil, nil, err
		}
		planned = append(planned, p)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read the outbox: %w", err)
	}
	var recorded []Recorded
	rows, err = conn.Query(ctx, `SELECT run_id, check_id, location, status, worker_version, scheduled_at, started_at, finished_at FROM results`)
	if err != nil {
		return nil, nil, fmt.Errorf("read the results: %w", err)
	}
	for rows.Next() {
		var r Recorded
		if err := rows.Scan(&r.RunID, &r.CheckID, &r.Location, &r.Status, &r.WorkerVersion, &r.ScheduledAt, &r.StartedAt, &r.FinishedAt); err != nil {
			return nil, nil, err
		}
		recorded = append(recorded, r)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read the results: %w", err)
	}
	return planned, recorded, nil
}

// Verdict is the judgement of one run of the suite, by run id.
type Verdict struct {
	// Planned is the number of run ids in the outbox; Sent the number of
	// run ids whose job SQS accepted; Expected the union of both.
	Planned, Sent, Expected int
	// Recorded is the number of result rows (one per run id by the
	// table's key) and Matched those of an expected run.
	Recorded, Matched int
	// Lost are expected runs without a result, with their check ids.
	Lost map[string]string
	// Unexpected are results of a run id neither planned nor sent.
	Unexpected []string
	// Doubled are scheduled slots (check, location, scheduled time) with
	// more than one run id among the runs or results.
	Doubled []string
	// Unsent are outbox rows never marked sent.
	Unsent []string
	// ResentJobs counts runs whose job was sent more than once; ReRun runs
	// whose result was sent more than once (redelivered and run again;
	// recorded once).
	ResentJobs, ReRun int
	// ByStatus and ByVersion count the results.
	ByStatus, ByVersion map[string]int
	// Start and Finish are the lateness of results behind their scheduled
	// time (started, finished).
	Start, Finish Lateness
}

// Lateness summarises a set of delays.
type Lateness struct {
	N             int
	P50, P99, Max time.Duration
}

func lateness(ds []time.Duration) Lateness {
	if len(ds) == 0 {
		return Lateness{}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return Lateness{N: len(ds), P50: at(0.50), P99: at(0.99), Max: ds[len(ds)-1]}
}

func (l Lateness) String() string {
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("p50 %v  p99 %v  max %v", r(l.P50), r(l.P99), r(l.Max))
}

// Judge compares what was planned and sent with what was recorded.
func Judge(planned []Planned, sent map[string]SentJob, resends map[string]int, recorded []Recorded, resultSends map[string]int) Verdict {
	v := Verdict{Planned: len(planned), Sent: len(sent), Recorded: len(recorded),
		Lost: map[string]string{}, ByStatus: map[string]int{}, ByVersion: map[string]int{}}
	expected := map[string]string{} // run id -> check id
	slot := map[string]map[string]bool{}
	addSlot := func(check string, at time.Time, run string) {
		k := check + "@" + at.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
		if slot[k] == nil {
			slot[k] = map[string]bool{}
		}
		slot[k][run] = true
	}
	for _, p := range planned {
		expected[p.RunID] = p.CheckID
		addSlot(p.CheckID, p.ScheduledAt, p.RunID)
		if !p.Sent {
			v.Unsent = append(v.Unsent, p.RunID)
		}
	}
	for run, j := range sent {
		expected[run] = j.CheckID
		addSlot(j.CheckID, j.ScheduledAt, run)
	}
	v.Expected = len(expected)
	got := map[string]bool{}
	var start, finish []time.Duration
	for _, r := range recorded {
		got[r.RunID] = true
		addSlot(r.CheckID, r.ScheduledAt, r.RunID)
		v.ByStatus[r.Status]++
		v.ByVersion[r.WorkerVersion]++
		if _, ok := expected[r.RunID]; !ok {
			v.Unexpected = append(v.Unexpected, r.RunID)
			continue
		}
		v.Matched++
		start = append(start, r.StartedAt.Sub(r.ScheduledAt))
		finish = append(finish, r.FinishedAt.Sub(r.ScheduledAt))
	}
	for run, check := range expected {
		if !got[run] {
			v.Lost[run] = check
		}
	}
	for k, runs := range slot {
		if len(runs) > 1 {
			v.Doubled = append(v.Doubled, fmt.Sprintf("%s: %s", k, strings.Join(slices.Sorted(maps.Keys(runs)), ", ")))
		}
	}
	sort.Strings(v.Doubled)
	sort.Strings(v.Unexpected)
	sort.Strings(v.Unsent)
	v.ResentJobs = len(resends)
	for _, n := range resultSends {
		if n > 1 {
			v.ReRun++
		}
	}
	v.Start, v.Finish = lateness(start), lateness(finish)
	return v
}

// LostByCheck counts the lost runs by check id.
func (v Verdict) LostByCheck() map[string]int {
	out := map[string]int{}
	for _, c := range v.Lost {
		out[c]++
	}
	return out
}

// Failed reports whether the verdict alone fails the suite.
func (v Verdict) Failed() bool {
	return len(v.Lost) > 0 || len(v.Unexpected) > 0 || len(v.Doubled) > 0 || len(v.Unsent) > 0 || v.Expected == 0
}
