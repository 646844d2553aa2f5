package sqslocal

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/checkfleet/checkfleet/internal/sqslocal/journal"
)

// Durability. With a data directory every state change is appended to a
// journal.Journal while the lock ordering that change is held, so the log
// is in state order. Sends, deletes, purges and queue changes wait for
// their record to be fsynced (group-committed) before answering; receives
// and visibility changes do not wait: losing them in a crash only makes a
// message visible early, which at-least-once delivery allows.
//
// When the log grows past SnapshotMinBytes and four times the live state,
// a goroutine owned by the server replaces it with a snapshot of the whole
// state, taken with Server.mu held for writing.

type pending = journal.Pending

// persister is the journal as the server uses it. Its methods are no-ops
// on a nil persister (in-memory server).
type persister struct {
	j        *journal.Journal
	bufs     sync.Pool
	appended atomic.Int64 // bytes appended since the last snapshot
	trigger  atomic.Int64 // snapshot once appended exceeds this
	minBytes int64
	kick     chan struct{}
}

const defaultSnapshotMinBytes = 64 << 20

func (s *Server) openDurable(dir string, minBytes int64) error {
	j, err := journal.Open(dir, journal.Options{})
	if err != nil {
		return fmt.Errorf("open sqslocal data dir: %w", err)
	}
	if minBytes == 0 {
		minBytes = defaultSnapshotMinBytes
	}
	p := &persister{j: j, minBytes: minBytes, kick: make(chan struct{}, 1)}
	p.bufs.New = func() any { return new([]byte) }
	p.trigger.Store(minBytes)
	stats, err := j.Replay(s.apply)
	if err != nil {
		return fmt.Errorf("replay sqslocal data dir %s: %w", dir, errors.Join(err, j.Close()))
	}
	if stats.TruncatedBytes > 0 {
		s.log.Warn("sqslocal.replay_truncated", "dir", dir, "bytes", stats.TruncatedBytes, "reason", stats.TruncateReason)
	}
	s.log.Info("sqslocal.replayed", "dir", dir, "queues", len(s.queues), "snapshot_records", stats.SnapshotRecords, "log_records", stats.LogRecords)
	p.appended.Store(stats.Bytes)
	s.wal = p
	s.wg.Add(1)
	go s.compact()
	return nil
}

func (p *persister) close() error { return p.j.Close() }

// wait blocks until p is durable; a failure is answered as InternalFailure.
func (s *Server) wait(p *pending) *apiError {
	if p == nil {
		return nil
	}
	if err := p.Wait(); err != nil {
		s.log.Error("sqslocal.journal_failed", "err", err)
		return errInternal(err)
	}
	return nil
}

// append writes one record built by build into the journal.
func (p *persister) append(t recordType, build func(w *recordWriter)) *pending {
	bp := p.bufs.Get().(*[]byte)
	w := newRecord(*bp, t)
	build(&w)
	pend := p.j.Append(w.b) // Append copies the record
	if cap(w.b) <= 1<<20 {
		*bp = w.b
		p.bufs.Put(bp)
	}
	if p.appended.Add(int64(len(w.b))+8) > p.trigger.Load() {
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
	return pend
}

func (p *persister) queueState(q *queue) *pending {
	if p == nil {
		return nil
	}
	return p.append(recQueue, func(w *recordWriter) { w.queueState(q) })
}

func (p *persister) deleteQueue(name string, at int64) *pending {
	if p == nil {
		return nil
	}
	return p.append(recDeleteQueue, func(w *recordWriter) { w.str(name); w.int(at) })
}

func (p *persister) purge(q *queue, at int64) *pending {
	if p == nil {
		return nil
	}
	return p.append(recPurge, func(w *recordWriter) { w.queue(q); w.int(at) })
}

func (p *persister) send(q *queue, msgs []*message) *pending {
	if p == nil || len(msgs) == 0 {
		return nil
	}
	return p.append(recMessages, func(w *recordWriter) {
		w.queue(q)
		w.uint(flagRegisterDedup)
		w.uint(uint64(len(msgs)))
		for _, m := range msgs {
			w.message(m)
		}
	})
}

func (p *persister) delete(q *queue, ids []msgID) *pending {
	if p == nil {
		return nil
	}
	return p.append(recDelete, func(w *recordWriter) {
		w.queue(q)
		w.uint(uint64(len(ids)))
		for _, id := range ids {
			w.id(id)
		}
	})
}

func (p *persister) receive(q *queue, got []received) {
	if p == nil {
		return
	}
	p.append(recReceiveState, func(w *recordWriter) {
		w.queue(q)
		w.uint(uint64(len(got)))
		for _, r := range got {
			w.id(r.m.id)
			w.receiveState(r.m)
		}
	})
}

func (p *persister) receiveState(q *queue, msgs []*message) {
	if p == nil || len(msgs) == 0 {
		return
	}
	p.append(recReceiveState, func(w *recordWriter) {
		w.queue(q)
		w.uint(uint64(len(msgs)))
		for _, m := range msgs {
			w.id(m.id)
			w.receiveState(m)
		}
	})
}

// redrive records messages moved from src to dlq (dlq.mu held): their ids,
// and the sequence numbers they got in a FIFO dead-letter queue.
func (p *persister) redrive(src, dlq *queue, copies []*message) {
	if p == nil {
		return
	}
	p.append(recRedrive, func(w *recordWriter) {
		w.queue(src)
		w.queue(dlq)
		w.uint(uint64(len(copies)))
		for _, m := range copies {
			w.id(m.id)
			w.uint(m.seq)
			w.int(m.visibleAt)
		}
	})
}

// compact is the goroutine that snapshots the journal when it has grown
// enough; it ends with the server.
func (s *Server) compact() {
	defer s.wg.Done()
	p := s.wal
	for {
		select {
		case <-s.done:
			return
		case <-p.kick:
		}
		live := s.liveBytes()
		if threshold := max(p.minBytes, 4*live); p.appended.Load() <= threshold {
			p.trigger.Store(threshold)
			continue
		}
		if err := s.snapshot(); err != nil {
			s.log.Error("sqslocal.snapshot_failed", "err", err)
			p.trigger.Store(p.appended.Load() + p.minBytes) // retry later, not in a loop
			continue
		}
		p.trigger.Store(max(p.minBytes, 4*s.liveBytes()))
	}
}

// liveBytes estimates the size of the state a snapshot writes.
func (s *Server) liveBytes() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	for _, q := range s.queues {
		q.mu.Lock()
		n += q.bytes + 128*int64(len(q.msgs))
		q.mu.Unlock()
	}
	return n
}

