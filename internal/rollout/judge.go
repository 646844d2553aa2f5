package rollout

import (
	"context"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store"
)

// judge compares the worker version of rec.To with that of rec.From over
// the results since rec started. ok is false when either version is not
// known yet (no heartbeat names it) or the results could not be read.
func (d *Driver) judge(ctx context.Context, rec fleet.Rollout, now time.Time) (fleet.Verdict, bool) {
	hosts, err := d.st.Hosts(ctx, "")
	if err != nil {
		d.log.Error().Err(err).Str("rollout", rec.ID).Msg("fleet: read hosts to judge")
		return fleet.Verdict{}, false
	}
	base, cand := workerVersion(hosts, rec.From), workerVersion(hosts, rec.To)
	if base == "" || cand == "" || base == cand {
		return fleet.Verdict{}, false
	}
	var results []check.Result
	q := store.ResultQuery{From: rec.StartedAt, To: now.Add(time.Second), Limit: 500}
	for len(results) < d.cfg.ResultsCap {
		page, next, err := d.st.ListResults(ctx, q)
		if err != nil {
			d.log.Error().Err(err).Str("rollout", rec.ID).Msg("fleet: read results to judge")
			return fleet.Verdict{}, false
		}
		results = append(results, page...)
		if next == "" {
			break
		}
		q.Cursor = next
	}
	b, c := fleet.Samples(results, base, cand)
	v := fleet.Judge(b, c, d.cfg.Thresholds)
	d.log.Debug().Str("rollout", rec.ID).Str("judgement", string(v.Judgement)).Str("reason", v.Reason).Msg("fleet: judged")
	return v, true
}

// workerVersion is the worker version most slots running image report, ""
// when none does.
func workerVersion(hosts []fleet.Host, image fleet.Image) string {
	if image.IsZero() {
		return ""
	}
	count := map[string]int{}
	best := ""
	for _, h := range hosts {
		for _, sl := range h.State.Slots {
			if sl.WorkerVersion == "" || !sl.Image.Matches(image) {
				continue
			}
			count[sl.WorkerVersion]++
			if n := count[sl.WorkerVersion]; n > count[best] || (n == count[best] && sl.WorkerVersion < best) {
				best = sl.WorkerVersion
			}
		}
	}
	return best
}
