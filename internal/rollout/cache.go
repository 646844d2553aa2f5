package rollout

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store"
)

// Defaults of the heartbeat hot path.
const (
	// DefaultFlushEvery is how often heartbeats held in memory are written.
	DefaultFlushEvery = time.Second
	// authTTL is how long a verified host token is trusted without the
	// store: as long as Kubernetes caches a webhook's token review
	// (--authentication-token-webhook-cache-ttl), so a host asks the store
	// once in 24 heartbeats, and a token replaced through another control
	// plane sharing the store stops working here within 2 minutes.
	authTTL = 2 * time.Minute
	// ringTTL is how long a ring's release, lock and paused state are
	// answered from memory.
	ringTTL = time.Second
)

// cachedStore is the driver's Store with the heartbeat hot path kept in
// memory, so 1,000 hosts heartbeating every 5 s cost a few statements a
// second, not seven per heartbeat:
//
//   - While behind (Run is flushing), Heartbeat keeps the latest state
//     per host in memory; flush writes them all in one Heartbeats
//     transaction. Host and Hosts merge these states over the store's, and
//     HoldTurn (whose lost holders are judged by their last heartbeats)
//     flushes first, so this process always reads what it was told. Other
//     control planes sharing the store see them one flush later (1 s,
//     well under fleet.DefaultLostAfter).
//   - AuthenticateHost trusts a verified (host, SHA-256 of token) for
//     authTTL, compared in constant time; RegisterHost and RemoveHost in
//     this process drop it at once. Another control plane's re-registration
//     is seen within authTTL.
//   - ringState answers a ring's release, lock and the lock holder's
//     outcome from memory for ringTTL; this process's own writes to the
//     ring (SetRelease, locks, rollout records) drop it at once. Release,
//     Lock and Rollout themselves always read the store: compare-and-set
//     callers need the stored version.
type cachedStore struct {
	Store
	now   func() time.Time
	onErr func(error, int) // a failed flush and how many heartbeats wait

	flushMu sync.Mutex // one flush at a time

	mu      sync.Mutex
	behind  bool
	pending map[string]store.HostHeartbeat
	auth    map[string]authEntry
	rings   map[fleet.Ring]ringEntry
	gen     uint64 // bumped by every write that drops ring state
}

// authEntry is a verified host token.
type authEntry struct {
	hash [sha256.Size]byte
	host fleet.Host
	at   time.Time
}

// ringEntry is a ring's state as read at.
type ringEntry struct {
	ringState
	at time.Time
}

// ringState is what a heartbeat's answer needs of its ring.
type ringState struct {
	rel  fleet.Release
	lock fleet.Lock
	// held is the rollout holding lock, when recorded.
	held      fleet.Rollout
	heldFound bool
	// ids are the ring's host ids, read only for a partial release.
	ids []string
}

func newCachedStore(st Store, now func() time.Time) *cachedStore {
	return &cachedStore{
		Store: st, now: now, onErr: func(error, int) {},
		pending: map[string]store.HostHeartbeat{},
		auth:    map[string]authEntry{},
		rings:   map[fleet.Ring]ringEntry{},
	}
}

// writeBehind switches heartbeats to being held in memory (on) or written
// at once (off).
func (c *cachedStore) writeBehind(on bool) {
	c.mu.Lock()
	c.behind = on
	c.mu.Unlock()
}

// Heartbeat records host id's state, in memory while behind.
func (c *cachedStore) Heartbeat(ctx context.Context, id string, state fleet.HostState, now time.Time) error {
	c.mu.Lock()
	if !c.behind {
		c.mu.Unlock()
		if err := c.Store.Heartbeat(ctx, id, state, now); err != nil {
			return err
		}
		c.mu.Lock()
	} else {
		if id == "" || now.IsZero() {
			c.mu.Unlock()
			return fmt.Errorf("heartbeat of host %q at %v: %w: no host id or time", id, now, ErrInvalid)
		}
		if err := state.Validate(); err != nil {
			c.mu.Unlock()
			return fmt.Errorf("heartbeat of host %s: %w: %w", id, ErrInvalid, err)
		}
		if p, ok := c.pending[id]; !ok || !now.Before(p.At) {
			c.pending[id] = store.HostHeartbeat{ID: id, State: state, At: now}
		}
	}
	if e, ok := c.auth[id]; ok && !now.Before(e.host.LastHeartbeat) {
		e.host.State, e.host.LastHeartbeat = state, now.UTC().Truncate(time.Microsecond)
		c.auth[id] = e
	}
	c.mu.Unlock()
	return nil
}

