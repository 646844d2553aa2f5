package journal

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// Errors callers can act on; the journal wraps them with what it was doing.
var (
	// ErrLocked means another Journal (in this or another process) has the
	// directory open.
	ErrLocked = errors.New("journal directory is in use")
	// ErrClosed is returned by operations on a closed Journal.
	ErrClosed = errors.New("journal is closed")
	// ErrNotReplayed is returned by Append and Snapshot before Replay has
	// completed.
	ErrNotReplayed = errors.New("journal has not been replayed")
	// ErrCorrupt means a file that must be intact is not: a snapshot with
	// an invalid frame, a header that does not match its file name, a
	// missing log.
	ErrCorrupt = errors.New("journal is corrupt")
	// ErrUnsupportedVersion means a file was written in a format version
	// this package does not know.
	ErrUnsupportedVersion = errors.New("unsupported journal format version")
	// ErrRecordTooLarge means a record is longer than MaxRecordSize.
	ErrRecordTooLarge = errors.New("journal record too large")
)

// Options tunes a Journal. The zero value is ready to use.
type Options struct {
	// MaxPendingBytes bounds the appended bytes waiting for the flusher.
	// Append blocks while the next batch is this large, so a stalled disk
	// slows appenders down instead of growing memory without bound. Zero
	// means 16 MiB.
	MaxPendingBytes int
}

// Validate reports whether the options make sense.
func (o Options) Validate() error {
	if o.MaxPendingBytes < 0 {
		return fmt.Errorf("journal options: MaxPendingBytes %d is negative", o.MaxPendingBytes)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.MaxPendingBytes == 0 {
		o.MaxPendingBytes = 16 << 20
	}
	return o
}

// Journal is an append-only log of records in a directory. Its methods are
// safe for concurrent use.
type Journal struct {
	dir  string
	opts Options
	lock *os.File
	wg   sync.WaitGroup // the flusher

	// ioMu serialises everything that touches the current files: the
	// flusher's write+fsync, Replay, Snapshot and Close. It is taken
	// before mu, never while holding it.
	ioMu    sync.Mutex
	log     *os.File
	gen     uint64
	hasSnap bool

	mu       sync.Mutex
	work     sync.Cond // signalled when cur becomes non-nil or on close
	space    sync.Cond // broadcast when buf is taken, on failure or close
	buf      []byte    // frames of the batch being filled
	spare    []byte    // the previous batch's buffer, for reuse
	cur      *Pending  // the batch being filled; nil when buf is empty
	err      error     // sticky failure
	replayed bool
	closed   bool
	logSize  int64

	appends atomic.Uint64
	syncs   atomic.Uint64
	written atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// Open opens or creates the journal in dir, creating dir with mode 0o700.
// It takes an exclusive flock on dir/LOCK, so a second Open of the same
// directory, from this process or another, fails with ErrLocked until the
// first Journal is closed. Call Replay before the first Append.
func Open(dir string, opts Options) (*Journal, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := createDir(dir); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	j := &Journal{dir: dir, opts: opts.withDefaults(), lock: lock}
	j.work.L = &j.mu
	j.space.L = &j.mu
	if err := j.load(); err != nil {
		return nil, errors.Join(err, lock.Close())
	}
	j.wg.Add(1)
	go j.flush()
	return j, nil
}

// Pending is the outcome of one or more appended records: all records
// written by the same batch share one Pending.
type Pending struct {
	done chan struct{}
	err  error // set before done is closed
}

func newPending() *Pending { return &Pending{done: make(chan struct{})} }

func failedPending(err error) *Pending {
	p := &Pending{done: make(chan struct{}), err: err}
	close(p.done)
	return p
}

// Wait blocks until the record is durable, written and fsynced, or the
// journal failed, and returns the write or sync error if any. It may be
// called any number of times, from any goroutine.
func (p *Pending) Wait() error {
	<-p.done
	return p.err
}

// Append adds a copy of rec to the log and returns without waiting for the
// disk. Records are written in the order of Append calls, so a caller that
// appends while holding its own state lock gets a log in state order; it
// should release that lock before calling Wait, so that other appends can
// join the same batch.
//
// Append blocks only while Options.MaxPendingBytes are already waiting to be
// written. Errors (closed, not replayed, too large, failed journal) are
// reported by Wait.
func (j *Journal) Append(rec []byte) *Pending {
	if len(rec) > MaxRecordSize {
		return failedPending(fmt.Errorf("append %d-byte record: %w", len(rec), ErrRecordTooLarge))
	}
	h := frameHeader(rec) // outside the lock: the checksum is the costly part
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.err == nil && !j.closed && j.cur != nil && len(j.buf) >= j.opts.MaxPendingBytes {
		j.space.Wait()
	}
	switch {
	case j.err != nil:
		return failedPending(j.err)
	case j.closed:
		return failedPending(fmt.Errorf("append: %w", ErrClosed))
	case !j.replayed:
		return failedPending(fmt.Errorf("append: %w", ErrNotReplayed))
	}
	j.buf = append(j.buf, h[:]...)
	j.buf = append(j.buf, rec...)
	j.logSize += int64(len(h) + len(rec))
	j.appends.Add(1)
	if j.cur == nil {
		j.cur = newPending()
		j.work.Signal()
	}
	return j.cur
}

// LogSize returns the bytes (frames, with their headers) in the log since
// the last snapshot, including appends not yet written. The caller decides
// from it when to Snapshot.
func (j *Journal) LogSize() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.logSize
}

// Stats counts what a Journal has done since Open, for metrics.
type Stats struct {
	Appends      uint64 // records accepted by Append
	Syncs        uint64 // fsyncs of the log, one per batch
	BytesWritten uint64 // bytes written to the log
}

// Stats returns counters since Open.
func (j *Journal) Stats() Stats {
	return Stats{Appends: j.appends.Load(), Syncs: j.syncs.Load(), BytesWritten: j.written.Load()}
}

// Close writes and syncs everything appended so far, releases its waiters,
// stops the flusher and releases the directory lock. It returns the
// journal's failure, if it failed, or an error from closing the files.
// Calling Close again returns the same result.
func (j *Journal) Close() error {
	j.closeOnce.Do(func() { j.closeErr = j.close() })
	return j.closeErr
}

func (j *Journal) close() error {
	j.mu.Lock()
	j.closed = true
	j.work.Signal()
	j.space.Broadcast()
	j.mu.Unlock()
	j.wg.Wait()

	j.ioMu.Lock()
	defer j.ioMu.Unlock()
	j.mu.Lock()
	failure := j.err
	j.mu.Unlock()
	var errs []error
	if failure != nil {
		errs = append(errs, failure)
	}
	if err := j.log.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close log: %w", err))
	}
	if err := j.lock.Close(); err != nil {
		errs = append(errs, fmt.Errorf("release journal lock: %w", err))
	}
	return errors.Join(errs...)
}

