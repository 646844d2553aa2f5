package controlplane_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
	"github.com/checkfleet/checkfleet/internal/fleet/fleettest"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/store/postgres/pgtest"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The control plane's scheduler sends jobs at the job schema every live
// host of the location decodes, as their heartbeats say: a rollout that
// adds job v2 is followed once every host has it, a rollback back to
// v1-only workers lowers it again, and a host of another location does
// not count.
func TestJobsFollowTheFleetsJobSchemas(t *testing.T) {
	const location = "eu-west-1"
	env := queuetest.Start(t)
	jobs := env.Provision(t, queue.Spec{Name: "checkfleet-jobs-" + location})
	results := env.Provision(t, queue.Spec{Name: "checkfleet-results"})
	cp := fleettest.Start(t, env, location, jobs, results, nil)
	ctx := context.Background()

	host := func(id string, locations ...string) func(schemas ...int) {
		c := fleetapi.NewHostClient(cp.URL, id, fleettest.HostToken(id), nil).WithJoinToken(fleettest.JoinToken)
		if _, err := c.Register(ctx, fleetapi.Registration{ID: id, Ring: "production", Locations: locations}); err != nil {
			t.Fatal(err)
		}
		return func(schemas ...int) {
			t.Helper()
			if _, err := c.Heartbeat(ctx, id, fleetapi.HostState{JobSchemas: schemas}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// sent runs the check now and returns the schema of the job sent.
	sent := func() string {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, cp.URL+"/api/v1/checks/hourly/run", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+fleettest.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
			t.Fatalf("run now: %s", resp.Status)
		}
		var schema string
		testenv.EventuallyNil(t, 30*time.Second, "the job sent", func() error {
			for _, m := range env.Drain(t, jobs.URL) {
				if a, ok := m.MessageAttributes[message.SchemaAttribute]; ok && a.StringValue != nil {
					schema = *a.StringValue
				}
			}
			if schema == "" {
				return fmt.Errorf("no job yet")
			}
			return nil
		})
		return schema
	}
	// follows waits until run-now jobs go at schema want: the scheduler
	// reads the fleet every few seconds.
	follows := func(stage, want string) {
		t.Helper()
		testenv.EventuallyNil(t, 30*time.Second, stage+": jobs sent at "+want, func() error {
			if got := sent(); got != want {
				return fmt.Errorf("sent at %s", got)
			}
			return nil
		})
	}

	old := host("old-1", location)
	other := host("other-1", "us-east-1")
	other(1)
	old(1)
	follows("a host decoding v1 only", message.JobV1)
	old(1, 2)
	follows("every host of the location decodes v2", message.JobV2)
	newer := host("new-1", location)
	newer(1)
	follows("a second host decoding v1 only (a rollback)", message.JobV1)
	newer(1, 2)
	follows("both decode v2 again", message.JobV2)
}
