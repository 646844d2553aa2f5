package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
)

// writeRolloutStart says what a rollout is about to do.
func writeRolloutStart(w io.Writer, r fleetapi.Rollout) {
	fmt.Fprintf(w, "%s %s of ring %s: %s → %s", r.Kind, r.ID, r.Ring, imageText(r.From), imageText(r.To))
	if r.Percent > 0 && r.Percent < 100 {
		fmt.Fprintf(w, " on %d%% of the ring", r.Percent)
	}
	fmt.Fprintf(w, ", by %s", r.Who)
	if r.Message != "" {
		fmt.Fprintf(w, ": %q", r.Message)
	}
	fmt.Fprintln(w)
}

// writeProgress writes one line of a rollout's progress, elapsed after it
// started.
func writeProgress(w io.Writer, p fleetapi.Progress, elapsed time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "[%7.1fs] %-10s %d/%d done", elapsed.Seconds(), p.Phase, len(p.Done), p.Total)
	if len(p.Upgrading) > 0 {
		fmt.Fprintf(&b, ", upgrading %s", strings.Join(p.Upgrading, " "))
	}
	if len(p.Waiting) > 0 {
		fmt.Fprintf(&b, ", %d waiting", len(p.Waiting))
	}
	for _, g := range []struct {
		what string
		list []fleetapi.HostProblem
	}{{"failed", p.Failed}, {"lost", p.Lost}, {"skipped", p.Skipped}} {
		if len(g.list) > 0 {
			fmt.Fprintf(&b, ", %s %s", g.what, problemHosts(g.list))
		}
	}
	fmt.Fprintln(w, b.String())
}

// writeRolloutEnd says how a rollout ended, host by host where it did not
// go well.
func writeRolloutEnd(w io.Writer, p fleetapi.Progress) {
	r := p.Rollout
	took := ""
	if r.EndedAt != nil {
		took = " in " + round(r.EndedAt.Sub(r.StartedAt)).String()
	}
	fmt.Fprintf(w, "%s %s of ring %s %s%s: %d of %d hosts run %s\n", r.Kind, r.ID, r.Ring, strings.ToUpper(r.Outcome), took,
		len(p.Done), p.Total, imageText(r.To))
	if r.Reason != "" {
		fmt.Fprintf(w, "  reason: %s\n", r.Reason)
	}
	writeProblems(w, p)
}

func writeProblems(w io.Writer, p fleetapi.Progress) {
	for _, g := range []struct {
		what string
		list []fleetapi.HostProblem
	}{{"failed", p.Failed}, {"lost", p.Lost}, {"skipped", p.Skipped}} {
		for _, h := range g.list {
			fmt.Fprintf(w, "  %s %s: %s\n", g.what, h.Host, h.Reason)
		}
	}
}

// failureLine is the one line a failed rollout exits with.
func failureLine(p fleetapi.Progress) string {
	r := p.Rollout
	msg := fmt.Sprintf("rollout %s %s", r.ID, r.Outcome)
	if r.Reason != "" {
		msg += ": " + r.Reason
	}
	var hosts []string
	for _, h := range p.Failed {
		hosts = append(hosts, h.Host+" ("+h.Reason+")")
	}
	for _, h := range p.Lost {
		hosts = append(hosts, h.Host+" (lost: "+h.Reason+")")
	}
	if len(hosts) > 0 {
		msg += "; hosts: " + strings.Join(hosts, ", ")
	}
	return msg
}

// writeInterrupted says, after Ctrl-C, the state the fleet is left in and
// the commands that resume or revert it.
func writeInterrupted(w io.Writer, p fleetapi.Progress, m moveRequest) {
	r := p.Rollout
	id := r.ID
	if id == "" {
		id = "(not started)"
	}
	fmt.Fprintf(w, "interrupted: rollout %s of ring %s is %s: %d of %d hosts run %s", id, m.ring, orDefault(r.Outcome, "unknown"),
		len(p.Done), p.Total, imageText(r.To))
	if len(p.Upgrading) > 0 {
		fmt.Fprintf(w, "; %s finish the upgrade they started", strings.Join(p.Upgrading, ", "))
	}
	fmt.Fprintln(w, "; no other host moves, the ring stays locked")
	writeProblems(w, p)
	resume, revert := p.Resume, p.Revert
	if resume == "" && m.kind == "deploy" {
		resume = fmt.Sprintf("supervisor fleet deploy --ring %s --tag %s --percent %d --msg %q", m.ring, m.tag, m.percent, m.msg)
	}
	if revert == "" {
		revert = "supervisor fleet rollback --ring " + m.ring
	}
	if resume != "" {
		fmt.Fprintf(w, "  resume: %s\n", resume)
	}
	fmt.Fprintf(w, "  revert: %s\n", revert)
}