// flush writes the heartbeats held in memory in one transaction; on
// failure they are kept (unless a newer one came) for the next flush.
func (c *cachedStore) flush(ctx context.Context) (int, error) {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return 0, nil
	}
	batch := make([]store.HostHeartbeat, 0, len(c.pending))
	for _, b := range c.pending {
		batch = append(batch, b)
	}
	c.pending = make(map[string]store.HostHeartbeat, len(batch))
	c.mu.Unlock()
	err := c.Store.Heartbeats(ctx, batch)
	if err != nil {
		c.mu.Lock()
		for _, b := range batch {
			if p, ok := c.pending[b.ID]; !ok || p.At.Before(b.At) {
				c.pending[b.ID] = b
			}
		}
		n := len(c.pending)
		c.mu.Unlock()
		c.onErr(err, n)
		return 0, err
	}
	return len(batch), nil
}

// merge returns h with the heartbeat held in memory for it, if newer.
func (c *cachedStore) merge(h fleet.Host) fleet.Host {
	if p, ok := c.pending[h.ID]; ok && !p.At.Before(h.LastHeartbeat) {
		h.State, h.LastHeartbeat = p.State, p.At.UTC().Truncate(time.Microsecond)
	}
	return h
}

// Host returns one host, its state the latest this process heard.
func (c *cachedStore) Host(ctx context.Context, id string) (fleet.Host, error) {
	h, err := c.Store.Host(ctx, id)
	if err != nil {
		return h, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.merge(h), nil
}

// Hosts returns the hosts of ring, their states the latest this process
// heard.
func (c *cachedStore) Hosts(ctx context.Context, ring fleet.Ring) ([]fleet.Host, error) {
	hs, err := c.Store.Hosts(ctx, ring)
	if err != nil {
		return hs, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range hs {
		hs[i] = c.merge(hs[i])
	}
	return hs, nil
}

// HoldTurn flushes first: the turn's rules judge holders by their last
// heartbeats as stored.
func (c *cachedStore) HoldTurn(ctx context.Context, hostID string, rules fleet.TurnRules, now time.Time) (fleet.TurnDecision, error) {
	if _, err := c.flush(ctx); err != nil {
		return fleet.TurnDecision{}, fmt.Errorf("turn of host %s: write the heartbeats first: %w", hostID, err)
	}
	return c.Store.HoldTurn(ctx, hostID, rules, now)
}

// AuthenticateHost answers a token verified less than authTTL ago from
// memory, else asks the store.
func (c *cachedStore) AuthenticateHost(ctx context.Context, id, token string) (fleet.Host, error) {
	sum := sha256.Sum256([]byte(token))
	c.mu.Lock()
	e, ok := c.auth[id]
	if ok && token != "" && c.now().Sub(e.at) < authTTL && subtle.ConstantTimeCompare(sum[:], e.hash[:]) == 1 {
		h := c.merge(e.host)
		c.mu.Unlock()
		return h, nil
	}
	c.mu.Unlock()
	h, err := c.Store.AuthenticateHost(ctx, id, token)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		delete(c.auth, id)
		return h, err
	}
	c.auth[id] = authEntry{hash: sum, host: h, at: c.now()}
	return c.merge(h), nil
}

// RegisterHost registers h and forgets what was cached of it; the token
// it registered with is then trusted as if verified, so a host's first
// heartbeats after registering do not each ask the store.
func (c *cachedStore) RegisterHost(ctx context.Context, h fleet.Host, token string, now time.Time) (fleet.Host, error) {
	got, err := c.Store.RegisterHost(ctx, h, token, now)
	c.forgetHost(h.ID)
	if err == nil && token != "" {
		c.mu.Lock()
		c.auth[got.ID] = authEntry{hash: sha256.Sum256([]byte(token)), host: got, at: c.now()}
		c.mu.Unlock()
	}
	return got, err
}

// RemoveHost removes host id and forgets what was held of it.
func (c *cachedStore) RemoveHost(ctx context.Context, id string) error {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
	defer c.forgetHost(id)
	return c.Store.RemoveHost(ctx, id)
}

func (c *cachedStore) forgetHost(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.auth, id)
	clear(c.rings) // their host ids may have changed
	c.gen++
}

