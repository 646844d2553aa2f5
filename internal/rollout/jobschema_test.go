package rollout_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/rollout"
	"github.com/checkfleet/checkfleet/internal/store"
)

// A job schema added by a new worker version is not sent until every live
// host of the location decodes it, and stops being sent after a rollback.
func TestJobSchemaFollowsTheFleet(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		js := &rollout.JobSchemas{Hosts: func(ctx context.Context) ([]fleet.Host, error) { return st.Hosts(ctx, "") },
			Ceiling: message.V2, TTL: time.Nanosecond, Now: func() time.Time { return now }}
		if got := js.For("eu-west-1"); got != message.V2 {
			t.Fatalf("no fleet: %v, want the ceiling v2", got)
		}
		beat := func(id string, schemas ...int) {
			t.Helper()
			if err := st.Heartbeat(ctx, id, fleet.HostState{JobSchemas: schemas}, now); err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i <= 3; i++ {
			id := fmt.Sprintf("h-%d", i)
			if _, err := st.RegisterHost(ctx, fleet.Host{ID: id, Ring: fleet.Production, Locations: []string{"eu-west-1"}}, "t", now); err != nil {
				t.Fatal(err)
			}
			beat(id, 1)
		}
		now = now.Add(time.Millisecond)
		if got := js.For("eu-west-1"); got != message.V1 {
			t.Fatalf("old workers: %v, want v1", got)
		}
		if got := js.For("us-east-1"); got != message.V2 {
			t.Errorf("a location no host serves: %v, want the ceiling", got)
		}
		now = now.Add(time.Second)
		beat("h-1", 1, 2)
		beat("h-2", 1, 2)
		beat("h-3", 1)
		if got := js.For("eu-west-1"); got != message.V1 {
			t.Fatalf("two of three upgraded: %v, want v1", got)
		}
		now = now.Add(time.Second)
		beat("h-3", 1, 2)
		if got := js.For("eu-west-1"); got != message.V2 {
			t.Fatalf("all upgraded: %v, want v2", got)
		}
		now = now.Add(time.Second)
		beat("h-2", 1) // rolled back
		if got := js.For("eu-west-1"); got != message.V1 {
			t.Fatalf("after a rollback: %v, want v1", got)
		}
		// A lost host no longer holds the version down.
		now = now.Add(time.Minute)
		beat("h-1", 1, 2)
		beat("h-3", 1, 2)
		if got := js.For("eu-west-1"); got != message.V2 {
			t.Fatalf("the old host lost: %v, want v2", got)
		}
	})
}