// writeFleetStatus writes the rings, their pointers, locks, rollouts and
// hosts, as of now.
func writeFleetStatus(w io.Writer, st fleetapi.Status, now time.Time) {
	for i, rs := range st.Rings {
		if i > 0 {
			fmt.Fprintln(w)
		}
		rel := rs.Release
		fmt.Fprintf(w, "ring %s: ", rs.Ring)
		if rel.Image.Tag == "" {
			fmt.Fprint(w, "no release (hosts keep what they run)")
		} else {
			fmt.Fprintf(w, "%s", imageText(rel.Image))
			if rel.Percent < 100 {
				fmt.Fprintf(w, " on %d%%, %s on the rest", rel.Percent, imageText(rel.Previous))
			} else if rel.Previous.Tag != "" {
				fmt.Fprintf(w, " (previous %s)", imageText(rel.Previous))
			}
		}
		fmt.Fprintf(w, ", %s\n", plural(len(rs.Hosts), "host"))
		if l := rs.Lock; l != nil {
			fmt.Fprintf(w, "  locked by %s for %s (rollout %s): %q\n", l.Holder, round(now.Sub(l.Since)), l.ID, l.Message)
		}
		if p := rs.Rollout; p != nil {
			fmt.Fprintf(w, "  rollout %s %s %s: %d/%d done", p.Rollout.ID, p.Rollout.Kind, p.Rollout.Outcome, len(p.Done), p.Total)
			if len(p.Upgrading) > 0 {
				fmt.Fprintf(w, ", upgrading %s", strings.Join(p.Upgrading, " "))
			}
			fmt.Fprintln(w)
			if p.Resume != "" {
				fmt.Fprintf(w, "    resume: %s\n", p.Resume)
			}
			if p.Revert != "" {
				fmt.Fprintf(w, "    revert: %s\n", p.Revert)
			}
		}
		for _, vc := range rs.Versions {
			fmt.Fprintf(w, "  %-40s %d: %s\n", imageText(vc.Image), len(vc.Hosts), strings.Join(vc.Hosts, " "))
		}
		if len(rs.Hosts) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  HOST\tIMAGES\tREADY\tJOBS\tHEARTBEAT\tSTATE")
		for _, h := range rs.Hosts {
			ready := 0
			var imgs []string
			for _, sl := range h.State.Slots {
				if sl.Ready {
					ready++
				}
				if t := imageText(sl.Image); !slices.Contains(imgs, t) {
					imgs = append(imgs, t)
				}
			}
			beat := "never"
			if h.LastHeartbeat != nil {
				beat = round(now.Sub(*h.LastHeartbeat)).String() + " ago"
			}
			state := "healthy"
			switch {
			case h.Lost:
				state = "LOST"
			case h.State.Upgrading:
				state = fmt.Sprintf("upgrading to %s (%d/%d)", imageText(h.State.Progress.To), h.State.Progress.Done, h.State.Progress.Total)
			case !h.Healthy:
				state = "unhealthy: " + h.Why
			}
			jobs := "-"
			if len(h.State.JobSchemas) > 0 {
				jobs = strings.Trim(strings.ReplaceAll(fmt.Sprint(h.State.JobSchemas), " ", ","), "[]")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d/%d\t%s\t%s\t%s\n", h.ID, strings.Join(imgs, ", "), ready, len(h.State.Slots), jobs, beat, state)
		}
		tw.Flush()
	}
}

// writeHistory writes the rollouts, newest first.
func writeHistory(w io.Writer, h fleetapi.History) {
	if len(h.Rollouts) == 0 {
		fmt.Fprintln(w, "no rollouts yet")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tRING\tKIND\tFROM\tTO\tPERCENT\tOUTCOME\tTOOK\tWHO\tMESSAGE")
	for _, r := range h.Rollouts {
		took := "-"
		if r.EndedAt != nil {
			took = round(r.EndedAt.Sub(r.StartedAt)).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d%%\t%s\t%s\t%s\t%s\n", r.StartedAt.UTC().Format("2006-01-02 15:04:05"), r.Ring, r.Kind,
			imageText(r.From), imageText(r.To), r.Percent, r.Outcome, took, r.Who, orDefault(r.Message, "-"))
	}
	tw.Flush()
	for _, r := range h.Rollouts {
		if r.Reason != "" {
			fmt.Fprintf(w, "%s %s: %s\n", r.ID, r.Outcome, r.Reason)
		}
	}
}

// imageText is "tag (short id)", "tag" while unresolved, or "none".
func imageText(i fleetapi.Image) string {
	switch {
	case i.Tag == "" && i.ID == "":
		return "none"
	case i.ID == "":
		return i.Tag
	}
	id := strings.TrimPrefix(i.ID, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return i.Tag + " (" + id + ")"
}

func problemHosts(list []fleetapi.HostProblem) string {
	hosts := make([]string, len(list))
	for i, h := range list {
		hosts[i] = h.Host
	}
	return strings.Join(hosts, " ")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// plural is "1 host", "2 hosts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