// ringState returns ring's release, lock and lock holder, from memory
// when read less than ringTTL ago; ids are read when withIDs and the
// release is partial.
func (c *cachedStore) ringState(ctx context.Context, ring fleet.Ring, withIDs bool) (ringState, error) {
	c.mu.Lock()
	e, ok := c.rings[ring]
	gen := c.gen
	c.mu.Unlock()
	now := c.now()
	if ok && now.Sub(e.at) < ringTTL && (!withIDs || e.ids != nil || !partial(e.rel)) {
		return e.ringState, nil
	}
	var s ringState
	var err error
	if s.rel, err = c.Store.Release(ctx, ring); err != nil {
		return s, fmt.Errorf("read the release of ring %s: %w", ring, err)
	}
	if s.lock, err = c.Store.Lock(ctx, ring); err != nil {
		return s, fmt.Errorf("read the lock of ring %s: %w", ring, err)
	}
	if !s.lock.IsZero() {
		s.held, err = c.Store.Rollout(ctx, s.lock.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return s, fmt.Errorf("read rollout %s: %w", s.lock.ID, err)
		default:
			s.heldFound = true
		}
	}
	if withIDs && partial(s.rel) {
		hosts, err := c.Store.Hosts(ctx, ring)
		if err != nil {
			return s, fmt.Errorf("read the hosts of ring %s: %w", ring, err)
		}
		s.ids = make([]string, len(hosts))
		for i, h := range hosts {
			s.ids[i] = h.ID
		}
	}
	c.mu.Lock()
	if c.gen == gen { // else a write raced the read: keep nothing
		c.rings[ring] = ringEntry{ringState: s, at: now}
	}
	c.mu.Unlock()
	return s, nil
}

// partial reports a release set for only part of its ring.
func partial(rel fleet.Release) bool { return rel.IsSet() && rel.Percent < 100 }

// forgetRing drops ring's cached state; c.mu held.
func (c *cachedStore) forgetRing(ring fleet.Ring) {
	delete(c.rings, ring)
	c.gen++
}

func (c *cachedStore) wrote(ring fleet.Ring) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgetRing(ring)
}

// SetRelease moves ring's pointer and forgets the ring's cached state.
func (c *cachedStore) SetRelease(ctx context.Context, next fleet.Release, version int64) (fleet.Release, error) {
	defer c.wrote(next.Ring)
	return c.Store.SetRelease(ctx, next, version)
}

// AcquireLock takes a ring's lock and forgets the ring's cached state.
func (c *cachedStore) AcquireLock(ctx context.Context, l fleet.Lock) (fleet.Lock, error) {
	defer c.wrote(l.Ring)
	return c.Store.AcquireLock(ctx, l)
}

// ReleaseLock releases a ring's lock and forgets the ring's cached state.
func (c *cachedStore) ReleaseLock(ctx context.Context, ring fleet.Ring, id string) error {
	defer c.wrote(ring)
	return c.Store.ReleaseLock(ctx, ring, id)
}

// BreakLock breaks a ring's lock and forgets the ring's cached state.
func (c *cachedStore) BreakLock(ctx context.Context, ring fleet.Ring) (fleet.Lock, error) {
	defer c.wrote(ring)
	return c.Store.BreakLock(ctx, ring)
}

// AddRollout records a rollout and forgets its ring's cached state.
func (c *cachedStore) AddRollout(ctx context.Context, r fleet.Rollout) error {
	defer c.wrote(r.Ring)
	return c.Store.AddRollout(ctx, r)
}

// UpdateRollout records a rollout and forgets its ring's cached state.
func (c *cachedStore) UpdateRollout(ctx context.Context, r fleet.Rollout) error {
	defer c.wrote(r.Ring)
	return c.Store.UpdateRollout(ctx, r)
}
