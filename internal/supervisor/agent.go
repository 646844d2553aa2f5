package supervisor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
	"github.com/checkfleet/checkfleet/internal/runtime"
	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// ControlPlane is what the fleet agent asks of the control plane: the host
// side of the fleet API, which *fleetapi.Client (NewHostClient) speaks.
type ControlPlane interface {
	// Register registers (or re-registers) the host.
	Register(ctx context.Context, r fleetapi.Registration) (fleetapi.Host, error)
	// Heartbeat sends the host's state and answers what it should run.
	Heartbeat(ctx context.Context, id string, s fleetapi.HostState) (fleetapi.Desired, error)
	// HoldTurn asks for an upgrade turn, or renews the one held.
	HoldTurn(ctx context.Context, id string, req fleetapi.TurnRequest) (fleetapi.Turn, error)
	// FreeTurn gives the turn up.
	FreeTurn(ctx context.Context, id string) error
	// ReportOutcome says how an upgrade ended.
	ReportOutcome(ctx context.Context, id string, o fleetapi.Outcome) error
	// Leave removes the host from the fleet.
	Leave(ctx context.Context, id string) error
}

// DefaultHeartbeat is how often the agent heartbeats unless told otherwise.
const DefaultHeartbeat = 5 * time.Second

// AgentConfig is how a supervisor takes part in the fleet.
type AgentConfig struct {
	// HostID names the host in the fleet (the supervisor's --name).
	HostID string
	// Ring is the ring the host belongs to.
	Ring fleet.Ring
	// Labels are free-form key=value pairs registered with the host.
	Labels map[string]string
	// Locations are the check locations its workers consume jobs for.
	Locations []string
	// Interval is the time between heartbeats (DefaultHeartbeat when 0).
	Interval time.Duration
}

// Validate checks the host's registration and the interval.
func (c AgentConfig) Validate() error {
	if err := (fleet.Host{ID: c.HostID, Ring: c.Ring, Labels: c.Labels, Locations: c.Locations}).Validate(); err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	if c.Interval < 0 {
		return fmt.Errorf("--heartbeat %s: must be positive", c.Interval)
	}
	return nil
}

