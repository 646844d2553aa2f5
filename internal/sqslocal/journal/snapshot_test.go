package journal

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// snapshotOf replaces the journal's contents with recs.
func snapshotOf(t testing.TB, j *Journal, recs ...[]byte) {
	t.Helper()
	err := j.Snapshot(func(emit func([]byte) error) error {
		for _, r := range recs {
			if err := emit(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
}

// dirNames lists the files in dir.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestSnapshot(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := openJournal(t, dir)
	appendWait(t, j, recs("old-", 5)...)

	// Appends made just before the snapshot, not yet waited for, are
	// released once it is done.
	var early []*Pending
	for _, r := range recs("early-", 3) {
		early = append(early, j.Append(r))
	}
	snap := recs("snap-", 4)
	snapshotOf(t, j, snap...)
	for _, p := range early {
		if err := p.Wait(); err != nil {
			t.Fatalf("Wait for an append made before Snapshot: %v", err)
		}
	}
	if n := j.LogSize(); n != 0 {
		t.Errorf("LogSize after Snapshot = %d, want 0", n)
	}
	after := recs("after-", 3)
	appendWait(t, j, after...)
	if n := j.LogSize(); n == 0 {
		t.Error("LogSize after appends = 0")
	}
	closeJournal(t, j)

	want := []string{"LOCK", logName(2), snapName(2)}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("files after snapshot = %q, want %q", got, want)
	}
	j, got, stats := openJournal(t, dir)
	equalRecords(t, got, append(slices.Clone(snap), after...))
	if stats.Generation != 2 || stats.SnapshotRecords != len(snap) || stats.LogRecords != len(after) {
		t.Errorf("stats = %+v, want generation 2 with %d snapshot and %d log records", stats, len(snap), len(after))
	}

	// A second snapshot, an empty one, replaces the first.
	snapshotOf(t, j)
	appendWait(t, j, []byte("last"))
	closeJournal(t, j)
	want = []string{"LOCK", logName(3), snapName(3)}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("files after second snapshot = %q, want %q", got, want)
	}
	_, got, _ = openJournal(t, dir)
	equalRecords(t, got, [][]byte{[]byte("last")})
}

// TestSnapshotWriteFails checks that a snapshot whose writer fails leaves
// the journal as it was, usable, and no files behind.
func TestSnapshotWriteFails(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := openJournal(t, dir)
	before := recs("before-", 3)
	appendWait(t, j, before...)
	errWrite := errors.New("state is broken")
	err := j.Snapshot(func(emit func([]byte) error) error {
		if err := emit([]byte("half")); err != nil {
			return err
		}
		return errWrite
	})
	if !errors.Is(err, errWrite) {
		t.Fatalf("Snapshot: %v, want the writer's error", err)
	}
	if got, want := dirNames(t, dir), []string{"LOCK", logName(firstGen)}; !slices.Equal(got, want) {
		t.Errorf("files after failed snapshot = %q, want %q", got, want)
	}
	after := recs("after-", 2)
	appendWait(t, j, after...)
	closeJournal(t, j)
	_, got, _ := openJournal(t, dir)
	equalRecords(t, got, append(before, after...))
}

// TestSnapshotCrash recreates the directory as a crash at each step of
// Snapshot leaves it, from the files of a real journal before and after a
// snapshot, and checks what Open recovers.
func TestSnapshotCrash(t *testing.T) {
	base := t.TempDir()
	j, _, _ := openJournal(t, base)
	old := recs("old-", 5)
	appendWait(t, j, old...)
	closeJournal(t, j)
	oldLog := readFile(t, filepath.Join(base, logName(firstGen)))

	j, _, _ = openJournal(t, base)
	snap := recs("snap-", 3)
	snapshotOf(t, j, snap...)
	closeJournal(t, j)
	newSnap := readFile(t, filepath.Join(base, snapName(2)))
	newLog := readFile(t, filepath.Join(base, logName(2)))

	tests := []struct {
		name  string
		files map[string][]byte
		want  [][]byte
	}{
		{"while writing the snapshot", map[string][]byte{
			logName(1):              oldLog,
			"snap-" + hex2 + ".tmp": newSnap[:len(newSnap)/2],
		}, old},
		{"while creating the new log", map[string][]byte{
			logName(1):              oldLog,
			"snap-" + hex2 + ".tmp": newSnap,
			"log-" + hex2 + ".tmp":  newLog[:7],
		}, old},
		{"before renaming the snapshot", map[string][]byte{
			logName(1):              oldLog,
			"snap-" + hex2 + ".tmp": newSnap,
			logName(2):              newLog,
		}, old},
		{"before removing the old generation", map[string][]byte{
			logName(1):  oldLog,
			snapName(2): newSnap,
			logName(2):  newLog,
		}, snap},
		{"after removing the old log", map[string][]byte{
			snapName(2): newSnap,
			logName(2):  newLog,
		}, snap},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range tc.files {
				writeFile(t, filepath.Join(dir, name), b)
			}
			j, got, _ := openJournal(t, dir)
			equalRecords(t, got, tc.want)
			want := []string{"LOCK", logName(j.gen)}
			if j.gen > firstGen {
				want = append(want, snapName(j.gen))
			}
			if got := dirNames(t, dir); !slices.Equal(got, want) {
				t.Errorf("files after recovery = %q, want %q", got, want)
			}

			// The recovered journal works, snapshots included.
			appendWait(t, j, []byte("more"))
			closeJournal(t, j)
			j, got, _ = openJournal(t, dir)
			equalRecords(t, got, append(slices.Clone(tc.want), []byte("more")))
			snapshotOf(t, j, []byte("final"))
			closeJournal(t, j)
			_, got, _ = openJournal(t, dir)
			equalRecords(t, got, [][]byte{[]byte("final")})
		})
	}
}

const hex2 = "0000000000000002"

// TestSnapshotWithoutLog checks that a snapshot whose log is missing, which
// Snapshot never leaves, is reported rather than silently recovered.
func TestSnapshotWithoutLog(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := openJournal(t, dir)
	snapshotOf(t, j, []byte("s"))
	closeJournal(t, j)
	if err := os.Remove(filepath.Join(dir, logName(2))); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open: %v, want ErrCorrupt", err)
	}
}
