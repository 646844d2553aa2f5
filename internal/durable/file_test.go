package durable

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileReplacesWholeAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, content := range []string{"first", "second, longer than the first", ""} {
		if err := WriteFile(path, []byte(content), 0o640); err != nil {
			t.Fatalf("WriteFile(%q): %v", content, err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read back %q, %v; want %q", got, err, content)
		}
		st, _ := os.Stat(path)
		if st.Mode().Perm() != 0o640 {
			t.Fatalf("mode %v, want 0640", st.Mode().Perm())
		}
	}
	onlyNames(t, dir, "state.json")
}

func TestWriteFileIntoMissingDirectoryFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gone", "state.json")
	if err := WriteFile(path, []byte("x"), 0o600); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("WriteFile into a missing directory: %v, want ErrNotExist", err)
	}
}

func TestFileCloseDiscardsAndCommitAsNamesLater(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "image")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}

	f, err := Create(path, 0o555)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("abandoned")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Fatalf("after Close without Commit the file holds %q, want the old content", got)
	}
	onlyNames(t, dir, "image")

	f, err = Create(path, 0o555)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // after a Commit, nothing to do
	if _, err := f.Write([]byte("bits")); err != nil {
		t.Fatal(err)
	}
	named := filepath.Join(dir, "image-sha256-abc")
	if err := f.CommitAs(named); err != nil {
		t.Fatalf("CommitAs: %v", err)
	}
	if got, _ := os.ReadFile(named); string(got) != "bits" {
		t.Fatalf("committed file holds %q", got)
	}
	if st, _ := os.Stat(named); st.Mode().Perm() != 0o555 {
		t.Fatalf("mode %v, want 0555", st.Mode().Perm())
	}
	if err := f.Commit(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second Commit: %v, want ErrClosed", err)
	}
	onlyNames(t, dir, "image", "image-sha256-abc")
}

func TestCommitAsElsewhereIsRefused(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(filepath.Join(dir, "a"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CommitAs(filepath.Join(t.TempDir(), "a")); err == nil {
		t.Fatal("CommitAs into another directory succeeded")
	}
	onlyNames(t, dir)
}

// onlyNames fails unless dir holds exactly names (no temporary file left).
func onlyNames(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("%s holds %q, want %q", dir, got, names)
	}
	for i := range got {
		if got[i] != names[i] {
			t.Fatalf("%s holds %q, want %q", dir, got, names)
		}
	}
}
