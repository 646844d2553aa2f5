package postgres_test

import (
	"context"
	"testing"

	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/postgres"
	"github.com/checkfleet/checkfleet/internal/store/postgres/pgtest"
	"github.com/checkfleet/checkfleet/internal/store/storetest"
)

// TestTwoSchedulersClaimEachDeliveryOnce: two stores on one database, as
// two schedulers have, claiming the same outbox at once.
func TestTwoSchedulersClaimEachDeliveryOnce(t *testing.T) {
	dsn := pgtest.Start(t)
	a, b := openPostgres(t, dsn), openPostgres(t, dsn)
	storetest.ClaimOnce(t, a, b)
}

func TestAnnouncedAfterReopen(t *testing.T) {
	dsn := pgtest.Start(t)
	storetest.AnnouncedAfterReopen(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func openPostgres(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkOutbox runs on a cluster with PostgreSQL's durable defaults.
func BenchmarkOutbox(b *testing.B) {
	storetest.BenchmarkOutbox(b, func(b *testing.B) store.Store {
		s, err := postgres.Open(context.Background(), pgtest.StartDurable(b))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
