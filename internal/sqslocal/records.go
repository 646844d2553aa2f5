package sqslocal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Journal records. Every state change appends one record, under the lock
// that orders the change, so the log replays into the same state. A record
// is a format version byte, a type byte and the type's fields: varints,
// length-prefixed strings and fixed 16-byte message ids.

const recordVersion = 1

type recordType byte

const (
	recQueue        recordType = 1 // a queue's full configuration: create, set attributes, tags
	recDeleteQueue  recordType = 2
	recPurge        recordType = 3
	recMessages     recordType = 4 // messages stored by a send (or restored by a snapshot)
	recDelete       recordType = 5
	recReceiveState recordType = 6 // receive, visibility change, release
	recRedrive      recordType = 7 // messages moved to a dead-letter queue
	recDedup        recordType = 8 // FIFO deduplication entries (snapshots)
)

// recMessages flags.
const flagRegisterDedup = 1 // a live send: also enter the dedup window

// recordWriter builds one record.
type recordWriter struct{ b []byte }

func newRecord(buf []byte, t recordType) recordWriter {
	return recordWriter{b: append(buf[:0], recordVersion, byte(t))}
}

func (w *recordWriter) uint(v uint64)  { w.b = binary.AppendUvarint(w.b, v) }
func (w *recordWriter) int(v int64)    { w.b = binary.AppendVarint(w.b, v) }
func (w *recordWriter) str(s string)   { w.uint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *recordWriter) bytes(p []byte) { w.uint(uint64(len(p))); w.b = append(w.b, p...) }
func (w *recordWriter) id(id msgID)    { w.b = append(w.b, id[:]...) }
func (w *recordWriter) queue(q *queue) { w.str(q.name); w.uint(q.incarnation) }
func (w *recordWriter) strMap(m map[string]string) {
	w.uint(uint64(len(m)))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		w.str(k)
		w.str(m[k])
	}
}

func (w *recordWriter) attrs(attrs []messageAttribute) {
	w.uint(uint64(len(attrs)))
	for i := range attrs {
		a := &attrs[i]
		w.str(a.name)
		w.str(a.dataType)
		w.str(a.str)
		w.bytes(a.bin)
	}
}

// message writes a message with its receive state.
func (w *recordWriter) message(m *message) {
	w.id(m.id)
	w.str(m.body)
	w.attrs(m.attrs)
	w.attrs(m.sysAttrs)
	w.str(m.senderID)
	w.int(m.sentAt)
	w.str(m.groupID)
	w.str(m.dedupID)
	w.uint(m.seq)
	w.str(m.dlqSource)
	w.receiveState(m)
}

func (w *recordWriter) receiveState(m *message) {
	w.b = append(w.b, byte(m.state))
	w.int(m.visibleAt)
	w.uint(uint64(m.receiveCount))
	w.int(m.firstReceive)
	w.int(m.receivedAt)
	w.uint(m.nonce)
}

func (w *recordWriter) queueState(q *queue) {
	w.queue(q)
	w.int(q.createdAt)
	w.int(q.modifiedAt)
	w.int(q.lastPurge)
	w.uint(q.seq)
	w.strMap(q.cfg.attributes())
	w.strMap(q.tags)
}

// recordReader decodes one record; the first error sticks.
type recordReader struct {
	b   []byte
	err error
}

var errShortRecord = errors.New("record ends early")

func (r *recordReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *recordReader) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(errShortRecord)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) int() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(errShortRecord)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) count() int {
	n := r.uint()
	if n > uint64(len(r.b)) { // every element takes at least a byte
		r.fail(fmt.Errorf("count %d exceeds the record", n))
		return 0
	}
	return int(n)
}

func (r *recordReader) raw() []byte {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.fail(errShortRecord)
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *recordReader) str() string { return string(r.raw()) }

func (r *recordReader) bytes() []byte {
	p := r.raw()
	if len(p) == 0 {
		return nil
	}
	return slices.Clone(p)
}

func (r *recordReader) byte() byte {
	if len(r.b) < 1 {
		r.fail(errShortRecord)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *recordReader) id() msgID {
	var id msgID
	if len(r.b) < len(id) {
		r.fail(errShortRecord)
		return id
	}
	copy(id[:], r.b)
	r.b = r.b[len(id):]
	return id
}

func (r *recordReader) strMap() map[string]string {
	n := r.count()
	m := make(map[string]string, n)
	for range n {
		k := r.str()
		m[k] = r.str()
	}
	return m
}

func (r *recordReader) attrs() []messageAttribute {
	n := r.count()
	if n == 0 {
		return nil
	}
	out := make([]messageAttribute, n)
	for i := range out {
		out[i] = messageAttribute{name: r.str(), dataType: r.str(), str: r.str(), bin: r.bytes()}
	}
	return out
}

func (r *recordReader) message() *message {
	m := &message{id: r.id(), body: r.str(), attrs: r.attrs(), sysAttrs: r.attrs(), senderID: r.str(), sentAt: r.int(),
		groupID: r.str(), dedupID: r.str(), seq: r.uint(), dlqSource: r.str()}
	r.receiveState(m)
	m.idStr = m.id.String()
	m.md5Body = md5Hex(m.body)
	m.md5Attrs = md5OfAttributes(m.attrs)
	m.md5Sys = md5OfAttributes(m.sysAttrs)
	m.size = len(m.body)
	for i := range m.attrs {
		m.size += m.attrs[i].size()
	}
	return m
}

// receiveStateFields is the receive state of one message in a record.
type receiveStateFields struct {
	state        msgState
	visibleAt    int64
	receiveCount int
	firstReceive int64
	receivedAt   int64
	nonce        uint64
}

func (r *recordReader) receiveState(m *message) {
	st := r.receiveStateFields()
	m.state, m.visibleAt, m.receiveCount = st.state, st.visibleAt, st.receiveCount
	m.firstReceive, m.receivedAt, m.nonce = st.firstReceive, st.receivedAt, st.nonce
}

func (r *recordReader) receiveStateFields() receiveStateFields {
	st := receiveStateFields{state: msgState(r.byte()), visibleAt: r.int(), receiveCount: int(r.uint()),
		firstReceive: r.int(), receivedAt: r.int(), nonce: r.uint()}
	if st.state > stateInflight {
		r.fail(fmt.Errorf("unknown message state %d", st.state))
	}
	return st
}

// restoreReceiveState applies a recorded receive state to m. q.mu must be
// held (or the server be replaying).
func (q *queue) restoreReceiveState(m *message, st receiveStateFields, now int64) {
	switch m.state {
	case stateDelayed:
		q.timers.remove(m)
		q.nDelayed--
	case stateInflight:
		q.timers.remove(m)
		q.nInflight--
		if m.group != nil {
			m.group.inflight--
		}
	case stateReady:
		if m.group == nil {
			q.ready.unlink(m)
		}
	}
	m.visibleAt, m.receiveCount, m.firstReceive, m.receivedAt, m.nonce = st.visibleAt, st.receiveCount, st.firstReceive, st.receivedAt, st.nonce
	if st.state == stateInflight && st.visibleAt > now {
		m.state = stateInflight
		q.nInflight++
		q.timers.push(m)
		if m.group != nil {
			m.group.inflight++
			q.updateGroup(m.group)
		}
		return
	}
	m.state = stateDelayed
	q.nDelayed++
	if m.visibleAt > now {
		q.timers.push(m)
		return
	}
	q.makeVisible(m)
}
