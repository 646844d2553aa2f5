package alerting

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/alert/channel"
	"github.com/checkfleet/checkfleet/internal/store"
)

// SenderStore is what a Sender needs of the store.
type SenderStore interface {
	DueDeliveries(ctx context.Context, now time.Time, hold time.Duration, limit int) ([]store.DueDelivery, error)
	MarkDelivered(ctx context.Context, key, channel string, at time.Time) error
	MarkFailed(ctx context.Context, key, channel string, attempt int, nextAt time.Time, errText string) error
	GiveUp(ctx context.Context, key, channel string, attempt int, at time.Time, errText string) error
}

// SenderConfig configures a Sender.
type SenderConfig struct {
	// Poll is how often the outbox is read when nothing wakes the Sender.
	Poll time.Duration
	// Hold is how long a claim lasts; it must exceed every channel's
	// timeout, or a delivery being sent could be claimed again.
	Hold time.Duration
	// Limit is the most deliveries claimed at once.
	Limit int
	// PerChannel bounds the deliveries sent at once on one channel.
	PerChannel int
	// RetryInitial and RetryMax bound the backoff between attempts (with
	// jitter of half either way).
	RetryInitial, RetryMax time.Duration
	// GiveUpAfter is how long after its recording a delivery that keeps
	// failing is given up.
	GiveUpAfter time.Duration
	// Leading says whether this scheduler leads (holds the lease); only
	// then are deliveries claimed. Nil always leads.
	Leading func() bool
	// Now is the clock.
	Now func() time.Time
	// Channel is what every channel's Sender is built with.
	Channel channel.Options
}

// DefaultSenderConfig returns the defaults.
func DefaultSenderConfig() SenderConfig {
	return SenderConfig{Poll: time.Second, Hold: 2 * time.Minute, Limit: 100, PerChannel: 4,
		RetryInitial: 5 * time.Second, RetryMax: 5 * time.Minute, GiveUpAfter: 24 * time.Hour, Now: time.Now}
}

