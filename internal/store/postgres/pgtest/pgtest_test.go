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
