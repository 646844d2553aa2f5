package queue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
)

func TestProvisionIsIdempotentAndRefusesConflicts(t *testing.T) {
	env := queuetest.Start(t)
	spec := queue.Spec{Name: "jobs", VisibilityTimeout: 45 * time.Second, MaxReceiveCount: 3}
	a := env.Provision(t, spec)
	b := env.Provision(t, spec)
	if a != b {
		t.Fatalf("second provision %+v differs from first %+v", b, a)
	}
	spec.VisibilityTimeout = time.Minute
	_, err := queue.Provision(context.Background(), env.Client, spec)
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) || !strings.Contains(err.Error(), "create queue jobs") {
		t.Fatalf("provision with other attributes: %v, want QueueNameExists naming the queue", err)
	}
}

func TestBatchesReportPerEntryFailures(t *testing.T) {
	env := queuetest.Start(t)
	p := env.Provision(t, queue.Spec{Name: "q"})
	q := queue.New(env.Client, p.URL)
	ctx := context.Background()
	errs, err := q.SendBatch(ctx, []queue.Outgoing{
		{Body: []byte("one"), Attributes: map[string]string{"schema": "x"}},
		{Body: []byte("bad \x00 body")},
		{Body: []byte("three")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || errs[2] != nil || errs[1] == nil {
		t.Fatalf("per-entry errors %v, want only the second (invalid characters) to fail", errs)
	}
	ds, err := q.Receive(ctx, 10, 0)
	if err != nil || len(ds) != 2 {
		t.Fatalf("received %d, %v; want the 2 sent", len(ds), err)
	}
	for _, d := range ds {
		if string(d.Body) == "one" && (d.Attributes["schema"] != "x" || d.ReceiveCount != 1 || d.SentAt.IsZero()) {
			t.Errorf("delivery lost its attributes: %+v", d)
		}
	}
	errs, err = q.DeleteBatch(ctx, []string{ds[0].ReceiptHandle, "not-a-receipt-handle"})
	if err != nil {
		t.Fatal(err)
	}
	var entry *queue.EntryError
	if errs[0] != nil || !errors.As(errs[1], &entry) || entry.Code != "ReceiptHandleIsInvalid" {
		t.Fatalf("delete batch errors %v, want the bad handle refused as ReceiptHandleIsInvalid", errs)
	}
	vis, err := q.VisibilityTimeout(ctx)
	if err != nil || vis != 30*time.Second {
		t.Fatalf("visibility timeout %s, %v; want the default 30s", vis, err)
	}
}

func TestDepth(t *testing.T) {
	env := queuetest.Start(t)
	q := queue.New(env.Client, env.Provision(t, queue.Spec{Name: "depth"}).URL)
	ctx := context.Background()
	if _, err := q.SendBatch(ctx, []queue.Outgoing{{Body: []byte("a")}, {Body: []byte("b")}, {Body: []byte("c")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Receive(ctx, 1, 0); err != nil {
		t.Fatal(err)
	}
	d, err := q.Depth(ctx)
	if err != nil || d != (queue.Depth{Visible: 2, InFlight: 1}) {
		t.Fatalf("Depth = %+v, %v; want 2 visible, 1 in flight", d, err)
	}
	if _, err := queue.New(env.Client, p404(env)).Depth(ctx); err == nil || !strings.Contains(err.Error(), "read depth of") {
		t.Errorf("depth of a missing queue: %v, want an error naming the queue", err)
	}
}

func p404(env *queuetest.Env) string { return env.Endpoint + "/000000000000/no-such-queue" }
