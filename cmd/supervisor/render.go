package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// writeEvent writes an upgrade event as one line for people:
//
//	[   3.2s] slot 0  drain     repo:v1 (0123456789ab)  4f1c2a3b5d6e  2.1s  exit code 0
func writeEvent(w io.Writer, e supervisorapi.Event) {
	at := fmt.Sprintf("[%7.1fs]", e.Elapsed.Std().Seconds())
	if e.Slot < 0 {
		msg := e.Message
		switch {
		case e.Step == supervisorapi.StepResult && e.Summary != nil:
			return // writeSummary says it
		case e.Step == supervisorapi.StepRollback:
			msg = fmt.Sprintf("ROLLBACK: %s: %s", e.Message, e.Error)
		}
		fmt.Fprintf(w, "%s %s\n", at, msg)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s slot %-2d %-9s %s", at, e.Slot, e.Step, e.Image)
	if e.Instance != "" {
		fmt.Fprintf(&b, "  %s", e.Instance.Short())
	}
	if e.Took != 0 {
		fmt.Fprintf(&b, "  %s", round(e.Took.Std()))
	}
	if e.Message != "" {
		fmt.Fprintf(&b, "  %s", e.Message)
	}
	if e.Error != "" {
		fmt.Fprintf(&b, "  error: %s", e.Error)
	}
	fmt.Fprintln(w, b.String())
}

// writeSummary writes how an upgrade ended, for people.
func writeSummary(w io.Writer, s *supervisorapi.Summary, errMsg string) {
	if s == nil {
		return
	}
	switch s.Result {
	case supervisorapi.ResultSucceeded:
		fmt.Fprintf(w, "%s %s succeeded in %s: %d of %d slots moved from %s to %s\n",
			s.Kind, s.ID, round(s.Took.Std()), s.Changed, s.Slots, s.From, s.To)
	case supervisorapi.ResultStopped:
		fmt.Fprintf(w, "%s %s STOPPED after %s: %s\n", s.Kind, s.ID, round(s.Took.Std()), errMsg)
		fmt.Fprintf(w, "  %d of %d slots run %s, the others %s\n", s.Changed, s.Slots, s.To, s.From)
	default:
		fmt.Fprintf(w, "%s %s FAILED after %s: %s\n", s.Kind, s.ID, round(s.Took.Std()), errMsg)
		fmt.Fprintf(w, "  the host runs %s on %d slots\n", s.Final, s.Slots)
	}
	t := s.Timings
	fmt.Fprintf(w, "  steps: start %s, ready %s, drain %s, remove %s\n",
		round(t.Start.Std()), round(t.Ready.Std()), round(t.Drain.Std()), round(t.Remove.Std()))
	fmt.Fprintf(w, "  checks run by the workers during the %s: %d\n", s.Kind, s.Checks)
	if s.Restarts > 0 {
		fmt.Fprintf(w, "  the supervisor restarted %d time(s) during it\n", s.Restarts)
	}
}

// writeStatus writes a status for people, as of now.
func writeStatus(w io.Writer, st supervisorapi.Status, now time.Time) {
	fmt.Fprintf(w, "supervisor %s (%s), repository %s, up %s\n", st.Name, st.Version, st.Repo, round(now.Sub(st.StartedAt)))
	prev := "none"
	if st.Previous != nil {
		prev = st.Previous.String()
	}
	fmt.Fprintf(w, "image    %s (previous: %s)\n", st.Current, prev)
	fmt.Fprintf(w, "workers  %d/%d ready, %d running\n", st.Ready, st.Want, st.Running)
	if st.Error != "" {
		fmt.Fprintf(w, "error    %s\n", st.Error)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLOT\tCONTAINER\tIMAGE\tSTATE\tREADY\tUPTIME\tRESTARTS\tHEALTH")
	for _, sl := range st.Slots {
		restarts := fmt.Sprint(sl.Restarts)
		if sl.CrashLoop {
			restarts += " (crash loop: " + sl.LastExit + ")"
		}
		if len(sl.Instances) == 0 {
			fmt.Fprintf(tw, "%d\t-\t%s\tnone\tno\t-\t%s\t-\n", sl.Slot, sl.Desired, restarts)
		}
		for _, in := range sl.Instances {
			ready := "yes"
			switch {
			case in.Draining:
				ready = "draining"
			case !in.Ready:
				ready = "no"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sl.Slot, in.ID.Short(), in.Image, in.State, ready,
				round(in.Uptime.Std()), restarts, in.Health)
		}
	}
	tw.Flush()
	if up := st.Upgrade; up != nil {
		dir := "moving"
		if up.RollingBack {
			dir = "rolling back"
		}
		fmt.Fprintf(w, "%s in progress: %s %s → %s, started %s ago, %s\n", up.Kind, up.ID, up.From, up.To,
			round(now.Sub(up.StartedAt)), dir)
		if up.Failure != nil {
			fmt.Fprintf(w, "  failure: %s\n", up.Failure.Reason)
		}
		slots := make([]int, 0, len(up.Progress))
		for slot := range up.Progress {
			slots = append(slots, slot)
		}
		sort.Ints(slots)
		for _, slot := range slots {
			p := up.Progress[slot]
			fmt.Fprintf(w, "  slot %d: %s %s\n", slot, p.Step, p.Instance.Short())
		}
	}
	if l := st.Last; l != nil {
		fmt.Fprintf(w, "last %s: %s %s, %s → %s, %s, %d checks\n", l.Kind, l.ID, l.Result, l.From, l.To, round(l.Took.Std()), l.Checks)
	}
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}
