package rollout

import (
	"context"
	"sync"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/message"
)

// JobSchemas answers the scheduler's question, which job schema version to
// send a location's jobs at (fleet.JobSchemaFor over the registered hosts,
// under the ceiling), from the hosts read at most every TTL so a busy
// scheduler does not read the fleet per job. With no host of the location
// saying what it decodes, the answer is the ceiling: the scheduler behaves
// as without a fleet.
type JobSchemas struct {
	// Hosts reads every host.
	Hosts func(ctx context.Context) ([]fleet.Host, error)
	// Ceiling is the highest version sent (--job-schema).
	Ceiling message.Version
	// TTL is how long the hosts read are used (5 s when 0).
	TTL time.Duration
	// LostAfter is when a host no longer counts (fleet.DefaultLostAfter
	// when 0).
	LostAfter time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	hosts  []fleet.Host
	readAt time.Time
}

// For returns the version to send location's jobs at. A failed read keeps
// the hosts read last (or, with none, the ceiling).
func (j *JobSchemas) For(location string) message.Version {
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	ttl := j.TTL
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	t := now()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.readAt.IsZero() || t.Sub(j.readAt) >= ttl {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		hosts, err := j.Hosts(ctx)
		cancel()
		if err == nil {
			j.hosts, j.readAt = hosts, t
		}
	}
	v, _ := fleet.JobSchemaFor(location, j.hosts, int(j.Ceiling), t, j.LostAfter)
	return message.Version(v)
}