// QueueLocations derives the locations of jobs queues from their names, as
// the worker does for jobs that do not say theirs: checkfleet-jobs-eu-west-1
// serves eu-west-1, any other queue its own name. Each location comes once.
func QueueLocations(queueURLs []string) []string {
	var out []string
	for _, u := range queueURLs {
		name := strings.TrimSuffix(path.Base(u), ".fifo")
		if loc, ok := strings.CutPrefix(name, "checkfleet-jobs-"); ok && loc != "" {
			name = loc
		}
		if name != "" && name != "." && name != "/" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// Agent is the host side of the fleet: it registers the host, heartbeats
// its state, and when the control plane says the host should run another
// image it takes an upgrade turn, upgrades the host with the supervisor's
// own Upgrade (what `supervisor upgrade` runs), reports the outcome and
// frees the turn. A control plane that does not answer pauses fleet moves
// and nothing else: the workers keep running, an upgrade under way
// finishes, and its outcome is reported once the control plane answers.
type Agent struct {
	cfg AgentConfig
	sup *Supervisor
	cp  ControlPlane
	log zerolog.Logger

	// The loop's own state: only Run's goroutine touches it.
	registered bool
	failed     string                                // the answer (desiredKey) an upgrade failed on: not retried until it changes
	move       *fleetMove                            // the move under way
	infos      map[runtime.InstanceID]api.WorkerInfo // per instance, once it answered
	problem    string                                // the last problem logged, so a lasting one is logged once
}

// fleetMove is one upgrade the agent runs for the fleet.
type fleetMove struct {
	key      string
	to       fleet.Image
	progress *Progress
	outcome  *fleetapi.Outcome // set once the upgrade ended, until reported
}

// NewAgent returns the agent of sup speaking to cp.
func NewAgent(cfg AgentConfig, sup *Supervisor, cp ControlPlane, log zerolog.Logger) (*Agent, error) {
	if cfg.Interval == 0 {
		cfg.Interval = DefaultHeartbeat
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Agent{cfg: cfg, sup: sup, cp: cp, log: log.With().Str("fleet_host", cfg.HostID).Str("ring", string(cfg.Ring)).Logger(),
		infos: map[runtime.InstanceID]api.WorkerInfo{}}, nil
}

// Leave removes the host from the fleet, once its workers are drained and
// the supervisor stops for good (--leave-on-stop): a replaced host does
// not stay behind as lost, holding up production deploys.
func (a *Agent) Leave(ctx context.Context) error {
	if err := a.cp.Leave(ctx, a.cfg.HostID); err != nil {
		return fmt.Errorf("leave the fleet: %w", err)
	}
	a.log.Info().Msg("fleet: host left the fleet")
	return nil
}

// Run heartbeats every Interval until ctx ends. It never fails: what goes
// wrong is logged and tried again at the next heartbeat. When ctx ends it
// frees a turn it holds (the upgrade itself is the supervisor's to stop).
func (a *Agent) Run(ctx context.Context) error {
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		a.step(ctx)
		select {
		case <-ctx.Done():
			if a.move != nil {
				freeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
				_ = a.cp.FreeTurn(freeCtx, a.cfg.HostID)
				cancel()
			}
			return nil
		case <-t.C:
		}
	}
}

// step is one heartbeat and what follows from its answer.
func (a *Agent) step(ctx context.Context) {
	if !a.registered {
		_, err := a.cp.Register(ctx, fleetapi.Registration{ID: a.cfg.HostID, Ring: string(a.cfg.Ring), Labels: a.cfg.Labels, Locations: a.cfg.Locations})
		if err != nil {
			a.trouble("register", err)
			return
		}
		a.registered = true
		a.log.Info().Strs("locations", a.cfg.Locations).Msg("fleet: host registered")
	}
	d, err := a.cp.Heartbeat(ctx, a.cfg.HostID, fleetapi.HostStateOf(a.hostState(ctx)))
	if err != nil {
		if fleetapi.IsStatus(err, http.StatusNotFound) || fleetapi.IsStatus(err, http.StatusUnauthorized) {
			// The control plane forgot the host (removed, or lost for
			// long): register again. A token that is wrong is refused there
			// too, and said so.
			a.registered = false
		}
		a.trouble("heartbeat", err)
		if a.move != nil {
			a.settle(ctx) // an ended upgrade's outcome waits for the control plane
		}
		return
	}
	a.fine()
	if a.move != nil {
		a.settle(ctx)
		return
	}
	a.follow(ctx, d)
}

// follow starts a move when the answer asks for one.
func (a *Agent) follow(ctx context.Context, d fleetapi.Desired) {
	if !d.Set || !d.Move || d.Paused || a.sup.Ready() != nil {
		return
	}
	want := d.Image.Fleet()
	key := desiredKey(d)
	if key == a.failed {
		return // it failed on this answer; a new deploy, rollback or unify changes it
	}
	if cur := fleetImageOf(a.sup.state.snapshot().Current); want.ID != "" && cur.ID == want.ID {
		return // it runs the image; the reconcile loop settles its slots
	}
	if a.sup.Active() != nil {
		a.note("fleet: another upgrade of the host runs; the fleet's waits for it")
		return
	}
	to := want
	if to.ID == "" {
		img, err := a.sup.Resolve(ctx, to.Tag)
		if err != nil {
			a.fail(ctx, key, to, fmt.Sprintf("resolve %s on host %s: %v", to.Tag, a.cfg.HostID, err), false)
			return
		}
		to.ID = string(img.ID)
	}
	turn, err := a.cp.HoldTurn(ctx, a.cfg.HostID, fleetapi.TurnRequest{To: fleetapi.ImageOf(to)})
	switch {
	case fleetapi.IsStatus(err, http.StatusConflict):
		// The ring is pinned to other bits than this host's tag resolves to.
		a.fail(ctx, key, to, err.Error(), false)
		return
	case err != nil:
		a.trouble("turn", err)
		return
	case !turn.Granted:
		a.note("fleet: waiting for an upgrade turn: " + turn.Reason)
		return
	}
	if turn.Image.ID != "" {
		to = turn.Image.Fleet()
	}
	req := api.UpgradeRequest{Tag: to.Tag, ImageID: runtime.ImageID(to.ID), UpgradeOptions: a.sup.cfg.DefaultUpgradeOptions()}
	p, err := a.sup.Upgrade(ctx, req)
	var busy *BusyError
	switch {
	case errors.As(err, &busy), errors.Is(err, ErrNotRunning):
		a.note("fleet: upgrade not started: " + err.Error())
		a.free(ctx)
		return
	case err != nil:
		a.fail(ctx, key, to, err.Error(), true)
		return
	}
	a.log.Info().Str("image", to.String()).Str("rollout", d.RolloutID).Msg("fleet: upgrading the host")
	a.move = &fleetMove{key: key, to: to, progress: p}
}

// settle renews the turn of a move under way, or reports the outcome of
// one that ended and frees its turn.
func (a *Agent) settle(ctx context.Context) {
	m := a.move
	if m.outcome == nil {
		last, done := m.progress.last()
		if !done {
			if t, err := a.cp.HoldTurn(ctx, a.cfg.HostID, fleetapi.TurnRequest{To: fleetapi.ImageOf(m.to)}); err != nil {
				a.trouble("renew turn", err)
			} else if !t.Granted {
				a.note("fleet: turn not renewed (" + t.Reason + "); the upgrade goes on")
			}
			return
		}
		m.outcome = outcomeOf(m.to, last)
	}
	if err := a.cp.ReportOutcome(ctx, a.cfg.HostID, *m.outcome); err != nil {
		a.trouble("report outcome", err)
		return
	}
	a.free(ctx)
	ev := a.log.Info()
	if !m.outcome.OK {
		a.failed = m.key
		ev = a.log.Error().Str("reason", m.outcome.Reason)
	}
	ev.Str("image", m.to.String()).Bool("ok", m.outcome.OK).Msg("fleet: upgrade outcome reported")
	a.move = nil
}

// fail reports that the move to to, asked for by the answer key, failed
// before it started, and remembers the answer so as not to try it again.
func (a *Agent) fail(ctx context.Context, key string, to fleet.Image, reason string, holdsTurn bool) {
	a.failed = key
	a.log.Error().Str("image", to.String()).Str("reason", reason).Msg("fleet: upgrade failed before it started; nothing changed")
	if err := a.cp.ReportOutcome(ctx, a.cfg.HostID, fleetapi.Outcome{To: fleetapi.ImageOf(to), Reason: reason}); err != nil {
		a.trouble("report outcome", err)
	}
	if holdsTurn {
		a.free(ctx)
	}
}

func (a *Agent) free(ctx context.Context) {
	if err := a.cp.FreeTurn(ctx, a.cfg.HostID); err != nil {
		a.trouble("free turn", err)
	}
}

// trouble logs a failed call to the control plane, once while it lasts.
func (a *Agent) trouble(op string, err error) {
	msg := op + ": " + err.Error()
	if msg == a.problem {
		return
	}
	a.problem = msg
	ev := a.log.Warn()
	if fleetapi.IsStatus(err, http.StatusUnauthorized) || fleetapi.IsStatus(err, http.StatusForbidden) || fleetapi.IsStatus(err, http.StatusBadRequest) {
		ev = a.log.Error() // a configuration a person must fix
	}
	ev.Err(err).Str("op", op).Msg("fleet: the control plane did not answer as asked; workers keep running, fleet moves wait")
}

// note logs a reason to wait, once while it lasts.
func (a *Agent) note(msg string) {
	if msg != a.problem {
		a.problem = msg
		a.log.Info().Msg(msg)
	}
}

// fine ends a lasting problem.
func (a *Agent) fine() {
	if a.problem != "" && !strings.HasPrefix(a.problem, "fleet: ") {
		a.log.Info().Msg("fleet: the control plane answers again")
	}
	a.problem = ""
}

// hostState is what the heartbeat says: every slot's serving instance
// (its image, readiness and worker version), the upgrade under way or the
// last one, and the job schemas every running worker decodes.
func (a *Agent) hostState(ctx context.Context) fleet.HostState {
	st := a.sup.Status(ctx)
	var hs fleet.HostState
	var schemas []int
	answered := false
	alive := map[runtime.InstanceID]bool{}
	for _, sl := range st.Slots {
		ss := fleet.SlotState{Slot: sl.Slot, Image: fleetImageOf(sl.Desired), CrashLoop: sl.CrashLoop, Restarts: sl.Restarts}
		if in, ok := serving(sl.Instances); ok {
			ss.Image, ss.Ready = fleetImageOf(in.Image), in.Ready
		}
		for _, in := range sl.Instances {
			if in.State != runtime.Running {
				continue
			}
			alive[in.ID] = true
			info, ok := a.infos[in.ID]
			if !ok && in.Health != "" {
				var err error
				if info, err = a.sup.probe.Info(ctx, in.Health); err == nil {
					a.infos[in.ID], ok = info, true
				}
			}
			if !ok {
				continue
			}
			if string(in.Image.ID) == ss.Image.ID {
				ss.WorkerVersion = info.Version
			}
			if !answered {
				schemas, answered = slices.Clone(info.JobSchemas), true
			} else {
				schemas = slices.DeleteFunc(schemas, func(v int) bool { return !slices.Contains(info.JobSchemas, v) })
			}
		}
		hs.Slots = append(hs.Slots, ss)
	}
	maps.DeleteFunc(a.infos, func(id runtime.InstanceID, _ api.WorkerInfo) bool { return !alive[id] })
	if answered {
		slices.Sort(schemas)
		hs.JobSchemas = slices.Compact(schemas)
	}
	if up := st.Upgrade; up != nil {
		done := 0
		for _, p := range up.Progress {
			if p.Step == api.StepDone {
				done++
			}
		}
		to := up.To
		if up.RollingBack {
			to = up.From
		}
		hs.Upgrading = true
		hs.Progress = fleet.UpgradeProgress{To: fleetImageOf(to), Done: min(done, st.Want), Total: st.Want}
		if up.Failure != nil {
			hs.Progress.Failed = up.Failure.Reason
		}
	} else if l := st.Last; l != nil {
		hs.Progress = fleet.UpgradeProgress{To: fleetImageOf(l.To), Done: min(l.Changed, l.Slots), Total: l.Slots}
		if l.Result != api.ResultSucceeded {
			hs.Progress.Failed = string(l.Result)
			if l.Failure != nil {
				hs.Progress.Failed = l.Failure.Reason
			}
		}
	}
	return hs
}

// serving is the instance a slot serves with: a ready one not draining,
// else one running, else none.
func serving(insts []api.InstanceStatus) (api.InstanceStatus, bool) {
	for _, in := range insts {
		if in.Ready && !in.Draining {
			return in, true
		}
	}
	for _, in := range insts {
		if in.State == runtime.Running && !in.Draining {
			return in, true
		}
	}
	return api.InstanceStatus{}, false
}

// outcomeOf turns the last event of an upgrade to to into its outcome.
func outcomeOf(to fleet.Image, last api.Event) *fleetapi.Outcome {
	o := &fleetapi.Outcome{To: fleetapi.ImageOf(to)}
	s := last.Summary
	switch {
	case s != nil && s.Result == api.ResultSucceeded:
		o.OK = true
	case s != nil && s.Failure != nil:
		o.Reason = fmt.Sprintf("slot %d: %s (%s)", s.Failure.Slot, s.Failure.Reason, s.Result)
	case last.Error != "":
		o.Reason = last.Error
	case last.Message != "":
		o.Reason = last.Message
	default:
		o.Reason = "the upgrade ended without success"
	}
	return o
}

// desiredKey names an answer: a new deploy, rollback or unify of the ring
// changes its rollout; pinning the tag's id (which changes the pointer's
// version) does not make it a new answer.
func desiredKey(d fleetapi.Desired) string {
	if d.RolloutID == "" {
		return fmt.Sprintf("version %d %s", d.Version, d.Image.Tag)
	}
	return "rollout " + d.RolloutID + " " + d.Image.Tag
}

// fleetImageOf names a runtime image as the fleet does: the tag of its
// ref and its id.
func fleetImageOf(img runtime.Image) fleet.Image {
	return fleet.Image{Tag: tagOf(img.Ref), ID: string(img.ID)}
}

// tagOf is the tag of repo:tag ("" for a ref without one; a registry's
// port is not a tag).
func tagOf(ref string) string {
	i := strings.LastIndexByte(ref, ':')
	if i < 0 || strings.ContainsRune(ref[i+1:], '/') {
		return ""
	}
	return ref[i+1:]
}

// Resolve resolves tag of the configured repository under the pull policy,
// changing nothing.
func (s *Supervisor) Resolve(ctx context.Context, tag string) (runtime.Image, error) {
	return s.rt.Resolve(ctx, s.cfg.Repo, tag, s.cfg.Pull)
}
