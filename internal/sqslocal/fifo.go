package sqslocal

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"time"
)

// FIFO queues deliver each message group in order and hold a group back
// while any of its messages is in flight. A group's messages stay in its
// list, in sequence order, until deleted; a group with no message in flight
// waits in queue.readyGroups, in the order groups became ready, so receives
// rotate fairly between groups and take as many messages of one group as
// they can, as SQS does.

// group is one message group of a FIFO queue.
type group struct {
	id         string
	msgs       messageList
	inflight   int
	prev, next *group
	listed     bool // in queue.readyGroups
}

// groupList is an intrusive doubly linked list of groups.
type groupList struct{ head, tail *group }

func (l *groupList) pushBack(g *group) {
	g.prev, g.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = g
	} else {
		l.head = g
	}
	l.tail = g
	g.listed = true
}

func (l *groupList) unlink(g *group) {
	if !g.listed {
		return
	}
	if g.prev != nil {
		g.prev.next = g.next
	} else {
		l.head = g.next
	}
	if g.next != nil {
		g.next.prev = g.prev
	} else {
		l.tail = g.prev
	}
	g.prev, g.next, g.listed = nil, nil, false
}

func (q *queue) appendToGroup(m *message) {
	g := q.groups[m.groupID]
	if g == nil {
		g = &group{id: m.groupID}
		q.groups[m.groupID] = g
	}
	m.group = g
	g.msgs.pushBack(m)
	q.updateGroup(g)
}

func (q *queue) removeFromGroup(m *message) {
	g := m.group
	g.msgs.unlink(m)
	m.group = nil
	if g.msgs.head == nil {
		q.readyGroups.unlink(g)
		delete(q.groups, g.id)
		return
	}
	q.updateGroup(g)
}

// updateGroup lists g as ready exactly when none of its messages is in
// flight and it has messages.
func (q *queue) updateGroup(g *group) {
	ready := g.inflight == 0 && g.msgs.head != nil
	if ready == g.listed {
		return
	}
	if ready {
		q.readyGroups.pushBack(g)
		q.signal()
	} else {
		q.readyGroups.unlink(g)
	}
}

// dedupInterval is the FIFO deduplication window.
const dedupInterval = 5 * time.Minute

// seqBase makes sequence numbers 20 digits long, like SQS's, so they also
// sort as strings.
const seqBase = 10_000_000_000_000_000_000

func formatSeq(seq uint64) string { return strconv.FormatUint(seqBase+seq, 10) }

// dedupKey is the key a FIFO send is deduplicated on, within the queue or
// within the message group depending on DeduplicationScope.
func dedupKey(cfg *queueConfig, groupID, dedupID string) string {
	if cfg.dedupScope == "messageGroup" {
		return groupID + "\x00" + dedupID
	}
	return dedupID
}

// contentDedupID is the deduplication id ContentBasedDeduplication derives
// from a body: its SHA-256, hex encoded.
func contentDedupID(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// dedupWindow remembers the sends of the last five minutes by
// deduplication key. Entries expire in insertion order, which is expiry
// order since every entry lives for the same interval.
type dedupWindow struct {
	entries map[string]dedupEntry
	order   []dedupRef
	head    int
}

type dedupEntry struct {
	id      msgID
	seq     uint64
	expires int64 // unix ns
}

type dedupRef struct {
	key     string
	expires int64
}

func (w *dedupWindow) lookup(key string, now int64) (dedupEntry, bool) {
	e, ok := w.entries[key]
	if !ok || e.expires <= now {
		return dedupEntry{}, false
	}
	return e, true
}

func (w *dedupWindow) add(key string, e dedupEntry) {
	if w.entries == nil {
		w.entries = map[string]dedupEntry{}
	}
	w.entries[key] = e
	w.order = append(w.order, dedupRef{key: key, expires: e.expires})
}

func (w *dedupWindow) expire(now int64) {
	for w.head < len(w.order) && w.order[w.head].expires <= now {
		ref := w.order[w.head]
		if e, ok := w.entries[ref.key]; ok && e.expires == ref.expires {
			delete(w.entries, ref.key)
		}
		w.order[w.head] = dedupRef{}
		w.head++
	}
	if w.head > 1024 && w.head*2 > len(w.order) {
		w.order = slices.Clone(w.order[w.head:])
		w.head = 0
	}
}

// live returns the unexpired entries in expiry order, for a snapshot.
func (w *dedupWindow) live(now int64) []dedupRef {
	var out []dedupRef
	for _, ref := range w.order[w.head:] {
		if e, ok := w.entries[ref.key]; ok && e.expires == ref.expires && e.expires > now {
			out = append(out, ref)
		}
	}
	return out
}