// snapshot replaces the journal with the current state.
func (s *Server) snapshot() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	now := s.nowNS()
	var size int64
	err := s.wal.j.Snapshot(func(emit func(rec []byte) error) error {
		w := newRecord(nil, 0)
		out := func(t recordType, build func(w *recordWriter)) error {
			w = newRecord(w.b, t)
			build(&w)
			size += int64(len(w.b)) + 8
			return emit(w.b)
		}
		for _, name := range slices.Sorted(maps.Keys(s.deleted)) {
			if err := out(recDeleteQueue, func(w *recordWriter) { w.str(name); w.int(s.deleted[name]) }); err != nil {
				return err
			}
		}
		for _, name := range slices.Sorted(maps.Keys(s.queues)) {
			q := s.queues[name]
			if err := s.snapshotQueue(q, now, out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.wal.appended.Store(size)
	s.log.Info("sqslocal.snapshot", "bytes", size, "queues", len(s.queues))
	return nil
}

func (s *Server) snapshotQueue(q *queue, now int64, out func(recordType, func(*recordWriter)) error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.advance(now)
	if err := out(recQueue, func(w *recordWriter) { w.queueState(q) }); err != nil {
		return err
	}
	if q.cfg.fifo {
		refs := q.dedup.live(now)
		for chunk := range slices.Chunk(refs, 256) {
			err := out(recDedup, func(w *recordWriter) {
				w.queue(q)
				w.uint(uint64(len(chunk)))
				for _, ref := range chunk {
					e := q.dedup.entries[ref.key]
					w.str(ref.key)
					w.id(e.id)
					w.uint(e.seq)
					w.int(e.expires)
				}
			})
			if err != nil {
				return err
			}
		}
	}
	msgs := make([]*message, 0, len(q.msgs))
	for _, m := range q.msgs {
		msgs = append(msgs, m)
	}
	// Sequence order keeps FIFO groups in order; sent order otherwise.
	slices.SortFunc(msgs, func(a, b *message) int { return cmp.Or(cmp.Compare(a.seq, b.seq), cmp.Compare(a.sentAt, b.sentAt)) })
	for chunk := range messageChunks(msgs) {
		err := out(recMessages, func(w *recordWriter) {
			w.queue(q)
			w.uint(0) // no dedup registration: the entries were written above
			w.uint(uint64(len(chunk)))
			for _, m := range chunk {
				w.message(m)
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// messageChunks splits msgs into groups small enough for one record: at
// most 256 messages and about 4 MiB.
func messageChunks(msgs []*message) func(yield func([]*message) bool) {
	return func(yield func([]*message) bool) {
		start, size := 0, 0
		for i, m := range msgs {
			if i > start && (i-start == 256 || size+m.size > 4<<20) {
				if !yield(msgs[start:i]) {
					return
				}
				start, size = i, 0
			}
			size += m.size + 256
		}
		if start < len(msgs) {
			yield(msgs[start:])
		}
	}
}
