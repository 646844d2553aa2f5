package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/sqlite"
	"github.com/checkfleet/checkfleet/internal/store/storetest"
)

// TestTwoSchedulersClaimEachDeliveryOnce: two stores on one file, as two
// processes have, claiming the same outbox at once.
func TestTwoSchedulersClaimEachDeliveryOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkfleet.db")
	a, b := openSQLite(t, path), openSQLite(t, path)
	storetest.ClaimOnce(t, a, b)
}

func TestAnnouncedAfterReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkfleet.db")
	storetest.AnnouncedAfterReopen(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkOutbox(b *testing.B) {
	storetest.BenchmarkOutbox(b, func(b *testing.B) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "checkfleet.db"))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
