package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplayTornTail damages the end of a log the ways a crash or a bad disk
// does and checks that Replay keeps every record before the damage, cuts the
// rest off, and that the journal then works and survives another reopen.
func TestReplayTornTail(t *testing.T) {
	valid := recs("record-", 10)
	valid = append(valid, []byte{}) // an empty record must survive too
	last := valid[len(valid)-2]     // the last non-empty one
	frame := func(rec []byte) []byte {
		h := frameHeader(rec)
		return append(h[:], rec...)
	}
	tests := []struct {
		name string
		// damage changes the log's bytes and returns how many records
		// before the damage must survive.
		damage func(log []byte) ([]byte, int)
	}{
		{"garbage appended", func(log []byte) ([]byte, int) {
			return append(log, "\x17\x00\x00\x00garbage, not a frame at all"...), len(valid)
		}},
		{"partial frame header", func(log []byte) ([]byte, int) {
			return append(log, frame(last)[:3]...), len(valid)
		}},
		{"partial payload", func(log []byte) ([]byte, int) {
			f := frame([]byte("a record cut short by kill -9"))
			return append(log, f[:len(f)-4]...), len(valid)
		}},
		{"zero-filled tail", func(log []byte) ([]byte, int) {
			return append(log, make([]byte, 4096)...), len(valid)
		}},
		{"absurd length", func(log []byte) ([]byte, int) {
			return append(log, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5), len(valid)
		}},
		{"flipped byte in last frame", func(log []byte) ([]byte, int) {
			// drop the empty record so that the last frame has a payload
			log = log[:len(log)-frameHeaderSize]
			log[len(log)-1] ^= 0x40
			return log, len(valid) - 2
		}},
		{"flipped byte in a middle frame", func(log []byte) ([]byte, int) {
			// the first bad frame ends the log, whatever follows it
			log[headerSize+frameHeaderSize+2] ^= 1
			return log, 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			j, _, _ := openJournal(t, dir)
			appendWait(t, j, valid...)
			closeJournal(t, j)

			path := filepath.Join(dir, logName(firstGen))
			orig := readFile(t, path)
			damaged, keep := tc.damage(bytes.Clone(orig))
			writeFile(t, path, damaged)

			j, got, stats := openJournal(t, dir)
			equalRecords(t, got, valid[:keep])
			wantSize := int64(headerSize)
			for _, r := range valid[:keep] {
				wantSize += frameHeaderSize + int64(len(r))
			}
			if stats.TruncatedBytes != int64(len(damaged))-wantSize || stats.TruncateReason == "" {
				t.Errorf("stats = %+v, want %d bytes truncated with a reason", stats, int64(len(damaged))-wantSize)
			}
			if size := int64(len(readFile(t, path))); size != wantSize {
				t.Errorf("log is %d bytes after Replay, want %d", size, wantSize)
			}

			more := recs("after-", 3)
			appendWait(t, j, more...)
			closeJournal(t, j)
			_, got, stats = openJournal(t, dir)
			equalRecords(t, got, append(valid[:keep:keep], more...))
			if stats.TruncatedBytes != 0 {
				t.Errorf("second reopen truncated %d bytes", stats.TruncatedBytes)
			}
		})
	}
}

func TestUnsupportedVersion(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := openJournal(t, dir)
	appendWait(t, j, []byte("v1"))
	closeJournal(t, j)

	path := filepath.Join(dir, logName(firstGen))
	b := readFile(t, path)
	binary.LittleEndian.PutUint32(b[8:], 2)
	writeFile(t, path, b)

	_, err := Open(dir, Options{})
	if !errors.Is(err, ErrUnsupportedVersion) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open: %v, want ErrUnsupportedVersion naming %s", err, path)
	}
	// The refused directory must be left as it was.
	if !bytes.Equal(readFile(t, path), b) {
		t.Error("Open changed a file it refused")
	}
}

