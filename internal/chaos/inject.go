package chaos

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/checkfleet/checkfleet/internal/sqslocal"
	"github.com/checkfleet/checkfleet/internal/store/postgres/pgtest"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisortest"
)

// Fault kinds, with how often each is picked relative to the others.
var faultWeights = []struct {
	kind   string
	weight int
}{
	{"kill-worker", 3},
	{"term-worker", 2},
	{"upgrade", 2},
	{"upgrade-never-ready", 1},
	{"kill-supervisor", 2},
	{"kill-scheduler", 2},
	{"sqs-faults", 1},
	{"pg-outage", 1},
}

// Injector does the faults, at random (seeded) and repeatedly, and keeps
// the processes it killed (or that died) running again. It runs on the
// test's goroutine: every fault is an action or an episode with an end
// time it checks on each turn, so it owns no goroutine.
type Injector struct {
	sys   *System
	rng   *rand.Rand
	start time.Time
	// MinGap and MaxGap bound the random pause between two faults.
	MinGap, MaxGap time.Duration
	// OutageFor is how long PostgreSQL stays stopped.
	OutageFor time.Duration

	events   []string
	counts   map[string]int
	outcomes map[string]int

	pgDown         bool
	pgUntil        time.Time
	pgLast         time.Time
	sqsUntil       time.Time
	upgrade        *supervisortest.Proc
	upgradeTag     string
	schedKilled    bool
	schedInOutage  bool // the scheduler was started while PostgreSQL was down
	lastSchedStart time.Time
	lastSupStart   time.Time
	// SelfExits are exits of the scheduler or supervisor nobody asked for;
	// OutageExits those of the scheduler while PostgreSQL was down (it
	// cannot start then; one that was running should not exit).
	SelfExits, OutageExits []string
}

// NewInjector returns an injector for sys seeded with seed.
func NewInjector(sys *System, seed uint64) *Injector {
	return &Injector{sys: sys, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), start: time.Now(),
		MinGap: 2 * time.Second, MaxGap: 8 * time.Second, OutageFor: 30 * time.Second,
		counts: map[string]int{}, outcomes: map[string]int{}}
}

func (in *Injector) logf(format string, args ...any) {
	in.events = append(in.events, fmt.Sprintf("%8.1fs  %s", time.Since(in.start).Seconds(), fmt.Sprintf(format, args...)))
}

// Timeline is every event so far, one a line.
func (in *Injector) Timeline() string { return strings.Join(in.events, "\n") }

// Run injects faults until the time is up.
func (in *Injector) Run(until time.Time) {
	next := time.Now().Add(in.gap())
	for time.Now().Before(until) {
		// The pause between faults is the workload's rhythm, not a wait
		// for a condition: the turn also ends episodes and restarts what
		// died.
		wait := min(time.Until(next), time.Until(until), 500*time.Millisecond)
		if wait > 0 {
			time.Sleep(wait)
		}
		in.tend()
		if time.Now().Before(next) || !time.Now().Before(until) {
			continue
		}
		in.inject(in.pick())
		next = time.Now().Add(in.gap())
	}
}

func (in *Injector) gap() time.Duration {
	return in.MinGap + time.Duration(in.rng.Int64N(int64(in.MaxGap-in.MinGap)+1))
}

func (in *Injector) pick() string {
	total := 0
	for _, f := range faultWeights {
		total += f.weight
	}
	n := in.rng.IntN(total)
	for _, f := range faultWeights {
		if n < f.weight {
			return f.kind
		}
		n -= f.weight
	}
	return faultWeights[0].kind
}

