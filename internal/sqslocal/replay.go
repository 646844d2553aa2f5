package sqslocal

import "fmt"

// apply replays one journal record into the state. It runs before the
// server serves anything, so it takes no locks. A record that does not
// decode is an error: New fails rather than serve a state it cannot trust.
func (s *Server) apply(rec []byte) error {
	if len(rec) < 2 || rec[0] != recordVersion {
		return fmt.Errorf("sqslocal record: unknown format version (%d bytes)", len(rec))
	}
	r := &recordReader{b: rec[2:]}
	t := recordType(rec[1])
	now := s.nowNS()
	switch t {
	case recQueue:
		s.applyQueue(r, now)
	case recDeleteQueue:
		name, at := r.str(), r.int()
		if q := s.queues[name]; q != nil && r.err == nil {
			delete(s.queues, name)
			q.deleted = true
			close(q.gone)
		}
		s.deleted[name] = at
	case recPurge:
		q := s.replayQueue(r)
		at := r.int()
		if q != nil && r.err == nil {
			q.purge()
			q.lastPurge = at
		}
	case recMessages:
		q := s.replayQueue(r)
		flags := r.uint()
		n := r.count()
		for range n {
			m := r.message()
			if q == nil || r.err != nil {
				continue
			}
			s.replayMessage(q, m, flags&flagRegisterDedup != 0, now)
		}
	case recDelete:
		q := s.replayQueue(r)
		n := r.count()
		for range n {
			id := r.id()
			if q == nil {
				continue
			}
			if m := q.msgs[id]; m != nil {
				q.remove(m)
			}
		}
	case recReceiveState:
		q := s.replayQueue(r)
		n := r.count()
		for range n {
			id := r.id()
			st := r.receiveStateFields()
			if q == nil || r.err != nil {
				continue
			}
			if m := q.msgs[id]; m != nil {
				q.restoreReceiveState(m, st, now)
			}
		}
	case recRedrive:
		src, dlq := s.replayQueue(r), s.replayQueue(r)
		n := r.count()
		for range n {
			id, seq, visibleAt := r.id(), r.uint(), r.int()
			if src == nil || dlq == nil || r.err != nil {
				continue
			}
			old := src.msgs[id]
			if old == nil {
				continue
			}
			src.remove(old)
			m := redriveCopy(old, src.arn, visibleAt)
			m.seq = seq
			dlq.seq = max(dlq.seq, seq)
			dlq.insert(m, now)
		}
	case recDedup:
		q := s.replayQueue(r)
		n := r.count()
		for range n {
			key, id, seq, expires := r.str(), r.id(), r.uint(), r.int()
			if q != nil && r.err == nil {
				q.dedup.add(key, dedupEntry{id: id, seq: seq, expires: expires})
			}
		}
	default:
		return fmt.Errorf("sqslocal record: unknown type %d", t)
	}
	if r.err != nil {
		return fmt.Errorf("sqslocal record type %d: %w", t, r.err)
	}
	return nil
}

// replayQueue reads a queue reference; nil if that queue (incarnation) no
// longer exists, whose records are then skipped.
func (s *Server) replayQueue(r *recordReader) *queue {
	name, incarnation := r.str(), r.uint()
	q := s.queues[name]
	if q == nil || q.incarnation != incarnation {
		return nil
	}
	return q
}

func (s *Server) applyQueue(r *recordReader, now int64) {
	name, incarnation := r.str(), r.uint()
	createdAt, modifiedAt, lastPurge, seq := r.int(), r.int(), r.int(), r.uint()
	attrs, tags := r.strMap(), r.strMap()
	if r.err != nil {
		return
	}
	cfg, err := configFromAttributes(attrs)
	if err != nil {
		r.fail(fmt.Errorf("queue %s: %v", name, err))
		return
	}
	if cfg.redrive.enabled() {
		cfg.redrive.target, _ = s.queueNameFromARN(cfg.redrive.targetARN)
	}
	q := s.queues[name]
	if q == nil || q.incarnation != incarnation {
		q = newQueue(name, s.queueARN(name), cfg, incarnation, createdAt)
		s.queues[name] = q
		delete(s.deleted, name)
	}
	q.cfg = cfg
	q.createdAt, q.modifiedAt, q.lastPurge = createdAt, modifiedAt, lastPurge
	q.seq = max(q.seq, seq)
	q.tags = tags
	q.advance(now)
}

func (s *Server) replayMessage(q *queue, m *message, registerDedup bool, now int64) {
	if old := q.msgs[m.id]; old != nil {
		q.remove(old)
	}
	q.seq = max(q.seq, m.seq)
	if registerDedup && q.cfg.fifo && m.dedupID != "" {
		q.dedup.add(dedupKey(&q.cfg, m.groupID, m.dedupID), dedupEntry{id: m.id, seq: m.seq, expires: m.sentAt + int64(dedupInterval)})
	}
	q.insert(m, now)
}