func TestBadHeader(t *testing.T) {
	tests := []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"not a journal", func(b []byte) []byte { return []byte("hello, world, this is a text file") }},
		{"short", func(b []byte) []byte { return b[:10] }},
		{"bad checksum", func(b []byte) []byte { b[15] ^= 1; return b }},
		{"wrong kind", func(b []byte) []byte { return appendHeader(nil, kindSnapshot, firstGen) }},
		{"wrong generation", func(b []byte) []byte { return appendHeader(nil, kindLog, 7) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			j, _, _ := openJournal(t, dir)
			closeJournal(t, j)
			path := filepath.Join(dir, logName(firstGen))
			writeFile(t, path, tc.damage(readFile(t, path)))
			if _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Open: %v, want ErrCorrupt naming %s", err, path)
			}
		})
	}
}

func TestCorruptSnapshot(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := openJournal(t, dir)
	snapshotOf(t, j, recs("s", 5)...)
	closeJournal(t, j)

	path := filepath.Join(dir, snapName(firstGen+1))
	b := readFile(t, path)
	b[len(b)-1] ^= 1
	writeFile(t, path, b)

	j, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer closeJournal(t, j)
	if _, err := j.Replay(func([]byte) error { return nil }); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Replay: %v, want ErrCorrupt naming %s", err, path)
	}
}

func TestReplayCallbackError(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := openJournal(t, dir)
	appendWait(t, j, recs("r", 3)...)
	closeJournal(t, j)

	j, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer closeJournal(t, j)
	errStop := errors.New("stop")
	if _, err := j.Replay(func([]byte) error { return errStop }); !errors.Is(err, errStop) {
		t.Fatalf("Replay: %v, want the callback's error", err)
	}
	if err := j.Append([]byte("x")).Wait(); !errors.Is(err, ErrNotReplayed) {
		t.Fatalf("Append after failed Replay: %v, want ErrNotReplayed", err)
	}
	n := 0
	if _, err := j.Replay(func([]byte) error { n++; return nil }); err != nil || n != 3 {
		t.Fatalf("retried Replay: %d records, %v; want 3", n, err)
	}
}

// FuzzReplay feeds arbitrary bytes to Replay as the log file. It must not
// panic, and what it returns must be exactly the records of a prefix of
// valid, checksummed frames, which is also what the file is cut to.
func FuzzReplay(f *testing.F) {
	log := appendHeader(nil, kindLog, firstGen)
	f.Add(bytes.Clone(log))
	for _, r := range recs("seed-", 3) {
		h := frameHeader(r)
		log = append(append(log, h[:]...), r...)
		f.Add(bytes.Clone(log))
	}
	f.Add(append(bytes.Clone(log), 0, 0, 0, 0, 0, 0, 0, 0))
	f.Add(append(bytes.Clone(log), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0))
	f.Add([]byte("CFJRNL"))

	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, logName(firstGen))
		writeFile(t, path, data)
		j, err := Open(dir, Options{})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("Open: %v, want ErrCorrupt or ErrUnsupportedVersion", err)
			}
			return
		}
		defer j.Close()
		var got [][]byte
		stats, err := j.Replay(func(rec []byte) error {
			got = append(got, bytes.Clone(rec))
			return nil
		})
		if err != nil {
			t.Fatalf("Replay: %v", err)
		}
		want := appendHeader(nil, kindLog, firstGen)
		for _, r := range got {
			h := frameHeader(r)
			want = append(append(want, h[:]...), r...)
		}
		if !bytes.HasPrefix(data, want) {
			t.Fatal("replayed records are not the frames at the start of the file")
		}
		if stats.TruncatedBytes != int64(len(data)-len(want)) {
			t.Fatalf("TruncatedBytes = %d, want %d", stats.TruncatedBytes, len(data)-len(want))
		}
		if !bytes.Equal(readFile(t, path), want) {
			t.Fatal("log was not cut to its valid frames")
		}
	})
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
