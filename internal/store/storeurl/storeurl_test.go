package storeurl_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/postgres/pgtest"
	"github.com/checkfleet/checkfleet/internal/store/storeurl"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

// roundTrip records a result through s and reads it back.
func roundTrip(t *testing.T, s store.Store) {
	t.Helper()
	r := check.Result{
		RunID: "r1", CheckID: "c", Location: "l", Attempt: 1, Status: check.StatusPassed,
		ScheduledAt: time.Unix(100, 0), StartedAt: time.Unix(101, 0), FinishedAt: time.Unix(102, 0),
		Worker: check.WorkerInfo{ID: "w", Version: "v"},
	}
	if n, err := s.UpsertResults(ctx, []check.Result{r}); err != nil || n != 1 {
		t.Fatalf("UpsertResults = %d, %v", n, err)
	}
	if got, err := s.Result(ctx, "r1"); err != nil || got.RunID != "r1" {
		t.Fatalf("Result = %+v, %v", got, err)
	}
}

func open(t *testing.T, url string) store.Store {
	t.Helper()
	s, err := storeurl.Open(ctx, url)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	roundTrip(t, open(t, "sqlite://./var/checkfleet.db"))
	if _, err := os.Stat(filepath.Join(dir, "var", "checkfleet.db")); err != nil {
		t.Errorf("the database is not at ./var/checkfleet.db: %v", err)
	}
}

func TestSQLiteAbsolutePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "checkfleet.db")
	roundTrip(t, open(t, "sqlite://"+path))
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at %s: %v", path, err)
	}
}

func TestSQLiteMemory(t *testing.T) {
	roundTrip(t, open(t, "sqlite://:memory:"))
}

func TestPostgres(t *testing.T) {
	dsn := pgtest.Start(t)
	roundTrip(t, open(t, dsn))
	s := open(t, "postgresql"+strings.TrimPrefix(dsn, "postgres"))
	if _, err := s.Result(ctx, "r1"); err != nil {
		t.Errorf("postgresql:// opened another database: %v", err)
	}
}

func TestBadURLs(t *testing.T) {
	tests := []struct{ url, want string }{
		{"./var/checkfleet.db", "not a URL"},
		{"sqlite:checkfleet.db", "not a URL"},
		{"sqlite://", "no path"},
		{"sqlite://./x.db?mode=ro", "no query"},
		{"sqlite://./var/", "directory"},
		{"mysql://u:secret@localhost/db", "unknown scheme \"mysql\""},
		{"postgres://u:secret@localhost:notaport/db", "port"},
		{"postgres://u:secret@/db?host=/nonexistent-socket-dir&connect_timeout=2", "failed to connect"},
	}
	for _, tt := range tests {
		s, err := storeurl.Open(ctx, tt.url)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", tt.url)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "--store \"") || !strings.Contains(msg, tt.want) {
			t.Errorf("Open(%q) = %q; want it to start with --store \"...\" and say %q", tt.url, msg, tt.want)
		}
		if strings.Contains(msg, "secret") {
			t.Errorf("Open(%q) = %q shows the password", tt.url, msg)
		}
	}
}

// A PostgreSQL that does not answer is store.ErrUnavailable (the scheduler
// waits for it); one that answers with an error is not.
func TestPostgresDownIsUnavailable(t *testing.T) {
	url := pgtest.StartDurable(t)
	if err := pgtest.StopServer(true); err != nil {
		t.Fatal(err)
	}
	_, err := storeurl.Open(ctx, url)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("open with the server stopped: %v; want store.ErrUnavailable", err)
	}
	if err := pgtest.StartServer(true); err != nil {
		t.Fatal(err)
	}
	open(t, url).Close()

	missing := strings.Replace(url, "/checkfleet_test_", "/no_such_database_", 1)
	if _, err := storeurl.Open(ctx, missing); err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("open of a missing database: %v; want an error that is not store.ErrUnavailable", err)
	}
}