// Validate reports a configuration the Sender cannot work with.
func (c SenderConfig) Validate() error {
	var errs []error
	if c.Poll <= 0 || c.Hold <= 0 || c.Limit < 1 || c.PerChannel < 1 {
		errs = append(errs, fmt.Errorf("poll %s, hold %s, limit %d, per channel %d: want more than zero", c.Poll, c.Hold, c.Limit, c.PerChannel))
	}
	if c.RetryInitial <= 0 || c.RetryMax < c.RetryInitial || c.GiveUpAfter <= 0 {
		errs = append(errs, fmt.Errorf("retry %s-%s, give up after %s: want 0 < initial <= max and more than zero", c.RetryInitial, c.RetryMax, c.GiveUpAfter))
	}
	if c.Now == nil {
		errs = append(errs, errors.New("no clock"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("alerting sender: %w", err)
	}
	return nil
}

// Sender delivers the outbox on the channels. Run it on the leader.
type Sender struct {
	cfg  SenderConfig
	st   SenderStore
	log  zerolog.Logger
	m    *senderMetrics
	wake chan struct{}

	mu       sync.Mutex
	lanes    map[string]*lane    // by channel name
	inflight map[string]struct{} // key and channel of deliveries taken here
	run      context.Context     // Run's, while it runs
	wg       sync.WaitGroup      // the lanes' workers
}

// lane is one channel: its sender and the deliveries waiting for it.
type lane struct {
	r       alert.Resolved
	send    channel.Sender
	q       chan claimed
	retired chan struct{} // closed when the channel was changed or removed
}

// claimed is a delivery and when its claim ends.
type claimed struct {
	d     store.DueDelivery
	until time.Time
}

// NewSender returns a Sender for the channels.
func NewSender(cfg SenderConfig, st SenderStore, channels []alert.Resolved, log zerolog.Logger, reg prometheus.Registerer) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newSenderMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Sender{cfg: cfg, st: st, log: log, m: m, wake: make(chan struct{}, 1), lanes: map[string]*lane{}, inflight: map[string]struct{}{}}
	if err := s.SetChannels(channels); err != nil {
		return nil, err
	}
	return s, nil
}

// SetChannels replaces the channels. A channel unchanged keeps its
// deliveries under way; deliveries waiting for a changed one are taken
// again when their claim ends; a delivery for a channel no longer
// configured is given up. Nothing changes when a channel is refused.
func (s *Sender) SetChannels(channels []alert.Resolved) error {
	lanes := make(map[string]*lane, len(channels))
	for _, r := range channels {
		if r.Timeout >= s.cfg.Hold {
			return fmt.Errorf("channel %q: timeout %s must be shorter than the claim hold %s", r.Name, r.Timeout, s.cfg.Hold)
		}
		snd, err := channel.New(r, s.cfg.Channel)
		if err != nil {
			return err
		}
		lanes[r.Name] = &lane{r: r, send: snd, q: make(chan claimed, s.cfg.Limit), retired: make(chan struct{})}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, old := range s.lanes {
		if nl, ok := lanes[name]; ok && reflect.DeepEqual(old.r, nl.r) {
			lanes[name] = old
			continue
		}
		close(old.retired)
		s.forget(old)
	}
	for _, l := range lanes {
		if s.lanes[l.r.Name] == l {
			continue
		}
		if s.run != nil {
			s.start(s.run, l)
		}
	}
	s.lanes = lanes
	return nil
}

// forget empties l's queue of deliveries not tried, which are taken again
// when their claim ends; s.mu is held.
func (s *Sender) forget(l *lane) {
	for {
		select {
		case c := <-l.q:
			delete(s.inflight, c.d.Key+"\x00"+c.d.Channel)
		default:
			return
		}
	}
}

// Wake makes a running Sender read the outbox now (after a Recorder
// recorded notifications). It never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run sends until ctx ends, then waits for the attempts under way (each
// bounded by its channel's timeout); deliveries claimed and not yet tried
// are left for their claim to end.
func (s *Sender) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.run != nil {
		s.mu.Unlock()
		return errors.New("alerting sender: already running")
	}
	s.run = ctx
	for _, l := range s.lanes {
		s.start(ctx, l)
	}
	s.mu.Unlock()
	defer func() {
		s.wg.Wait()
		s.mu.Lock()
		s.run = nil
		for _, l := range s.lanes {
			s.forget(l)
		}
		s.mu.Unlock()
	}()
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		if s.cfg.Leading == nil || s.cfg.Leading() {
			s.claim(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.wake:
		}
	}
}

// start runs l's workers; s.mu is held.
func (s *Sender) start(ctx context.Context, l *lane) {
	for range s.cfg.PerChannel {
		s.wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-l.retired:
					return
				case c := <-l.q:
					s.deliver(ctx, l, c)
				}
			}
		})
	}
}

// claim takes due deliveries and hands each to its channel, as long as
// whole batches come back and some of them were taken.
func (s *Sender) claim(ctx context.Context) {
	for ctx.Err() == nil {
		now := s.cfg.Now()
		ds, err := s.st.DueDeliveries(ctx, now, s.cfg.Hold, s.cfg.Limit)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn().Err(err).Msg("could not read the alert outbox")
			}
			return
		}
		taken := 0
		for _, d := range ds {
			if s.dispatch(ctx, claimed{d: d, until: now.Add(s.cfg.Hold)}) {
				taken++
			}
		}
		if len(ds) < s.cfg.Limit || taken == 0 {
			return
		}
	}
}

// dispatch queues c on its channel; false when it was not taken (its
// channel is busy, or it is already here), to be claimed again when its
// claim ends. A delivery on a channel no longer configured is given up.
func (s *Sender) dispatch(ctx context.Context, c claimed) bool {
	id := c.d.Key + "\x00" + c.d.Channel
	s.mu.Lock()
	l, ok := s.lanes[c.d.Channel]
	if _, dup := s.inflight[id]; dup {
		s.mu.Unlock()
		return false
	}
	if ok {
		select {
		case l.q <- c:
			s.inflight[id] = struct{}{}
			s.mu.Unlock()
			return true
		default:
			s.mu.Unlock()
			return false
		}
	}
	s.mu.Unlock()
	s.giveUp(ctx, c.d, c.d.Attempts, "channel no longer configured")
	return true
}

