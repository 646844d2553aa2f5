package rollout

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
)

// MaxWait bounds a progress long poll.
const MaxWait = 60 * time.Second

// Progress returns rollout id's progress once its Seq is past after, or
// after wait (at most MaxWait) as it stands. A rollout not running (ended,
// or paused) answers at once.
func (d *Driver) Progress(ctx context.Context, id string, after int64, wait time.Duration) (fleetapi.Progress, error) {
	r := d.active(id)
	if r == nil {
		rec, err := d.st.Rollout(ctx, id)
		if err != nil {
			return fleetapi.Progress{}, fmt.Errorf("rollout %s: %w", id, err)
		}
		return progressOf(rec), nil
	}
	wait = min(wait, MaxWait)
	timer := time.NewTimer(max(wait, 0))
	defer timer.Stop()
	for {
		ch := r.wait()
		p := r.snapshot()
		if p.Seq > after || p.Finished || wait <= 0 {
			return p, nil
		}
		select {
		case <-ch:
		case <-r.done:
			return r.snapshot(), nil
		case <-timer.C:
			return r.snapshot(), nil
		case <-ctx.Done():
			return fleetapi.Progress{}, ctx.Err()
		}
	}
}

// progressOf is the progress of a rollout as recorded: its hosts by
// result, and for one that stopped short the commands that resume and
// revert it.
func progressOf(rec fleet.Rollout) fleetapi.Progress {
	p := fleetapi.Progress{
		Seq: 1, Rollout: fleetapi.RolloutOf(rec), Phase: string(rec.Outcome),
		Done: []string{}, Upgrading: []string{}, Waiting: []string{},
		Failed: []fleetapi.HostProblem{}, Lost: []fleetapi.HostProblem{}, Skipped: []fleetapi.HostProblem{},
	}
	if rec.Outcome == fleet.Running {
		p.Phase = phasePointer
	}
	for _, h := range rec.Hosts {
		p.Total++
		hp := fleetapi.HostProblem{Host: h.HostID, Reason: h.Reason}
		switch h.Result {
		case fleet.HostUpgraded:
			p.Done = append(p.Done, h.HostID)
		case fleet.HostFailed:
			p.Failed = append(p.Failed, hp)
		case fleet.HostLost:
			p.Lost = append(p.Lost, hp)
		case fleet.HostSkipped:
			p.Skipped = append(p.Skipped, hp)
		}
	}
	if rec.Outcome != fleet.Running {
		p.Finished = true
		p.Phase = phaseDone
	}
	if rec.Outcome == fleet.Paused || rec.Outcome == fleet.Failed {
		p.Resume, p.Revert = commands(rec)
		if rec.Outcome == fleet.Failed {
			p.Resume = ""
		}
	}
	return p
}

// Status is the fleet at a glance.
func (d *Driver) Status(ctx context.Context) (fleetapi.Status, error) {
	now := d.now()
	all, err := d.st.Hosts(ctx, "")
	if err != nil {
		return fleetapi.Status{}, fmt.Errorf("read the hosts: %w", err)
	}
	var out fleetapi.Status
	for _, ring := range fleet.Rings() {
		rel, err := d.st.Release(ctx, ring)
		if err != nil {
			return out, fmt.Errorf("read the release of ring %s: %w", ring, err)
		}
		l, err := d.st.Lock(ctx, ring)
		if err != nil {
			return out, fmt.Errorf("read the lock of ring %s: %w", ring, err)
		}
		rs := fleetapi.RingStatus{Ring: string(ring), Release: fleetapi.ReleaseOf(rel), Lock: fleetapi.LockOf(l), Versions: []fleetapi.VersionCount{}, Hosts: []fleetapi.Host{}}
		for _, h := range all {
			if h.Ring != ring {
				continue
			}
			rs.Hosts = append(rs.Hosts, fleetapi.HostOf(h, now, d.lostAfter()))
			for _, img := range h.State.Images() {
				i := slices.IndexFunc(rs.Versions, func(v fleetapi.VersionCount) bool { return v.Image.Fleet() == img })
				if i < 0 {
					rs.Versions = append(rs.Versions, fleetapi.VersionCount{Image: fleetapi.ImageOf(img)})
					i = len(rs.Versions) - 1
				}
				rs.Versions[i].Hosts = append(rs.Versions[i].Hosts, h.ID)
			}
		}
		slices.SortFunc(rs.Versions, func(a, b fleetapi.VersionCount) int {
			return strings.Compare(a.Image.Tag+a.Image.ID, b.Image.Tag+b.Image.ID)
		})
		if r := d.activeOn(ring); r != nil {
			p := r.snapshot()
			rs.Rollout = &p
		} else if !l.IsZero() {
			if rec, err := d.st.Rollout(ctx, l.ID); err == nil {
				p := progressOf(rec)
				rs.Rollout = &p
			}
		}
		out.Rings = append(out.Rings, rs)
	}
	return out, nil
}
