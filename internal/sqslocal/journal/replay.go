package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ReplayStats describes what Replay read.
type ReplayStats struct {
	Generation      uint64 // generation of the files replayed
	SnapshotRecords int    // records from the snapshot
	LogRecords      int    // records from the log after it
	Bytes           int64  // frame bytes read, headers included
	// TruncatedBytes is how much of the log's tail was invalid and cut
	// off, and TruncateReason why; zero and "" when the log was intact.
	// A crash mid-write leaves at most one unacknowledged batch here.
	TruncatedBytes int64
	TruncateReason string
}

// Replay calls fn with every record of the latest snapshot and then every
// record appended after it, in order. rec is only valid during the call; fn
// must copy what it keeps. An error from fn stops Replay and is returned.
//
// The log ends at its first invalid frame, which is what a crash in the
// middle of a write leaves: Replay truncates the file there and reports it in
// the stats rather than as an error. An invalid frame in a snapshot is
// ErrCorrupt.
//
// Replay must complete once, after Open and before Append or Snapshot. It
// may be retried after an error; calling it again after it succeeded is an
// error.
func (j *Journal) Replay(fn func(rec []byte) error) (ReplayStats, error) {
	j.ioMu.Lock()
	defer j.ioMu.Unlock()
	j.mu.Lock()
	closed, replayed := j.closed, j.replayed
	j.mu.Unlock()
	switch {
	case closed:
		return ReplayStats{}, fmt.Errorf("replay: %w", ErrClosed)
	case replayed:
		return ReplayStats{}, errors.New("replay: journal already replayed")
	}

	stats := ReplayStats{Generation: j.gen}
	if j.hasSnap {
		n, size, err := j.replaySnapshot(fn)
		if err != nil {
			return stats, err
		}
		stats.SnapshotRecords, stats.Bytes = n, size
	}

	fr, err := newFrameReader(j.log, headerSize)
	if err != nil {
		return stats, fmt.Errorf("replay %s: %w", j.logPath(), err)
	}
	for {
		rec, err := fr.next()
		var bad *badFrameError
		if errors.As(err, &bad) {
			stats.TruncatedBytes = fr.size - fr.off
			stats.TruncateReason = bad.Error()
			break
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return stats, fmt.Errorf("replay %s: %w", j.logPath(), err)
		}
		if err := fn(rec); err != nil {
			return stats, fmt.Errorf("replay %s at offset %d: %w", j.logPath(), fr.off-frameHeaderSize-int64(len(rec)), err)
		}
		stats.LogRecords++
	}
	end := fr.off
	stats.Bytes += end - headerSize

	if stats.TruncatedBytes > 0 {
		if err := j.log.Truncate(end); err != nil {
			return stats, fmt.Errorf("truncate torn tail of %s: %w", j.logPath(), err)
		}
	}
	// A process killed before its fsync leaves records in the page cache
	// that a power loss would still take away. The caller is about to act
	// on them, so make them durable first.
	if err := j.log.Sync(); err != nil {
		return stats, fmt.Errorf("fsync %s: %w", j.logPath(), err)
	}
	if _, err := j.log.Seek(end, io.SeekStart); err != nil {
		return stats, fmt.Errorf("seek %s: %w", j.logPath(), err)
	}

	j.mu.Lock()
	j.replayed = true
	j.logSize = end - headerSize
	j.mu.Unlock()
	return stats, nil
}

// replaySnapshot calls fn with each record of the current snapshot and
// returns their number and frame bytes.
func (j *Journal) replaySnapshot(fn func(rec []byte) error) (int, int64, error) {
	path := filepath.Join(j.dir, snapName(j.gen))
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("replay snapshot: %w", err)
	}
	defer f.Close()
	fr, err := newFrameReader(f, headerSize)
	if err != nil {
		return 0, 0, fmt.Errorf("replay %s: %w", path, err)
	}
	n := 0
	for {
		rec, err := fr.next()
		var bad *badFrameError
		switch {
		case errors.Is(err, io.EOF):
			return n, fr.off - headerSize, nil
		case errors.As(err, &bad):
			return n, 0, fmt.Errorf("replay %s: %w: %w", path, bad, ErrCorrupt)
		case err != nil:
			return n, 0, fmt.Errorf("replay %s: %w", path, err)
		}
		if err := fn(rec); err != nil {
			return n, 0, fmt.Errorf("replay %s at offset %d: %w", path, fr.off-frameHeaderSize-int64(len(rec)), err)
		}
		n++
	}
}
