package rollout

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
	"github.com/checkfleet/checkfleet/internal/store"
)

// ErrImageMismatch is wrapped by a turn refused because the host resolved
// the ring's tag to another image id than the one pinned; it wraps
// store.ErrConflict.
var ErrImageMismatch = fmt.Errorf("image mismatch: %w", store.ErrConflict)

// ErrJoinToken is wrapped by a registration of a new host refused for its
// fleet join token (missing, wrong, or none configured); it wraps
// store.ErrUnauthorized.
var ErrJoinToken = fmt.Errorf("join token: %w", store.ErrUnauthorized)

// Register records a host's registration with its token. A host id not
// known with that token is registered only with the fleet join token
// (Config.JoinToken); a known host re-registering needs none.
func (d *Driver) Register(ctx context.Context, reg fleetapi.Registration, token, joinToken string) (fleet.Host, error) {
	ring, err := fleet.ParseRing(reg.Ring)
	if err != nil {
		return fleet.Host{}, fmt.Errorf("host %s: %w", reg.ID, err)
	}
	h := fleet.Host{ID: reg.ID, Ring: ring, Labels: reg.Labels, Locations: reg.Locations}
	if err := h.Validate(); err != nil {
		return fleet.Host{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if _, err := d.st.AuthenticateHost(ctx, h.ID, token); err != nil {
		if !errors.Is(err, store.ErrUnauthorized) {
			return fleet.Host{}, fmt.Errorf("register host %s: %w", h.ID, err)
		}
		if err := d.admit(joinToken); err != nil {
			return fleet.Host{}, fmt.Errorf("register host %s: %w", h.ID, err)
		}
	}
	out, err := d.st.RegisterHost(ctx, h, token, d.now())
	if err != nil {
		return out, err // the store says "register host ID: ..."
	}
	d.log.Info().Str("fleet_host", h.ID).Str("ring", string(ring)).Strs("locations", h.Locations).Msg("fleet: host registered")
	return out, nil
}

// admit checks the join token of a host that is not known with its token.
func (d *Driver) admit(joinToken string) error {
	switch {
	case d.cfg.JoinToken == "":
		return fmt.Errorf("%w: this control plane registers no new hosts: set --fleet-join-token (CHECKFLEET_FLEET_JOIN_TOKEN) on it and give the host the same value as --join-token", ErrJoinToken)
	case joinToken == "":
		return fmt.Errorf("%w: a host not yet registered with this host token needs the fleet join token (supervisor run --join-token, header %s)", ErrJoinToken, fleetapi.JoinTokenHeader)
	case subtle.ConstantTimeCompare([]byte(joinToken), []byte(d.cfg.JoinToken)) != 1:
		return fmt.Errorf("%w: the join token is not this control plane's --fleet-join-token", ErrJoinToken)
	}
	return nil
}

// Authenticate returns host id when token is its token, else an error
// wrapping store.ErrUnauthorized.
func (d *Driver) Authenticate(ctx context.Context, id, token string) (fleet.Host, error) {
	return d.st.AuthenticateHost(ctx, id, token)
}

// Heartbeat records host h's state and returns what it should run.
func (d *Driver) Heartbeat(ctx context.Context, h fleet.Host, s fleet.HostState) (fleetapi.Desired, error) {
	if err := s.Validate(); err != nil {
		return fleetapi.Desired{}, fmt.Errorf("heartbeat of host %s: %w: %w", h.ID, ErrInvalid, err)
	}
	if err := d.st.Heartbeat(ctx, h.ID, s, d.now()); err != nil {
		return fleetapi.Desired{}, fmt.Errorf("heartbeat of host %s: %w", h.ID, err)
	}
	d.metrics.heartbeats.Inc()
	h.State = s
	return d.Desired(ctx, h)
}

// Desired says what host h (as last heard from) should run. The ring's
// release and lock come from memory when read less than a second ago.
func (d *Driver) Desired(ctx context.Context, h fleet.Host) (fleetapi.Desired, error) {
	rs, err := d.cache.ringState(ctx, h.Ring, true)
	if err != nil {
		return fleetapi.Desired{}, err
	}
	rel := rs.rel
	img, set := fleet.Desired(rel, rs.ids, h.ID)
	paused, _ := d.pausedIn(rs)
	return fleetapi.Desired{
		Ring: string(h.Ring), Set: set, Image: fleetapi.ImageOf(img), Move: set && !h.State.Runs(img),
		Version: rel.Version, RolloutID: rel.RolloutID, Paused: paused,
	}, nil
}

// HoldTurn asks for an upgrade turn of host h moving to `to`, or renews
// the one it holds. The first host naming an id for the ring's unresolved
// tag pins it; another id is refused (ErrImageMismatch). While a paused
// rollout holds the ring, only turns already held are renewed.
func (d *Driver) HoldTurn(ctx context.Context, h fleet.Host, to fleet.Image) (fleetapi.Turn, error) {
	now := d.now()
	rel, err := d.pin(ctx, h.Ring, to)
	if err != nil {
		return fleetapi.Turn{}, err
	}
	hosts, err := d.st.Hosts(ctx, h.Ring)
	if err != nil {
		return fleetapi.Turn{}, fmt.Errorf("read the hosts of ring %s: %w", h.Ring, err)
	}
	ids := make([]string, len(hosts))
	for i, o := range hosts {
		ids[i] = o.ID
	}
	img, _ := fleet.Desired(rel, ids, h.ID)
	paused, id, err := d.paused(ctx, h.Ring)
	if err != nil {
		return fleetapi.Turn{}, err
	}
	if paused {
		turns, err := d.st.Turns(ctx, h.Ring)
		if err != nil {
			return fleetapi.Turn{}, fmt.Errorf("read the turns of ring %s: %w", h.Ring, err)
		}
		if !slices.ContainsFunc(turns, func(t fleet.Turn) bool { return t.HostID == h.ID && !t.Expired(now) }) {
			d.metrics.turns.WithLabelValues("false").Inc()
			return fleetapi.Turn{Image: fleetapi.ImageOf(img), Reason: fmt.Sprintf("rollout %s of ring %s is paused", id, h.Ring)}, nil
		}
	}
	dec, err := d.st.HoldTurn(ctx, h.ID, fleet.TurnRules{Max: fleet.MaxParallel(len(hosts), d.cfg.Parallel), TTL: d.cfg.TurnTTL, LostAfter: d.lostAfter()}, now)
	if err != nil {
		return fleetapi.Turn{}, fmt.Errorf("turn of host %s: %w", h.ID, err)
	}
	d.metrics.turns.WithLabelValues(fmt.Sprint(dec.Granted)).Inc()
	t := fleetapi.Turn{Granted: dec.Granted, Reason: dec.Reason, Image: fleetapi.ImageOf(img)}
	if dec.Granted {
		exp := dec.Turn.ExpiresAt
		t.ExpiresAt = &exp
	}
	return t, nil
}

// Leave removes host h at its own request: its supervisor stops for good
// (`supervisor run --leave-on-stop`, as on an instance being replaced), so
// rollouts neither wait for it nor count it.
func (d *Driver) Leave(ctx context.Context, h fleet.Host) error {
	if err := d.st.RemoveHost(ctx, h.ID); err != nil {
		return err // the store says "remove host ID: ..."
	}
	d.log.Info().Str("fleet_host", h.ID).Str("ring", string(h.Ring)).Msg("fleet: host left")
	return nil
}

// FreeTurn gives up host h's turn.
func (d *Driver) FreeTurn(ctx context.Context, h fleet.Host) error {
	return d.st.FreeTurn(ctx, h.ID)
}

// ReportOutcome records how host h's upgrade ended, frees its turn and
// tells the rollout running on its ring.
func (d *Driver) ReportOutcome(ctx context.Context, h fleet.Host, o fleetapi.Outcome) error {
	if o.To.Tag == "" && o.To.ID == "" {
		return fmt.Errorf("outcome of host %s: %w: no image (to)", h.ID, ErrInvalid)
	}
	if err := d.st.FreeTurn(ctx, h.ID); err != nil {
		return fmt.Errorf("free the turn of host %s: %w", h.ID, err)
	}
	ev := d.log.Info()
	if !o.OK {
		ev = d.log.Warn()
	}
	ev.Str("fleet_host", h.ID).Str("ring", string(h.Ring)).Str("image", o.To.Fleet().String()).Bool("ok", o.OK).Str("reason", o.Reason).Msg("fleet: host upgrade ended")
	if r := d.activeOn(h.Ring); r != nil && !o.OK {
		r.report(h.ID, o)
	}
	return nil
}

// pin returns ring's release with its image pinned to to.ID when to names
// the ring's unresolved tag.
func (d *Driver) pin(ctx context.Context, ring fleet.Ring, to fleet.Image) (fleet.Release, error) {
	for range 3 {
		rel, err := d.st.Release(ctx, ring)
		if err != nil {
			return rel, fmt.Errorf("read the release of ring %s: %w", ring, err)
		}
		if !rel.IsSet() || to.ID == "" || to.Tag != rel.Image.Tag {
			return rel, nil
		}
		if rel.Image.ID != "" {
			if rel.Image.ID != to.ID {
				return rel, fmt.Errorf("%w: ring %s runs %s, pinned to %s; this host resolved the tag to %s (the tag moved, or another build carries it)",
					ErrImageMismatch, ring, rel.Image.Tag, rel.Image.ID, to.ID)
			}
			return rel, nil
		}
		next, err := rel.Resolve(to.ID, d.now())
		if err != nil {
			return rel, err
		}
		out, err := d.st.SetRelease(ctx, next, rel.Version)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return rel, fmt.Errorf("pin ring %s to %s: %w", ring, to.ID, err)
		}
		d.log.Info().Str("ring", string(ring)).Str("image", out.Image.String()).Msg("fleet: tag pinned")
		return out, nil
	}
	return fleet.Release{}, fmt.Errorf("pin ring %s to %s: %w: lost three races", ring, to.ID, store.ErrConflict)
}

// paused reports whether ring is held by a paused rollout, and which.
func (d *Driver) paused(ctx context.Context, ring fleet.Ring) (bool, string, error) {
	rs, err := d.cache.ringState(ctx, ring, false)
	if err != nil {
		return false, "", err
	}
	p, id := d.pausedIn(rs)
	return p, id, nil
}

// pausedIn reports whether a ring in state rs is held by a paused
// rollout, and which.
func (d *Driver) pausedIn(rs ringState) (bool, string) {
	if rs.lock.IsZero() || !rs.heldFound || d.active(rs.lock.ID) != nil {
		return false, ""
	}
	return rs.held.Outcome == fleet.Paused, rs.held.ID
}

// Remove forgets host req.Host (retired or replaced: hosts are immutable,
// a replacement registers as a new host) and frees its upgrade turn, so
// rollouts neither wait for it nor count it. A host still heartbeating is
// refused unless req.Force: its supervisor would register it again. It
// returns the host as it was, judged as lost or not.
func (d *Driver) Remove(ctx context.Context, req fleetapi.RemoveRequest) (fleetapi.Host, error) {
	if strings.TrimSpace(req.Host) == "" {
		return fleetapi.Host{}, fmt.Errorf("remove host: %w: name the host", ErrInvalid)
	}
	if strings.TrimSpace(req.Message) == "" {
		return fleetapi.Host{}, fmt.Errorf("remove host %s: %w: say why (--msg)", req.Host, ErrInvalid)
	}
	h, err := d.st.Host(ctx, req.Host)
	if errors.Is(err, store.ErrNotFound) {
		return fleetapi.Host{}, fmt.Errorf("remove host %s: %w: no such host is registered", req.Host, store.ErrNotFound)
	}
	if err != nil {
		return fleetapi.Host{}, fmt.Errorf("remove host %s: %w", req.Host, err)
	}
	now := d.now()
	if !req.Force && !h.Lost(now, d.lostAfter()) {
		return fleetapi.Host{}, fmt.Errorf("remove host %s: %w: it is alive (last heartbeat %s ago) and its supervisor would register it again; stop it first, or --force",
			h.ID, fleet.ErrRefusedStep, now.Sub(h.LastHeartbeat).Round(time.Second))
	}
	if err := d.st.RemoveHost(ctx, h.ID); err != nil {
		return fleetapi.Host{}, err // the store says "remove host ID: ..."
	}
	d.log.Warn().Str("fleet_host", h.ID).Str("ring", string(h.Ring)).Str("who", who(req.Who)).Str("message", req.Message).
		Time("last_heartbeat", h.LastHeartbeat).Msg("fleet: host removed")
	return fleetapi.HostOf(h, now, d.lostAfter()), nil
}

// forgetLostTick is how often lost hosts are looked for.
const forgetLostTick = time.Minute

// forgetLost removes the hosts lost for longer than cfg.ForgetLostAfter
// (none when it is 0) and returns how many it removed.
func (d *Driver) forgetLost(ctx context.Context) int {
	if d.cfg.ForgetLostAfter <= 0 {
		return 0
	}
	hosts, err := d.st.Hosts(ctx, "")
	if err != nil {
		d.log.Error().Err(err).Msg("fleet: read the hosts to forget lost ones")
		return 0
	}
	now, n := d.now(), 0
	for _, h := range hosts {
		since := h.LastHeartbeat
		if since.IsZero() {
			since = h.RegisteredAt
		}
		if now.Sub(since) < d.cfg.ForgetLostAfter {
			continue
		}
		err := d.st.RemoveHost(ctx, h.ID)
		switch {
		case errors.Is(err, store.ErrNotFound): // another control plane was first
		case err != nil:
			d.log.Error().Err(err).Str("fleet_host", h.ID).Msg("fleet: forget a lost host")
		default:
			n++
			d.log.Warn().Str("fleet_host", h.ID).Str("ring", string(h.Ring)).Time("last_heartbeat", h.LastHeartbeat).
				Dur("lost_for", now.Sub(since)).Msg("fleet: lost host forgotten")
		}
	}
	return n
}