// inject does one fault; a fault that cannot apply now (no worker running,
// an upgrade already in progress, an outage already on) is skipped.
func (in *Injector) inject(kind string) {
	s := in.sys
	switch kind {
	case "kill-worker", "term-worker":
		ws, err := s.Workers()
		if err != nil || len(ws) == 0 {
			in.logf("%s: skipped, no running worker (%v)", kind, err)
			return
		}
		w := ws[in.rng.IntN(len(ws))]
		sig := syscall.SIGKILL
		if kind == "term-worker" {
			sig = syscall.SIGTERM
		}
		err = syscall.Kill(w.PID, sig)
		in.logf("%s: %s slot %s pid %d image %s: %v", kind, sig, w.Labels[supervisorapi.LabelSlot], w.PID, w.Image, err)
	case "upgrade", "upgrade-never-ready":
		if in.upgrade != nil {
			in.logf("%s: skipped, upgrade to %s running", kind, in.upgradeTag)
			return
		}
		in.startUpgrade(kind == "upgrade-never-ready")
	case "kill-supervisor":
		if p := s.Host.Supervisor(); p == nil || p.Exited() {
			in.logf("kill-supervisor: skipped, not running")
			return
		}
		mid := in.upgrade != nil
		if !mid && in.rng.IntN(2) == 0 && in.startUpgrade(false) {
			// Mid-upgrade on purpose: once the first new worker started.
			in.waitUpgradeStep(supervisorapi.StepStart, 30*time.Second)
			mid = true
		}
		s.Host.KillSupervisor()
		in.logf("kill-supervisor: SIGKILL (mid-upgrade: %v)", mid)
		if mid {
			in.outcomes["kill-supervisor mid-upgrade"]++
		}
		in.startSupervisor()
	case "kill-scheduler":
		if p := s.Scheduler(); p == nil || p.Exited() {
			in.logf("kill-scheduler: skipped, not running")
			return
		}
		code := s.SignalScheduler(syscall.SIGKILL, 30*time.Second)
		in.logf("kill-scheduler: SIGKILL (exit %d)", code)
		in.schedKilled = true
		in.restartScheduler()
	case "sqs-faults":
		if !in.sqsUntil.IsZero() {
			in.logf("sqs-faults: skipped, on already")
			return
		}
		f := sqslocal.Faults{Latency: time.Duration(5+in.rng.IntN(46)) * time.Millisecond,
			ThrottleFraction: 0.025, ServerErrorFraction: 0.025, Seed: in.rng.Uint64() | 1}
		if err := s.SQS.Server.SetFaults(f); err != nil {
			in.logf("sqs-faults: %v", err)
			return
		}
		d := time.Duration(20+in.rng.IntN(21)) * time.Second
		in.sqsUntil = time.Now().Add(d)
		in.logf("sqs-faults: on for %s: 5%% of requests throttled or 5xx, %s latency", d, f.Latency)
	case "pg-outage":
		if in.pgDown || (!in.pgLast.IsZero() && time.Since(in.pgLast) < in.OutageFor) {
			in.logf("pg-outage: skipped, one on or just over")
			return
		}
		if err := pgtest.StopServer(true); err != nil {
			in.logf("pg-outage: stop: %v", err)
			return
		}
		in.pgDown, in.pgUntil = true, time.Now().Add(in.OutageFor)
		in.logf("pg-outage: PostgreSQL stopped for %s", in.OutageFor)
	}
	in.counts[kind]++
}

// startUpgrade starts `supervisor upgrade` to the other version (or the
// one that never gets ready) and returns whether it started.
func (in *Injector) startUpgrade(neverReady bool) bool {
	st, err := in.sys.Host.Status()
	if err != nil || st.Upgrade != nil {
		in.logf("upgrade: skipped, status: %v (an upgrade resumed by a restarted supervisor: %v)", err, err == nil)
		return false
	}
	cur := tagOf(st)
	tag, args := TagV2, []string{}
	if cur == TagV2 {
		tag = TagV1
	}
	if neverReady {
		tag, args = TagNeverReady, []string{"--ready-timeout", "10s"}
	}
	in.upgrade = in.sys.Host.StartCLI(append([]string{"upgrade", "--tag", tag, "--output", "json"}, args...)...)
	in.upgradeTag = tag
	in.logf("upgrade: %s -> %s started", cur, tag)
	return true
}

