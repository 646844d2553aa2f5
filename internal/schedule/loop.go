package schedule

import (
	"container/heap"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/timetable"
)

// outboxBatch is how many planned runs one flush reads from the outbox.
const outboxBatch = 1000

// Run schedules until ctx ends, then gives up the lease so a standby takes
// over at once. Store and queue errors are logged and retried on the next
// tick; they never end Run.
func (s *Scheduler) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			s.resign()
			return nil
		case <-timer.C:
		}
		s.Step(ctx)
		timer.Reset(s.wait())
	}
}

// minWait keeps a busy schedule from stepping (three store transactions)
// more than a hundred times a second; due runs coalesce meanwhile.
const minWait = 10 * time.Millisecond

// wait is how long Run sleeps: until the next due run, at least minWait
// and at most Tick (the lease is renewed and the outbox retried at least
// that often).
func (s *Scheduler) wait() time.Duration {
	if len(s.due) == 0 {
		return s.cfg.Tick
	}
	return min(max(s.due[0].at.Sub(s.cfg.Now()), minWait), s.cfg.Tick)
}

// Step does one tick: renew the lease, plan what is due, send the outbox.
// Run calls it every Tick; tests call it with a fake clock.
func (s *Scheduler) Step(ctx context.Context) {
	now := s.cfg.Now()
	if !s.renew(ctx, now) {
		return
	}
	s.mu.Lock()
	checks, changed := s.checks, s.changed
	s.changed = false
	s.mu.Unlock()
	if changed || s.due == nil {
		if err := s.rebuild(ctx, checks, now); err != nil {
			s.mu.Lock()
			s.changed = true // try again next tick
			s.mu.Unlock()
			s.log.Error().Err(err).Msg("load schedule state failed")
			return
		}
	}
	if err := s.plan(ctx, checks, now); err != nil {
		s.due = nil // reload from the store: it holds what was committed
		if errors.Is(err, store.ErrLeaseLost) {
			s.demote("lease lost while planning")
			return
		}
		s.log.Error().Err(err).Msg("plan due runs failed")
	}
	s.flush(ctx, now)
}

// renew takes or renews the lease when due and reports whether this
// scheduler leads.
func (s *Scheduler) renew(ctx context.Context, now time.Time) bool {
	if s.leader && now.Before(s.renewAt) {
		return true
	}
	token, held, err := s.state.AcquireLease(ctx, s.cfg.Lease, s.cfg.Holder, now, s.cfg.LeaseTTL)
	switch {
	case err != nil:
		// Keep leading until the lease would have run out: the store may be
		// back by then, and the fencing token protects the plan meanwhile.
		s.log.Warn().Err(err).Msg("renew scheduler lease failed")
		return s.leader && now.Before(s.renewAt.Add(s.cfg.LeaseTTL*2/3))
	case !held:
		if s.leader {
			s.demote("lease taken by another scheduler")
		}
		return false
	}
	if !s.leader || token != s.token {
		s.log.Info().Int64("token", token).Str("holder", s.cfg.Holder).Msg("scheduler leads")
		s.due = nil
	}
	s.leader, s.token, s.renewAt = true, token, now.Add(s.cfg.LeaseTTL/3)
	s.m.setLeader(true)
	return true
}

func (s *Scheduler) demote(why string) {
	s.log.Warn().Str("holder", s.cfg.Holder).Msg("scheduler stands by: " + why)
	s.leader, s.due = false, nil
	s.m.setLeader(false)
}

