package sqslocal

import (
	"encoding/hex"
	"math/rand/v2"
	"sync"
)

// queue is one SQS queue: its configuration and messages. Every field is
// guarded by mu, which is only taken while holding Server.mu for reading
// (or writing), so holding Server.mu for writing excludes all queue work.
//
// A message is in exactly one state. Delayed and in-flight messages wait in
// timers, ordered by the time they become visible; visible messages of a
// standard queue wait in ready, in delivery order. A FIFO queue keeps each
// group's messages in sequence order instead (see fifo.go). Every message is
// also in byAge, ordered by sent time, for the retention period.
type queue struct {
	mu sync.Mutex

	name        string
	arn         string
	incarnation uint64 // distinguishes receipt handles of a re-created queue
	cfg         queueConfig
	createdAt   int64 // unix ns
	modifiedAt  int64
	tags        map[string]string
	lastPurge   int64 // unix ns of the last PurgeQueue, 0 if none

	msgs      map[msgID]*message
	ready     messageList
	timers    messageHeap
	byAge     messageHeap
	nDelayed  int
	nInflight int
	bytes     int64 // sum of message sizes, for snapshot decisions

	// FIFO only.
	groups      map[string]*group
	readyGroups groupList
	dedup       dedupWindow
	seq         uint64 // last sequence number given

	avail   chan struct{} // closed when messages may have become receivable
	gone    chan struct{} // closed when the queue is deleted
	deleted bool
}

type msgState uint8

const (
	stateDelayed msgState = iota
	stateReady
	stateInflight
)

type msgID [16]byte

func newMsgID() msgID {
	var id msgID
	a, b := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		id[i] = byte(a >> (8 * i))
		id[8+i] = byte(b >> (8 * i))
	}
	id[6] = id[6]&0x0f | 0x40 // UUID version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id
}

// String formats id as a UUID, the form of SQS message ids.
func (id msgID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:], id[10:])
	return string(b[:])
}

// message is one stored message. Fields above the state block never change
// after the message is stored, so a received message can be rendered
// outside the queue lock from them and a snapshot of the rest.
type message struct {
	id        msgID
	idStr     string
	body      string
	md5Body   string
	attrs     []messageAttribute // sorted by name
	md5Attrs  string
	sysAttrs  []messageAttribute // AWSTraceHeader
	md5Sys    string
	senderID  string
	sentAt    int64 // unix ns
	size      int
	groupID   string
	dedupID   string
	seq       uint64 // FIFO sequence number
	dlqSource string // DeadLetterQueueSourceArn after a redrive

	state        msgState
	visibleAt    int64 // unix ns: end of the delay or of the visibility timeout
	receiveCount int
	firstReceive int64 // unix ns, 0 until received
	receivedAt   int64 // unix ns of the current receive, for the 12-hour cap
	nonce        uint64

	timerIdx   int
	ageIdx     int
	prev, next *message // in queue.ready, or in the group's list for FIFO
	group      *group
}

func newQueue(name, arn string, cfg queueConfig, incarnation uint64, now int64) *queue {
	q := &queue{
		name:        name,
		arn:         arn,
		incarnation: incarnation,
		cfg:         cfg,
		createdAt:   now,
		modifiedAt:  now,
		tags:        map[string]string{},
		msgs:        map[msgID]*message{},
		timers:      messageHeap{key: func(m *message) int64 { return m.visibleAt }, idx: func(m *message) *int { return &m.timerIdx }},
		byAge:       messageHeap{key: func(m *message) int64 { return m.sentAt }, idx: func(m *message) *int { return &m.ageIdx }},
		gone:        make(chan struct{}),
	}
	if cfg.fifo {
		q.groups = map[string]*group{}
	}
	return q
}

// signal wakes every receive waiting for messages on q.
func (q *queue) signal() {
	if q.avail != nil {
		close(q.avail)
		q.avail = nil
	}
}

// waitChan returns a channel closed at the next signal.
func (q *queue) waitChan() <-chan struct{} {
	if q.avail == nil {
		q.avail = make(chan struct{})
	}
	return q.avail
}

// nextDue is when the earliest delayed or in-flight message becomes
// visible, 0 if there is none.
func (q *queue) nextDue() int64 {
	if m := q.timers.min(); m != nil {
		return m.visibleAt
	}
	return 0
}

// advance applies what time did since the last call: delays and visibility
// timeouts that ended make messages visible; messages past the retention
// period disappear.
func (q *queue) advance(now int64) {
	for {
		m := q.timers.min()
		if m == nil || m.visibleAt > now {
			break
		}
		q.timers.remove(m)
		q.makeVisible(m)
	}
	retention := int64(q.cfg.retentionSeconds) * 1e9
	for {
		m := q.byAge.min()
		if m == nil || m.sentAt+retention > now {
			break
		}
		q.remove(m)
	}
	if q.cfg.fifo {
		q.dedup.expire(now)
	}
}

