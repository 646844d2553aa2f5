package chaos

import (
	"testing"
	"time"
)

func TestJudgeCountsByRunID(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := func(run, check string, at time.Time) Recorded {
		return Recorded{RunID: run, CheckID: check, Status: "passed", WorkerVersion: "v1",
			ScheduledAt: at, StartedAt: at.Add(time.Second), FinishedAt: at.Add(2 * time.Second)}
	}
	for _, tc := range []struct {
		name                              string
		planned                           []Planned
		sent                              map[string]SentJob
		recorded                          []Recorded
		lost, doubled, unexpected, unsent int
		failed                            bool
	}{
		{name: "every run once",
			planned:  []Planned{{RunID: "r1", CheckID: "a", ScheduledAt: at, Sent: true}},
			sent:     map[string]SentJob{"r1": {CheckID: "a", ScheduledAt: at}},
			recorded: []Recorded{rec("r1", "a", at)}},
		{name: "a sent job without a result is lost, even if the outbox forgot it",
			sent: map[string]SentJob{"r2": {CheckID: "a", ScheduledAt: at}},
			lost: 1, failed: true},
		{name: "a planned run never sent",
			planned: []Planned{{RunID: "r1", CheckID: "a", ScheduledAt: at}},
			lost:    1, unsent: 1, failed: true},
		{name: "two run ids for one scheduled slot",
			planned:  []Planned{{RunID: "r1", CheckID: "a", ScheduledAt: at, Sent: true}, {RunID: "r2", CheckID: "a", ScheduledAt: at, Sent: true}},
			recorded: []Recorded{rec("r1", "a", at), rec("r2", "a", at)},
			doubled:  1, failed: true},
		{name: "a result nobody planned",
			recorded:   []Recorded{rec("r9", "a", at)},
			unexpected: 1, failed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(tc.planned, tc.sent, nil, tc.recorded, nil)
			if len(v.Lost) != tc.lost || len(v.Doubled) != tc.doubled || len(v.Unexpected) != tc.unexpected || len(v.Unsent) != tc.unsent || v.Failed() != tc.failed {
				t.Errorf("lost %d, doubled %d, unexpected %d, unsent %d, failed %v; want %d, %d, %d, %d, %v",
					len(v.Lost), len(v.Doubled), len(v.Unexpected), len(v.Unsent), v.Failed(), tc.lost, tc.doubled, tc.unexpected, tc.unsent, tc.failed)
			}
		})
	}
}

func TestLatenessPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := lateness(ds)
	if l.N != 100 || l.P50 != 51*time.Millisecond || l.P99 != 100*time.Millisecond || l.Max != 100*time.Millisecond {
		t.Errorf("lateness %+v", l)
	}
}
