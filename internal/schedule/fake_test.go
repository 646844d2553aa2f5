package schedule

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/store"
)

// memState is an in-memory store.Schedules for unit tests of the
// scheduling logic; the store's own contract suite tests the real ones.
type memState struct {
	mu      sync.Mutex
	holder  string
	token   int64
	expires time.Time
	due     map[store.RunKey]time.Time
	outbox  map[string]store.PlannedRun
	sent    map[string]bool
	fail    error // returned by every call while set
}

func newMemState() *memState {
	return &memState{due: map[store.RunKey]time.Time{}, outbox: map[string]store.PlannedRun{}, sent: map[string]bool{}}
}

func (m *memState) AcquireLease(_ context.Context, name, holder string, now time.Time, ttl time.Duration) (int64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, false, m.fail
	}
	if m.holder != holder && now.Before(m.expires) {
		return m.token, false, nil
	}
	if m.holder != holder {
		m.holder, m.token = holder, m.token+1
	}
	m.expires = now.Add(ttl)
	return m.token, true, nil
}

func (m *memState) ReleaseLease(_ context.Context, name, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holder == holder {
		m.expires = time.Time{}
	}
	return nil
}

func (m *memState) DueTimes(context.Context) (map[store.RunKey]time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	out := make(map[store.RunKey]time.Time, len(m.due))
	for k, v := range m.due {
		out[k] = v
	}
	return out, nil
}

func (m *memState) Plan(_ context.Context, lease string, token int64, runs []store.PlannedRun, next map[store.RunKey]time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if token != m.token {
		return store.ErrLeaseLost
	}
	for _, r := range runs {
		if _, ok := m.outbox[r.RunID]; !ok && !m.sent[r.RunID] {
			m.outbox[r.RunID] = r
		}
	}
	for k, v := range next {
		m.due[k] = v
	}
	return nil
}

func (m *memState) Outbox(_ context.Context, limit int) ([]store.PlannedRun, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	var out []store.PlannedRun
	for _, r := range m.outbox {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b store.PlannedRun) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
	return out[:min(limit, len(out))], nil
}

func (m *memState) MarkSent(_ context.Context, ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	for _, id := range ids {
		delete(m.outbox, id)
		m.sent[id] = true
	}
	return nil
}

// memQueue records the jobs sent to it, decoded.
type memQueue struct {
	mu   sync.Mutex
	jobs []message.Job
	// schemas are the schema attributes of jobs, by run id.
	schemas map[string]string
	fail    error
}

func (q *memQueue) SendBatch(_ context.Context, ms []queue.Outgoing) ([]error, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil {
		return nil, q.fail
	}
	for _, m := range ms {
		j, err := message.DecodeJob(m.Body)
		if err != nil {
			return nil, err
		}
		q.jobs = append(q.jobs, j)
		if q.schemas == nil {
			q.schemas = map[string]string{}
		}
		q.schemas[j.RunID] = m.Attributes[message.SchemaAttribute]
	}
	return make([]error, len(ms)), nil
}

func (q *memQueue) sent() []message.Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.jobs)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func apiCheck(id string, every time.Duration, locations ...string) check.Check {
	return check.Check{
		ID: id, Name: id, Type: check.TypeAPI, Timeout: 5 * time.Second,
		API:       &check.APISpec{Method: "GET", URL: "https://example.com/" + id},
		Schedule:  check.Schedule{Every: every},
		Locations: locations,
	}
}

func uniqueRunIDs(t *testing.T, jobs []message.Job) map[string]message.Job {
	t.Helper()
	byID := map[string]message.Job{}
	for _, j := range jobs {
		if prev, dup := byID[j.RunID]; dup {
			t.Errorf("run %s enqueued twice (%s at %s and again)", j.RunID, prev.CheckID, prev.ScheduledAt)
		}
		byID[j.RunID] = j
	}
	return byID
}

var nopLog = zerolog.Nop()

func newReg() *prometheus.Registry { return prometheus.NewRegistry() }