// insert stores m. A fresh message is delayed until m.visibleAt (visible at
// once if that is not after now); a message restored from a snapshot in
// flight stays in flight until m.visibleAt.
func (q *queue) insert(m *message, now int64) {
	m.timerIdx, m.ageIdx = -1, -1
	q.msgs[m.id] = m
	q.byAge.push(m)
	q.bytes += int64(m.size)
	if q.cfg.fifo {
		q.appendToGroup(m)
	}
	if m.state == stateInflight && m.visibleAt > now {
		q.nInflight++
		if m.group != nil {
			m.group.inflight++
			q.updateGroup(m.group)
		}
		q.timers.push(m)
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

// makeVisible moves a delayed or in-flight message (already out of timers)
// to the visible state.
func (q *queue) makeVisible(m *message) {
	switch m.state {
	case stateDelayed:
		q.nDelayed--
	case stateInflight:
		q.nInflight--
		if m.group != nil {
			m.group.inflight--
		}
	case stateReady:
		return
	}
	m.state = stateReady
	if m.group != nil {
		q.updateGroup(m.group)
	} else {
		q.ready.pushBack(m)
	}
	q.signal()
}

// claim marks a visible message received until visibleAt.
func (q *queue) claim(m *message, now, visibleAt int64) {
	if m.group == nil {
		q.ready.unlink(m)
	}
	m.state = stateInflight
	m.visibleAt = visibleAt
	m.receiveCount++
	if m.firstReceive == 0 {
		m.firstReceive = now
	}
	m.receivedAt = now
	m.nonce = rand.Uint64() | 1 // never 0: 0 means "never received"
	q.nInflight++
	q.timers.push(m)
	if m.group != nil {
		m.group.inflight++
		q.updateGroup(m.group)
	}
}

// setVisibility changes when an in-flight message becomes visible again; a
// time not after now makes it visible at once.
func (q *queue) setVisibility(m *message, visibleAt, now int64) {
	m.visibleAt = visibleAt
	if visibleAt <= now {
		q.timers.remove(m)
		q.makeVisible(m)
		return
	}
	q.timers.fix(m)
}

// remove deletes m from the queue, whatever its state.
func (q *queue) remove(m *message) {
	delete(q.msgs, m.id)
	q.byAge.remove(m)
	q.bytes -= int64(m.size)
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
	if m.group != nil {
		q.removeFromGroup(m)
	}
}

// purge deletes every message.
func (q *queue) purge() {
	for _, m := range q.msgs {
		q.remove(m)
	}
}

// counts returns the approximate numbers SQS reports: visible, in flight,
// delayed.
func (q *queue) counts() (visible, inflight, delayed int) {
	return len(q.msgs) - q.nInflight - q.nDelayed, q.nInflight, q.nDelayed
}

// messageList is an intrusive doubly linked list of messages.
type messageList struct {
	head, tail *message
	n          int
}

func (l *messageList) pushBack(m *message) {
	m.prev, m.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = m
	} else {
		l.head = m
	}
	l.tail = m
	l.n++
}

func (l *messageList) unlink(m *message) {
	if m.prev != nil {
		m.prev.next = m.next
	} else if l.head == m {
		l.head = m.next
	} else {
		return // not in the list
	}
	if m.next != nil {
		m.next.prev = m.prev
	} else {
		l.tail = m.prev
	}
	m.prev, m.next = nil, nil
	l.n--
}

// messageHeap is a min-heap of messages on key, each message recording its
// index so it can be removed or re-ordered in O(log n).
type messageHeap struct {
	items []*message
	key   func(*message) int64
	idx   func(*message) *int
}

func (h *messageHeap) min() *message {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

func (h *messageHeap) push(m *message) {
	*h.idx(m) = len(h.items)
	h.items = append(h.items, m)
	h.up(len(h.items) - 1)
}

func (h *messageHeap) remove(m *message) {
	i := *h.idx(m)
	if i < 0 || i >= len(h.items) || h.items[i] != m {
		return
	}
	last := len(h.items) - 1
	if i != last {
		h.swap(i, last)
	}
	h.items[last] = nil
	h.items = h.items[:last]
	*h.idx(m) = -1
	if i != last {
		h.down(i)
		h.up(i)
	}
}

func (h *messageHeap) fix(m *message) {
	i := *h.idx(m)
	if i < 0 || i >= len(h.items) || h.items[i] != m {
		h.push(m)
		return
	}
	h.down(i)
	h.up(i)
}

func (h *messageHeap) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	*h.idx(h.items[i]) = i
	*h.idx(h.items[j]) = j
}

func (h *messageHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h.key(h.items[p]) <= h.key(h.items[i]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *messageHeap) down(i int) {
	n := len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && h.key(h.items[r]) < h.key(h.items[l]) {
			c = r
		}
		if h.key(h.items[i]) <= h.key(h.items[c]) {
			return
		}
		h.swap(i, c)
		i = c
	}
}
