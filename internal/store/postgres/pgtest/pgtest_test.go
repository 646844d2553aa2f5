package pgtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/checkfleet/checkfleet/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestEachTestHasItsOwnDatabase(t *testing.T) {
	ctx := context.Background()
	var dsns []string
	for i := range 2 {
		t.Run("db", func(t *testing.T) {
			dsn := pgtest.Start(t)
			dsns = append(dsns, dsn)
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			// The table does not exist yet in the second database.
			if _, err := conn.Exec(ctx, `CREATE TABLE t (i int)`); err != nil {
				t.Fatalf("database %d: %v", i, err)
			}
		})
	}
	if len(dsns) != 2 || dsns[0] == dsns[1] {
		t.Fatalf("DSNs %v, want two different databases", dsns)
	}
	// Each database was dropped when its test ended.
	_, err := pgx.Connect(ctx, dsns[0])
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("connecting to the first test's database after it ended: err = %v, want it gone", err)
	}
}

func TestStopServerKeepsTheDataForStartServer(t *testing.T) {
	ctx := context.Background()
	// The durable cluster: the fast one (synchronous_commit off) may lose
	// the last commits to an immediate stop, as a crash would.
	dsn := pgtest.StartDurable(t)
	exec := func(sql string) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(`CREATE TABLE kept (i int); INSERT INTO kept VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if err := pgtest.StopServer(true); err != nil {
		t.Fatal(err)
	}
	if err := exec(`SELECT 1`); err == nil {
		t.Fatal("the server answered while stopped")
	}
	if err := pgtest.StartServer(true); err != nil {
		t.Fatal(err)
	}
	if err := exec(`DELETE FROM kept WHERE i = 1`); err != nil {
		t.Fatalf("after StartServer: %v", err)
	}
}