// waitUpgradeStep polls the running upgrade's output for a step.
func (in *Injector) waitUpgradeStep(step supervisorapi.Step, within time.Duration) {
	deadline := time.Now().Add(within)
	for in.upgrade != nil && !in.upgrade.Exited() && time.Now().Before(deadline) {
		for _, e := range in.upgrade.Events() {
			if e.Step == step {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tend starts again whatever died, ends episodes that are over and notes
// a finished upgrade.
func (in *Injector) tend() {
	s := in.sys
	// Deaths first, so one during an outage is told as such even when the
	// outage ends on this turn.
	if p := s.Scheduler(); p != nil && p.Exited() && time.Since(in.lastSchedStart) > 2*time.Second {
		if !in.schedKilled {
			why := fmt.Sprintf("scheduler pid %d exited by itself after %s: %s", p.Pid(),
				time.Since(in.lastSchedStart).Round(time.Second), lastLine(p.Stderr()))
			switch lived := time.Since(in.lastSchedStart); {
			case (in.pgDown || in.schedInOutage) && lived < 5*time.Second:
				in.outcomes["scheduler start refused while PostgreSQL down"]++ // it must open its store
			case in.pgDown:
				in.OutageExits = append(in.OutageExits, why)
			default:
				in.SelfExits = append(in.SelfExits, why)
			}
			in.logf("%s", why)
		}
		in.restartScheduler()
	}
	if p := s.Host.Supervisor(); p != nil && p.Exited() && time.Since(in.lastSupStart) > 2*time.Second {
		why := "supervisor exited by itself: " + lastLine(p.Stderr())
		in.SelfExits = append(in.SelfExits, why)
		in.logf("%s", why)
		in.startSupervisor()
	}
	if !in.sqsUntil.IsZero() && time.Now().After(in.sqsUntil) {
		_ = s.SQS.Server.SetFaults(sqslocal.Faults{})
		in.sqsUntil = time.Time{}
		in.logf("sqs-faults: off")
	}
	if in.pgDown && time.Now().After(in.pgUntil) {
		err := pgtest.StartServer(true)
		in.logf("pg-outage: PostgreSQL started again: %v", err)
		if err == nil {
			in.pgDown, in.pgLast = false, time.Now()
		}
	}
	if in.upgrade != nil && in.upgrade.Exited() {
		code := in.upgrade.Wait(in.sys.t, time.Second)
		result := fmt.Sprintf("exit %d", code)
		stderr := in.upgrade.Stderr()
		switch evs := in.upgrade.Events(); {
		case len(evs) > 0 && evs[len(evs)-1].Summary != nil:
			result = string(evs[len(evs)-1].Summary.Result)
		case strings.Contains(stderr, "lost the connection to the supervisor"):
			result = "CLI lost its supervisor (killed)"
		case strings.Contains(stderr, "another upgrade is in progress"):
			result = "refused, another upgrade in progress"
		case code != 0:
			in.logf("upgrade to %s: %s", in.upgradeTag, lastLine(stderr))
		}
		in.outcomes["upgrade to "+in.upgradeTag+": "+result]++
		in.logf("upgrade to %s ended: %s", in.upgradeTag, result)
		in.upgrade = nil
	}
}

func (in *Injector) restartScheduler() {
	in.sys.StartScheduler()
	in.schedKilled, in.schedInOutage = false, in.pgDown
	in.lastSchedStart = time.Now()
}

func (in *Injector) startSupervisor() {
	policy := "resume"
	if in.rng.IntN(3) == 0 {
		policy = "rollback"
	}
	in.sys.Host.StartSupervisor(TagV1, append(in.sys.SupervisorFlags, "--on-restart", policy)...)
	in.lastSupStart = time.Now()
	in.logf("supervisor started (--on-restart %s)", policy)
}

// Quiesce stops injecting: SQS answers normally, PostgreSQL runs, the
// running upgrade ends, and the scheduler and the supervisor run and are
// ready. It returns what did not come back within limit.
func (in *Injector) Quiesce(limit time.Duration) string {
	deadline := time.Now().Add(limit)
	in.sqsUntil = time.Now().Add(-time.Second)
	if in.pgDown {
		in.pgUntil = time.Now().Add(-time.Second)
	}
	for {
		in.tend()
		why := ""
		switch {
		case in.pgDown:
			why = "PostgreSQL is not up again"
		case in.upgrade != nil:
			why = "the upgrade to " + in.upgradeTag + " is still running"
		case !in.sys.SchedulerReady():
			why = "the scheduler is not ready"
		default:
			why = in.sys.FleetSettled()
		}
		if why == "" {
			in.logf("quiet: every fault over, everything ready")
			return ""
		}
		if time.Now().After(deadline) {
			in.logf("not quiet after %s: %s", limit, why)
			return why
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Counts are the faults done by kind, as "kind n" sorted.
func (in *Injector) Counts() string {
	var parts []string
	for _, f := range faultWeights {
		parts = append(parts, fmt.Sprintf("%s %d", f.kind, in.counts[f.kind]))
	}
	return strings.Join(parts, ", ")
}

// Outcomes are what the upgrades and kills led to, sorted.
func (in *Injector) Outcomes() string {
	var parts []string
	for k, n := range in.outcomes {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := lines[len(lines)-1]
	if len(l) > 300 {
		l = l[:300] + "…"
	}
	return l
}
