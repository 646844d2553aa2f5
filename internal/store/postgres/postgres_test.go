package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store/internal/migrate"

	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/postgres"
	"github.com/checkfleet/checkfleet/internal/store/postgres/pgtest"
	"github.com/checkfleet/checkfleet/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(context.Background(), pgtest.Start(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConcurrentOpensMigrateOnce(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	var (
		wg   sync.WaitGroup
		errs = make([]error, 6)
	)
	for i := range errs {
		wg.Go(func() {
			s, err := postgres.Open(ctx, dsn)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Opens: %v", err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, versions int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&n, &versions); err != nil {
		t.Fatal(err)
	}
	if n != versions || n == 0 {
		t.Errorf("schema_migrations has %d rows for %d versions, want each version once", n, versions)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(ctx, dsn)
	var tooNew *migrate.TooNewError
	if !errors.As(err, &tooNew) || tooNew.Database != 999 {
		t.Fatalf("Open of a database at version 999: err = %v, want a TooNewError", err)
	}
	if !strings.Contains(err.Error(), "version 999") {
		t.Errorf("error %q does not say the version", err)
	}
}

func TestOpenFailsClearly(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{
		"postgres://checkfleet:secret@/nodb?host=/nonexistent-socket-dir&connect_timeout=2",
		"postgres://checkfleet:secret@localhost:notaport/db",
	} {
		s, err := postgres.Open(ctx, dsn)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
}

// BenchmarkUpsertResults runs on a cluster with PostgreSQL's durable
// defaults (fsync, synchronous_commit on).
func BenchmarkUpsertResults(b *testing.B) {
	storetest.BenchmarkUpsertResults(b, func(b *testing.B) store.Store {
		s, err := postgres.Open(context.Background(), pgtest.StartDurable(b))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

func TestHostTokenIsStoredHashed(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const token = "hT0k-3n7-plaintext"
	if _, err := s.RegisterHost(ctx, fleet.Host{ID: "h1", Ring: fleet.Dev}, token, time.Unix(100, 0)); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var (
		hash  []byte
		whole string
	)
	if err := conn.QueryRow(ctx, `SELECT token_hash, h::text FROM fleet_hosts h WHERE id = 'h1'`).Scan(&hash, &whole); err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256([]byte(token)); !bytes.Equal(hash, want[:]) {
		t.Errorf("token_hash = %x, want the SHA-256 of the token %x", hash, want)
	}
	if strings.Contains(whole, token) {
		t.Errorf("the host's row holds the token in clear: %s", whole)
	}
}
