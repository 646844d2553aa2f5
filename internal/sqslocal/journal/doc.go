// Package journal is a crash-safe, append-only log of opaque records kept in
// one directory, with group commit and snapshots. The embedded SQS endpoint
// (internal/sqslocal) uses it so that an acknowledged send survives kill -9.
//
// # Durability contract
//
// Once [Pending.Wait] for an appended record returns nil, the record has been
// written and fsynced, and every later [Journal.Replay] of the directory
// returns it, also after kill -9 of the process or a power loss (as far as
// the disk honours fsync). A record whose Wait returned an error, or was never
// waited for, may or may not be replayed. Replay never returns a record that
// fails its checksum, and never returns a record twice.
//
// Appends are written in the order Append was called. One flusher goroutine
// writes everything appended so far with one write and one fsync, then
// releases all of those waiters at once; appends made meanwhile form the next
// batch (group commit). A lone append is written at once, without a timer.
//
// When a write or fsync fails the journal is failed for good: that batch and
// every later Append report the error, as PostgreSQL does after an fsync
// failure, because after a failed fsync the kernel may have dropped the dirty
// pages and nothing written since can be trusted. Reopen the directory to
// recover from what is on disk.
//
// # Files
//
// A directory holds one generation G of state:
//
//	LOCK                    flock(2)ed while open; holds the owner's pid
//	snap-<G>.snap           the records of the latest snapshot (absent before the first)
//	log-<G>.log             records appended after that snapshot
//
// G is 16 hex digits and starts at 1. [Journal.Snapshot] writes
// snap-<G+1>.tmp and log-<G+1>.tmp, fsyncs them, renames the log, fsyncs the
// directory, renames the snapshot (the commit point), fsyncs the directory,
// and only then removes generation G. [Open] therefore picks the highest G
// that has a snapshot (or G=1 when there is none) and removes temporary files
// and every other generation: whatever moment a crash hits, the directory
// holds either the old snapshot and log or the new snapshot and its empty log.
//
// Every file starts with a 24-byte header, all integers little-endian:
//
//	magic    [6]byte "CFJRNL"
//	kind     byte    'S' snapshot, 'L' log
//	reserved byte    0
//	version  uint32  1
//	gen      uint64  the generation in the file name
//	crc      uint32  CRC-32C of the 20 bytes before it
//
// A version other than 1 is reported as [ErrUnsupportedVersion] naming the
// file. After the header come frames, one per record:
//
//	length   uint32  payload length, at most 64 MiB
//	crc      uint32  CRC-32C (Castagnoli) of the 4 length bytes, then the payload
//	payload  [length]byte
//
// The checksum covers the length too, so a zero-filled tail (which some file
// systems leave after a crash) never parses as empty records.
//
// A log ends at its first invalid frame: short, too long, or with a bad
// checksum. That is what a crash in the middle of a write leaves, so Replay
// truncates the log there and reports the cut in [ReplayStats] instead of
// failing. Since only the last, unacknowledged batch can be torn, a large
// TruncatedBytes means the file was damaged otherwise, and is worth a
// warning. A snapshot is complete before it is renamed into place, so an
// invalid frame in a snapshot is [ErrCorrupt].
package journal
