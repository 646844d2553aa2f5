package sqlite_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store/internal/migrate"

	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/sqlite"
	"github.com/checkfleet/checkfleet/internal/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "checkfleet.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestContractInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), sqlite.Memory)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenCreatesDirectoryAndKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a", "b", "checkfleet.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r := check.Result{
		RunID: "r1", CheckID: "c", Location: "l", Attempt: 1, Status: check.StatusPassed,
		ScheduledAt: time.Unix(100, 0), StartedAt: time.Unix(101, 0), FinishedAt: time.Unix(102, 0),
		Worker: check.WorkerInfo{ID: "w", Version: "v"},
	}
	if _, err := s.UpsertResults(ctx, []check.Result{r}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var mode string
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if got, err := s.Result(ctx, "r1"); err != nil || got.RunID != "r1" {
		t.Errorf("after reopening, Result = %+v, %v", got, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "checkfleet.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.Open(ctx, path)
	var tooNew *migrate.TooNewError
	if !errors.As(err, &tooNew) || tooNew.Database != 999 {
		t.Fatalf("Open of a database at version 999: err = %v, want a TooNewError", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "version 999") {
		t.Errorf("error %q does not name the file and its version", err)
	}
}

func TestOpenRefusesBadPath(t *testing.T) {
	for _, path := range []string{"", "x.db?mode=ro"} {
		if s, err := sqlite.Open(context.Background(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := sqlite.Open(context.Background(), filepath.Join(file, "x.db")); err == nil {
		s.Close()
		t.Errorf("Open under a regular file succeeded")
	}
}

func BenchmarkUpsertResults(b *testing.B) {
	storetest.BenchmarkUpsertResults(b, func(b *testing.B) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "checkfleet.db"))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

func TestHostTokenIsStoredHashed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "checkfleet.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	const token = "hT0k-3n7-plaintext"
	if _, err := s.RegisterHost(ctx, fleet.Host{ID: "h1", Ring: fleet.Dev}, token, time.Unix(100, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var hash []byte
	if err := db.QueryRow(`SELECT token_hash FROM fleet_hosts WHERE id = 'h1'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256([]byte(token)); !bytes.Equal(hash, want[:]) {
		t.Errorf("token_hash = %x, want the SHA-256 of the token %x", hash, want)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(token)) {
		t.Error("the database file holds the token in clear")
	}
}