// flush is the flusher goroutine: it writes each batch as soon as there is
// one, until the journal is closed and nothing is left.
func (j *Journal) flush() {
	defer j.wg.Done()
	for {
		j.mu.Lock()
		for j.cur == nil && !j.closed {
			j.work.Wait()
		}
		stop := j.cur == nil
		j.mu.Unlock()
		if stop {
			return
		}
		j.ioMu.Lock()
		_ = j.flushBatch() // a failure is sticky and reaches every waiter
		j.ioMu.Unlock()
	}
}

// flushBatch writes and syncs the batch being filled, if any, and releases
// its waiters. Appends made meanwhile go to a fresh batch. The caller holds
// ioMu.
func (j *Journal) flushBatch() error {
	j.mu.Lock()
	buf, p, err := j.buf, j.cur, j.err
	if p == nil {
		j.mu.Unlock()
		return err
	}
	j.buf, j.spare, j.cur = j.spare[:0], nil, nil
	j.space.Broadcast()
	j.mu.Unlock()

	if err == nil {
		err = j.writeSync(buf)
	}

	j.mu.Lock()
	// The failure becomes sticky before any waiter can see it, so an
	// Append made after a failed Wait fails too.
	if err != nil && j.err == nil {
		j.err = err
		j.space.Broadcast()
	}
	if cap(buf) <= j.opts.MaxPendingBytes {
		j.spare = buf
	}
	j.mu.Unlock()
	p.err = err
	close(p.done)
	return err
}

func (j *Journal) writeSync(buf []byte) error {
	if _, err := j.log.Write(buf); err != nil {
		return fmt.Errorf("journal failed: write %s: %w", j.logPath(), err)
	}
	j.written.Add(uint64(len(buf)))
	if err := j.log.Sync(); err != nil {
		return fmt.Errorf("journal failed: fsync %s: %w", j.logPath(), err)
	}
	j.syncs.Add(1)
	return nil
}
