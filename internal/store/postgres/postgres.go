// Package postgres is the store on PostgreSQL (pgx), for production and
// for several schedulers sharing one database: postgres://user@host/db.
//
// Results are upserted in one statement per batch (arrays unnested, ON
// CONFLICT (run_id) DO NOTHING), locking rows in run id order so that
// concurrent batches do not deadlock; Maintain takes a lock on the results
// table that waits for running upserts and holds new ones back until it
// commits, so a result cannot slip past a roll-up. Schema migrations run
// under a transaction-scoped advisory lock, so concurrent Opens are safe.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLock is the advisory lock key held while migrating ("checkflt").
const migrateLock = 0x636865636b666c74

// Store is the PostgreSQL store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database of connString (a postgres:// or
// postgresql:// URL, or key=value pairs, as libpq takes them; pool
// settings such as pool_max_conns as pgxpool takes them) and migrates its
// schema to this build's version. A database migrated by a newer build is
// refused.
func Open(ctx context.Context, connString string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "checkfleet"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", where(cfg), err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		if unavailable(err) {
			return nil, fmt.Errorf("open postgres %s: %w: %w", where(cfg), store.ErrUnavailable, err)
		}
		return nil, fmt.Errorf("open postgres %s: %w", where(cfg), err)
	}
	return s, nil
}

// unavailable reports whether err says the server did not answer (yet):
// worth waiting for, unlike a wrong password, a missing database or a
// schema this build cannot read, which the server answers with an error.
func unavailable(err error) bool {
	if _, connecting := errors.AsType[*pgconn.ConnectError](err); !connecting {
		return false
	}
	if pgErr, answered := errors.AsType[*pgconn.PgError](err); answered {
		// 57P03: the server is starting up, or shutting down.
		return pgErr.Code == "57P03"
	}
	return true
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// where names the database for errors, without credentials.
func where(cfg *pgxpool.Config) string {
	return fmt.Sprintf("database %q on %s:%d", cfg.ConnConfig.Database, cfg.ConnConfig.Host, cfg.ConnConfig.Port)
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
			return fmt.Errorf("lock for migration: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if known := migrate.Latest(ms); current > known {
			return &migrate.TooNewError{Database: current, Known: known}
		}
		for _, m := range ms[current:] {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
				return fmt.Errorf("record migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}

// retry runs fn again when PostgreSQL chose it as a deadlock victim or
// failed it for serialization, a few times.
func retry(fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		var pgErr *pgconn.PgError
		if err == nil || attempt == 5 || !errors.As(err, &pgErr) || (pgErr.Code != "40P01" && pgErr.Code != "40001") {
			return err
		}
	}
}

// read runs fn in a read-only transaction on one snapshot.
func (s *Store) read(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}
