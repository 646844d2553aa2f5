package journal

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Snapshot atomically replaces the whole journal with the records that write
// emits, which should be the caller's full state. The caller holds its state
// lock for the call so that no Append interleaves. write must not call the
// Journal's methods, nor emit after it returns.
//
// Records appended before Snapshot are first written and synced to the old
// log and their waiters released, so that a snapshot that fails before its
// commit point leaves the journal as it was, and usable. After that a crash
// at any moment leaves either the old snapshot and log or the new snapshot
// and its empty log, never a mix. A failure after the commit point, when it
// cannot be known which of the two is on disk, fails the journal.
func (j *Journal) Snapshot(write func(emit func(rec []byte) error) error) error {
	j.ioMu.Lock()
	defer j.ioMu.Unlock()
	j.mu.Lock()
	closed, replayed := j.closed, j.replayed
	j.mu.Unlock()
	switch {
	case closed:
		return fmt.Errorf("snapshot: %w", ErrClosed)
	case !replayed:
		return fmt.Errorf("snapshot: %w", ErrNotReplayed)
	}
	if err := j.flushBatch(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}

	gen := j.gen + 1
	tmp, err := writeSnapshot(j.dir, gen, write)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	log, err := createFile(j.dir, logName(gen), appendHeader(nil, kindLog, gen))
	if err != nil {
		return fmt.Errorf("snapshot: %w", errors.Join(err, os.Remove(tmp)))
	}
	// The new log's name must be durable before the snapshot's: Open
	// treats a snapshot without its log as corruption.
	if err := syncDir(j.dir); err != nil {
		return fmt.Errorf("snapshot: %w", errors.Join(err, log.Close(), os.Remove(filepath.Join(j.dir, logName(gen))), os.Remove(tmp)))
	}

	// The commit point: once this rename is durable, Open picks the new
	// generation.
	snap := filepath.Join(j.dir, snapName(gen))
	if err := os.Rename(tmp, snap); err != nil {
		return j.failSnapshot(fmt.Errorf("rename %s: %w", tmp, err), log)
	}
	if err := syncDir(j.dir); err != nil {
		return j.failSnapshot(err, log)
	}

	oldLog, oldGen, hadSnap := j.log, j.gen, j.hasSnap
	j.log, j.gen, j.hasSnap = log, gen, true
	j.mu.Lock()
	j.logSize = int64(len(j.buf)) // appends made during write go to the new log
	j.mu.Unlock()

	// The old generation is dead; failing to remove it costs only disk
	// space until the next Open removes it.
	_ = oldLog.Close()
	_ = os.Remove(filepath.Join(j.dir, logName(oldGen)))
	if hadSnap {
		_ = os.Remove(filepath.Join(j.dir, snapName(oldGen)))
	}
	return nil
}

// failSnapshot fails the journal after an error past the commit point.
func (j *Journal) failSnapshot(err error, newLog *os.File) error {
	err = fmt.Errorf("journal failed: snapshot: %w", err)
	j.mu.Lock()
	if j.err == nil {
		j.err = err
		j.space.Broadcast()
	}
	j.mu.Unlock()
	return errors.Join(err, newLog.Close())
}

// writeSnapshot writes and fsyncs the records that write emits to a
// temporary snapshot file for gen, and returns its path. On failure it
// removes the file.
func writeSnapshot(dir string, gen uint64, write func(emit func(rec []byte) error) error) (string, error) {
	tmp := filepath.Join(dir, fmt.Sprintf("snap-%016x.tmp", gen))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("create snapshot: %w", err)
	}
	fail := func(err error) (string, error) {
		return "", errors.Join(err, f.Close(), os.Remove(tmp))
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.Write(appendHeader(nil, kindSnapshot, gen)); err != nil {
		return fail(fmt.Errorf("write %s: %w", tmp, err))
	}
	emit := func(rec []byte) error {
		if len(rec) > MaxRecordSize {
			return fmt.Errorf("emit %d-byte record: %w", len(rec), ErrRecordTooLarge)
		}
		h := frameHeader(rec)
		if _, err := w.Write(h[:]); err != nil {
			return fmt.Errorf("write %s: %w", tmp, err)
		}
		if _, err := w.Write(rec); err != nil {
			return fmt.Errorf("write %s: %w", tmp, err)
		}
		return nil
	}
	if err := write(emit); err != nil {
		return fail(err)
	}
	if err := w.Flush(); err != nil {
		return fail(fmt.Errorf("write %s: %w", tmp, err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("fsync %s: %w", tmp, err))
	}
	if err := f.Close(); err != nil {
		return "", errors.Join(fmt.Errorf("close %s: %w", tmp, err), os.Remove(tmp))
	}
	return tmp, nil
}
