package supervisor

import (
	"context"
	"sync"

	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// Progress is the event log of one upgrade; any number of readers follow it
// from the start.
type Progress struct {
	mu      sync.Mutex
	events  []api.Event
	done    bool
	changed chan struct{}
}

func newProgress() *Progress { return &Progress{changed: make(chan struct{})} }

func (p *Progress) add(e api.Event, final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.events = append(p.events, e)
	p.done = final
	close(p.changed)
	p.changed = make(chan struct{})
}

// Follow calls fn with every event from the first, in order, until the
// upgrade ends (the last event is the StepResult) or ctx ends.
func (p *Progress) Follow(ctx context.Context, fn func(api.Event)) error {
	for next := 0; ; {
		p.mu.Lock()
		evs, done, changed := p.events[next:], p.done, p.changed
		p.mu.Unlock()
		for _, e := range evs {
			fn(e)
		}
		next += len(evs)
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// last returns the final event once the upgrade ended.
func (p *Progress) last() (api.Event, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done || len(p.events) == 0 {
		return api.Event{}, false
	}
	return p.events[len(p.events)-1], true
}