func (s *Scheduler) resign() {
	if !s.leader {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.state.ReleaseLease(ctx, s.cfg.Lease, s.cfg.Holder); err != nil {
		s.log.Warn().Err(err).Msg("release scheduler lease failed")
	}
	s.leader = false
	s.m.setLeader(false)
}

// rebuild loads the persisted due times and orders every (check, location)
// by its next due time. A key never scheduled starts within FirstRunWithin
// (or at its next slot, if sooner); a key
// whose persisted time is more than a period ahead (its schedule changed)
// starts at its next slot under the new schedule; a key whose time has
// passed stays due, and plan collapses what it missed into one run.
func (s *Scheduler) rebuild(ctx context.Context, checks map[string]entry, now time.Time) error {
	persisted, err := s.state.DueTimes(ctx)
	if err != nil {
		return err
	}
	h := make(dueHeap, 0, len(checks))
	for id, e := range checks {
		for _, loc := range e.locations {
			key := store.RunKey{CheckID: id, Location: loc}
			next, ok := persisted[key]
			switch {
			case !ok && s.cfg.FirstRunWithin > 0:
				next = e.timetable.Next(now)
				if soon := now.Add(timetable.Offset(id, s.cfg.FirstRunWithin)); soon.Before(next) {
					next = soon
				}
			case !ok || next.After(now.Add(e.timetable.Period(now))):
				next = e.timetable.Next(now)
			}
			h = append(h, dueItem{key: key, at: next})
		}
	}
	heap.Init(&h)
	s.due = h
	return nil
}

// plan records every run due at now in the outbox, in batches, each with
// the next due times of its keys.
func (s *Scheduler) plan(ctx context.Context, checks map[string]entry, now time.Time) error {
	var (
		runs  []store.PlannedRun
		next  = map[store.RunKey]time.Time{}
		taken []dueItem
	)
	commit := func() error {
		if len(runs) == 0 {
			return nil
		}
		if err := s.state.Plan(ctx, s.cfg.Lease, s.token, runs, next); err != nil {
			return err
		}
		for _, r := range runs {
			s.m.scheduled.WithLabelValues(r.Location).Inc()
		}
		for _, it := range taken {
			heap.Push(&s.due, dueItem{key: it.key, at: next[it.key]})
		}
		runs, next, taken = runs[:0], map[store.RunKey]time.Time{}, taken[:0]
		return nil
	}
	for len(s.due) > 0 && !s.due[0].at.After(now) {
		it := heap.Pop(&s.due).(dueItem)
		e, ok := checks[it.key.CheckID]
		if !ok {
			continue // unloaded since the heap was built
		}
		at := e.timetable.Latest(it.at, now)
		if !at.Equal(it.at) {
			s.m.catchUp.Inc()
			s.log.Info().Str("check_id", it.key.CheckID).Str("location", it.key.Location).
				Time("missed_from", it.at).Time("run_at", at).Msg("missed runs collapsed into one")
		}
		version := s.jobVersion(it.key.Location, e.check)
		body, err := message.EncodeJob(message.Job{
			RunID: RunID(it.key.CheckID, it.key.Location, at), CheckID: it.key.CheckID, Location: it.key.Location,
			ScheduledAt: at, Attempt: 1, Check: e.check,
		}, version)
		if err != nil {
			// SetChecks vetted the check; this is a bug, not bad input. Skip
			// the run rather than stop every other check.
			s.log.Error().Err(err).Str("check_id", it.key.CheckID).Msg("encode job failed; run skipped")
			next[it.key] = e.timetable.Next(at)
			taken = append(taken, it)
			continue
		}
		runs = append(runs, store.PlannedRun{
			RunID: RunID(it.key.CheckID, it.key.Location, at), CheckID: it.key.CheckID, Location: it.key.Location,
			ScheduledAt: at, Body: body, Schema: message.SchemaID(message.KindJob, version),
		})
		next[it.key] = e.timetable.Next(at)
		taken = append(taken, it)
		if len(runs) >= s.cfg.PlanBatch {
			if err := commit(); err != nil {
				return err
			}
		}
	}
	return commit()
}

// flush sends planned runs from the outbox, ten to a batch, and marks
// those SQS accepted as sent. What fails stays in the outbox for the next
// tick.
func (s *Scheduler) flush(ctx context.Context, now time.Time) {
	for {
		runs, err := s.state.Outbox(ctx, outboxBatch)
		if err != nil {
			s.log.Error().Err(err).Msg("read outbox failed")
			return
		}
		if len(runs) == 0 {
			return
		}
		sent, failed := s.send(ctx, runs)
		if len(sent) > 0 {
			if err := s.state.MarkSent(ctx, sent); err != nil {
				s.log.Error().Err(err).Int("runs", len(sent)).Msg("mark runs sent failed; they will be sent again with the same run ids")
				return
			}
		}
		s.m.outbox.Set(float64(failed))
		if failed > 0 || len(runs) < outboxBatch {
			return
		}
	}
}

// send sends runs by location in batches of ten, SendConcurrency batches
// at a time, and returns the ids accepted and how many were not.
func (s *Scheduler) send(ctx context.Context, runs []store.PlannedRun) (sent []string, failed int) {
	type batch struct {
		loc  string
		q    JobQueue
		runs []store.PlannedRun
	}
	byLoc := map[string][]store.PlannedRun{}
	for _, r := range runs {
		byLoc[r.Location] = append(byLoc[r.Location], r)
	}
	var batches []batch
	for loc, rs := range byLoc {
		q, ok := s.queues[loc]
		if !ok {
			// Planned for a location since removed from the configuration:
			// nothing will ever send it; say so and drop it.
			s.log.Warn().Str("location", loc).Int("runs", len(rs)).Msg("planned runs for a location without a jobs queue dropped")
			for _, r := range rs {
				sent = append(sent, r.RunID)
			}
			continue
		}
		for b := range slices.Chunk(rs, queue.MaxBatch) {
			batches = append(batches, batch{loc, q, b})
		}
	}
	var (
		mu sync.Mutex
		g  errgroup.Group
	)
	g.SetLimit(s.cfg.SendConcurrency)
	for _, b := range batches {
		g.Go(func() error {
			ok, bad := s.sendBatch(ctx, b.loc, b.q, b.runs)
			mu.Lock()
			sent, failed = append(sent, ok...), failed+bad
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait() // a batch's failure is counted in failed, never returned
	return sent, failed
}

// sendBatch sends up to ten runs to one queue.
func (s *Scheduler) sendBatch(ctx context.Context, loc string, q JobQueue, runs []store.PlannedRun) (sent []string, failed int) {
	out := make([]queue.Outgoing, len(runs))
	for i, r := range runs {
		out[i] = queue.Outgoing{Body: r.Body, Attributes: map[string]string{message.SchemaAttribute: r.Schema}}
	}
	errs, err := q.SendBatch(ctx, out)
	if err != nil {
		s.m.sendErrors.WithLabelValues(loc).Add(float64(len(runs)))
		s.log.Warn().Err(err).Str("location", loc).Msg("send jobs failed; retrying next tick")
		return nil, len(runs)
	}
	now := s.cfg.Now()
	for i, r := range runs {
		if errs[i] != nil {
			s.m.sendErrors.WithLabelValues(loc).Inc()
			s.log.Warn().Err(errs[i]).Str("run_id", r.RunID).Msg("send job failed; retrying next tick")
			failed++
			continue
		}
		sent = append(sent, r.RunID)
		s.m.enqueued.WithLabelValues(loc).Inc()
		s.m.lateness.Observe(max(0, now.Sub(r.ScheduledAt).Seconds()))
	}
	return sent, failed
}

// dueItem is one (check, location) and its next due time.
type dueItem struct {
	key store.RunKey
	at  time.Time
}

// dueHeap orders keys by next due time, earliest first.
type dueHeap []dueItem

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueItem)) }
func (h *dueHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