// deliver makes one attempt at c and records its outcome.
func (s *Sender) deliver(ctx context.Context, l *lane, c claimed) {
	defer func() {
		s.mu.Lock()
		delete(s.inflight, c.d.Key+"\x00"+c.d.Channel)
		s.mu.Unlock()
	}()
	d := c.d
	select {
	case <-l.retired:
		return // its channel changed: taken again when the claim ends
	default:
	}
	if !s.cfg.Now().Before(c.until) {
		return // claimed too long ago: another sender may have it now
	}
	// The attempt and its recording finish even when Run stops: it is
	// bounded by the channel's timeout.
	wctx := context.WithoutCancel(ctx)
	sctx, cancel := context.WithTimeout(wctx, l.r.Timeout)
	err := l.send.Send(sctx, d.Notification)
	cancel()
	now := s.cfg.Now()
	attempt := d.Attempts + 1
	log := s.log.With().Str("check_id", d.Notification.CheckID).Str("key", d.Key).Str("channel", d.Channel).Int("attempt", attempt).Logger()
	switch {
	case err == nil:
		if err := s.st.MarkDelivered(wctx, d.Key, d.Channel, now); err != nil {
			log.Error().Err(err).Msg("notification sent, not recorded as sent: it may be sent again")
			return
		}
		s.m.deliveries.WithLabelValues(d.Channel, outcomeSent).Inc()
		s.m.latency.WithLabelValues(d.Channel).Observe(now.Sub(d.CreatedAt).Seconds())
		log.Info().Str("kind", string(d.Notification.Kind)).Dur("latency", now.Sub(d.CreatedAt)).Msg("notification sent")
	case !channel.Retryable(err):
		s.giveUp(wctx, d, attempt, err.Error())
	case now.Sub(d.CreatedAt) >= s.cfg.GiveUpAfter:
		s.giveUp(wctx, d, attempt, fmt.Sprintf("still failing %s after it was recorded: %v", s.cfg.GiveUpAfter, err))
	default:
		next := now.Add(s.retryDelay(attempt))
		if deadline := d.CreatedAt.Add(s.cfg.GiveUpAfter); next.After(deadline) {
			next = deadline // one last attempt when its time is up
		}
		if err2 := s.st.MarkFailed(wctx, d.Key, d.Channel, attempt, next, err.Error()); err2 != nil {
			log.Error().Err(err2).Msg("could not record a failed delivery; it is tried again when its claim ends")
			return
		}
		s.m.deliveries.WithLabelValues(d.Channel, outcomeRetry).Inc()
		log.Warn().Err(err).Time("next_attempt_at", next).Msg("notification not delivered; trying again later")
	}
}

// giveUp records d as given up after attempt attempts.
func (s *Sender) giveUp(ctx context.Context, d store.DueDelivery, attempt int, why string) {
	log := s.log.With().Str("check_id", d.Notification.CheckID).Str("key", d.Key).Str("channel", d.Channel).Int("attempt", attempt).Logger()
	if err := s.st.GiveUp(ctx, d.Key, d.Channel, attempt, s.cfg.Now(), why); err != nil {
		log.Error().Err(err).Msg("could not record a delivery given up; it is tried again when its claim ends")
		return
	}
	s.m.deliveries.WithLabelValues(d.Channel, outcomeGivenUp).Inc()
	log.Error().Str("reason", why).Msg("notification given up")
}

// retryDelay is the backoff before attempt+1: exponential from
// RetryInitial up to RetryMax, with jitter of half either way.
func (s *Sender) retryDelay(attempt int) time.Duration {
	bo := &backoff.ExponentialBackOff{InitialInterval: s.cfg.RetryInitial, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: s.cfg.RetryMax}
	var d time.Duration
	for range min(attempt, 64) {
		d = bo.NextBackOff()
	}
	return d
}
