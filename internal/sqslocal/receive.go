package sqslocal

import (
	"strconv"
	"time"
)

// ReceiveMessage, with long polling and dead-letter redrive.
//
// A receive claims messages only at the moment it answers: while waiting it
// holds no message and no lock, and a receive whose client went away (its
// context is cancelled) claims nothing. If the response then cannot be
// written, what it claimed is released again.

type receiveInput struct {
	QueueUrl                    string
	AttributeNames              []string
	MessageSystemAttributeNames []string
	MessageAttributeNames       []string
	MaxNumberOfMessages         *int64
	VisibilityTimeout           *int64
	WaitTimeSeconds             *int64
	ReceiveRequestAttemptId     *string
}

// received is a claimed message as it will be rendered: the message (whose
// content never changes) and a copy of its receive state at claim time.
type received struct {
	m            *message
	receiveCount int
	firstReceive int64
	nonce        uint64
	handle       string
}

func (s *Server) receiveMessage(c *call) *apiError {
	var in receiveInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	limit := int64(1)
	if in.MaxNumberOfMessages != nil {
		limit = *in.MaxNumberOfMessages
		if limit < 1 || limit > maxBatchEntries {
			return errInvalidParameter("MaxNumberOfMessages", limit, "Must be between 1 and 10, if provided.")
		}
	}
	if v := in.VisibilityTimeout; v != nil && (*v < 0 || *v > maxVisibility) {
		return errInvalidParameter("VisibilityTimeout", *v, "Must be between 0 and 43200, if provided.")
	}
	if v := in.WaitTimeSeconds; v != nil && (*v < 0 || *v > maxWait) {
		return errInvalidParameter("WaitTimeSeconds", *v, "Must be >= 0 and <= 20, if provided.")
	}
	if v := in.ReceiveRequestAttemptId; v != nil && (len(*v) > 128 || !validFIFOToken(*v)) {
		return errInvalidParameter("ReceiveRequestAttemptId", *v, "ReceiveRequestAttemptId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
	}
	sys, err := parseSystemAttributeNames(in.AttributeNames, in.MessageSystemAttributeNames)
	if err != nil {
		return err
	}

	var deadline time.Time
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for first := true; ; first = false {
		a, err := s.tryReceive(c, &in, int(limit))
		if err != nil {
			return err
		}
		if len(a.got) > 0 {
			s.writeReceived(c, a.got, sys, in.MessageAttributeNames)
			c.afterWrite = func(delivered bool) {
				if !delivered {
					s.release(a.q, a.got)
				}
			}
			return nil
		}
		if a.wake == nil {
			return nil // cancelled: answer empty, having claimed nothing
		}
		if first {
			wait := a.wait
			if in.WaitTimeSeconds != nil {
				wait = time.Duration(*in.WaitTimeSeconds) * time.Second
			}
			deadline = time.Now().Add(min(wait, s.maxLongPoll))
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return nil
		}
		if a.due > 0 {
			remaining = min(remaining, a.due)
		}
		if timer == nil {
			timer = time.NewTimer(remaining)
		} else {
			timer.Reset(remaining)
		}
		s.polling.Add(1)
		select {
		case <-a.wake:
		case <-timer.C:
		case <-c.ctx.Done():
		case <-s.done:
		case <-a.q.gone:
		}
		s.polling.Add(-1)
		if c.ctx.Err() != nil || isClosed(a.q.gone) || isClosed(s.done) {
			return nil
		}
	}
}

// attempt is the outcome of one try at receiving.
type attempt struct {
	got []received
	q   *queue
	// With nothing received: wake is closed when messages may have become
	// receivable (nil when the client has gone), due is when the next
	// delayed or in-flight message becomes visible (0: none), and wait is
	// the queue's ReceiveMessageWaitTimeSeconds.
	wake <-chan struct{}
	due  time.Duration
	wait time.Duration
}

// tryReceive claims up to limit messages.
func (s *Server) tryReceive(c *call, in *receiveInput, limit int) (attempt, *apiError) {
	if err := s.begin(); err != nil {
		return attempt{}, err
	}
	defer s.mu.RUnlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return attempt{}, err
	}
	a := attempt{q: q, wait: time.Duration(q.cfg.waitSeconds) * time.Second}
	visibility := int64(q.cfg.visibilitySeconds)
	if in.VisibilityTimeout != nil {
		visibility = *in.VisibilityTimeout
	}
	var dlq *queue
	if q.cfg.redrive.enabled() {
		dlq = s.queues[q.cfg.redrive.target]
	}

	q.mu.Lock()
	if c.ctx.Err() != nil {
		q.mu.Unlock()
		return a, nil
	}
	now := s.nowNS()
	q.advance(now)
	var moved []*message
	a.got, moved = q.take(limit, now, now+visibility*1e9, dlq)
	if len(a.got) > 0 {
		s.wal.receive(q, a.got)
	} else {
		a.wake = q.waitChan()
		if next := q.nextDue(); next > 0 {
			a.due = time.Duration(next - now)
		}
	}
	q.mu.Unlock()
	if len(moved) > 0 {
		s.moveToDeadLetterQueue(q, dlq, moved, now)
	}
	return a, nil
}

// take claims up to limit visible messages until visibleAt. Messages that
// were already received maxReceiveCount times move to the dead-letter
// queue instead (returned in moved, already removed from q), as SQS moves
// them on the receive that would exceed the count. q.mu must be held.
func (q *queue) take(limit int, now, visibleAt int64, dlq *queue) (got []received, moved []*message) {
	maxReceives := q.cfg.redrive.maxReceiveCount
	claim := func(m *message) {
		if dlq != nil && m.receiveCount >= maxReceives {
			q.remove(m)
			moved = append(moved, m)
			return
		}
		q.claim(m, now, visibleAt)
		got = append(got, received{m: m, receiveCount: m.receiveCount, firstReceive: m.firstReceive, nonce: m.nonce,
			handle: receipt{incarnation: q.incarnation, id: m.id, nonce: m.nonce}.String()})
	}
	if !q.cfg.fifo {
		for len(got) < limit && q.ready.head != nil {
			claim(q.ready.head)
		}
		return got, moved
	}
	// FIFO: as many messages of one group as possible, then the next group;
	// a group whose head is still delayed is skipped.
	for g := q.readyGroups.head; g != nil && len(got) < limit; {
		next := g.next
		for m := g.msgs.head; m != nil && len(got) < limit && m.state == stateReady; {
			after := m.next
			claim(m)
			m = after
		}
		g = next
	}
	return got, moved
}

// moveToDeadLetterQueue stores redriven messages in the dead-letter queue,
// visible at once with a fresh receive count. s.mu must be held for reading.
func (s *Server) moveToDeadLetterQueue(src, dlq *queue, moved []*message, now int64) {
	dlq.mu.Lock()
	defer dlq.mu.Unlock()
	dlq.advance(now)
	copies := make([]*message, len(moved))
	for i, old := range moved {
		m := redriveCopy(old, src.arn, now)
		if dlq.cfg.fifo {
			dlq.seq++
			m.seq = dlq.seq
		}
		dlq.insert(m, now)
		copies[i] = m
	}
	s.wal.redrive(src, dlq, copies)
}

// redriveCopy is the message as it arrives in a dead-letter queue: same id,
// body, attributes and sent time, never received.
func redriveCopy(old *message, sourceARN string, now int64) *message {
	m := *old
	m.dlqSource = sourceARN
	m.state = stateDelayed
	m.visibleAt = now
	m.receiveCount, m.firstReceive, m.receivedAt, m.nonce = 0, 0, 0, 0
	m.prev, m.next, m.group = nil, nil, nil
	m.timerIdx, m.ageIdx = -1, -1
	return &m
}

// release makes messages a failed response claimed visible again, as if
// that receive never happened.
func (s *Server) release(q *queue, got []received) {
	if s.begin() != nil {
		return
	}
	defer s.mu.RUnlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return
	}
	now := s.nowNS()
	var changed []*message
	for _, r := range got {
		m := q.msgs[r.m.id]
		if m == nil || m.nonce != r.nonce || m.state != stateInflight {
			continue
		}
		m.receiveCount--
		if m.receiveCount == 0 {
			m.firstReceive = 0
		}
		q.setVisibility(m, now, now)
		changed = append(changed, m)
	}
	s.wal.receiveState(q, changed)
}

// Message system attributes a receive can ask for, as a bit set.
const (
	sysSenderID = 1 << iota
	sysFirstReceive
	sysReceiveCount
	sysSentTimestamp
	sysSequenceNumber
	sysDedupID
	sysGroupID
	sysTraceHeader
	sysDLQSource
	sysAll = 1<<iota - 1
)

var systemAttributeBits = map[string]int{
	"All":                              sysAll,
	"SenderId":                         sysSenderID,
	"ApproximateFirstReceiveTimestamp": sysFirstReceive,
	"ApproximateReceiveCount":          sysReceiveCount,
	"SentTimestamp":                    sysSentTimestamp,
	"SequenceNumber":                   sysSequenceNumber,
	"MessageDeduplicationId":           sysDedupID,
	"MessageGroupId":                   sysGroupID,
	"AWSTraceHeader":                   sysTraceHeader,
	"DeadLetterQueueSourceArn":         sysDLQSource,
}

// parseSystemAttributeNames merges the deprecated AttributeNames (which
// may also hold queue attribute names, ignored) and
// MessageSystemAttributeNames.
func parseSystemAttributeNames(attributeNames, systemNames []string) (int, *apiError) {
	bits := 0
	for _, n := range attributeNames {
		b, ok := systemAttributeBits[n]
		if !ok && !isQueueAttributeName(n) {
			return 0, kindInvalidAttributeName.new("Unknown Attribute %s.", n)
		}
		bits |= b
	}
	for _, n := range systemNames {
		b, ok := systemAttributeBits[n]
		if !ok {
			return 0, kindInvalidAttributeName.new("Unknown Attribute %s.", n)
		}
		bits |= b
	}
	return bits, nil
}

func isQueueAttributeName(n string) bool {
	for _, a := range readableAttributes {
		if a == n {
			return true
		}
	}
	return false
}

// writeReceived renders a ReceiveMessage response.
func (s *Server) writeReceived(c *call, got []received, sys int, attrNames []string) {
	w := c.out
	w.openObject()
	w.key("Messages")
	w.openArray()
	for i := range got {
		r := &got[i]
		m := r.m
		w.openObject()
		w.field("MessageId", m.idStr)
		w.field("ReceiptHandle", r.handle)
		w.field("MD5OfBody", m.md5Body)
		w.field("Body", m.body)
		if sys != 0 {
			writeSystemAttributes(w, r, sys)
		}
		if attrs := selectAttributes(m.attrs, attrNames); len(attrs) > 0 {
			md5 := m.md5Attrs
			if len(attrs) != len(m.attrs) {
				md5 = md5OfAttributes(attrs)
			}
			w.field("MD5OfMessageAttributes", md5)
			w.key("MessageAttributes")
			w.openObject()
			for j := range attrs {
				a := &attrs[j]
				w.key(a.name)
				w.openObject()
				if a.binary() {
					w.key("BinaryValue")
					w.blob(a.bin)
				} else {
					w.field("StringValue", a.str)
				}
				w.field("DataType", a.dataType)
				w.closeObject()
			}
			w.closeObject()
		}
		w.closeObject()
	}
	w.closeArray()
	w.closeObject()
}

func writeSystemAttributes(w *jsonWriter, r *received, sys int) {
	m := r.m
	w.key("Attributes")
	w.openObject()
	if sys&sysSenderID != 0 {
		w.field("SenderId", m.senderID)
	}
	if sys&sysFirstReceive != 0 {
		w.field("ApproximateFirstReceiveTimestamp", epochMillis(r.firstReceive))
	}
	if sys&sysReceiveCount != 0 {
		w.field("ApproximateReceiveCount", strconv.Itoa(r.receiveCount))
	}
	if sys&sysSentTimestamp != 0 {
		w.field("SentTimestamp", epochMillis(m.sentAt))
	}
	if sys&sysSequenceNumber != 0 && m.seq != 0 {
		w.field("SequenceNumber", formatSeq(m.seq))
	}
	if sys&sysDedupID != 0 && m.dedupID != "" {
		w.field("MessageDeduplicationId", m.dedupID)
	}
	if sys&sysGroupID != 0 && m.groupID != "" {
		w.field("MessageGroupId", m.groupID)
	}
	if sys&sysTraceHeader != 0 && len(m.sysAttrs) > 0 {
		w.field("AWSTraceHeader", m.sysAttrs[0].str)
	}
	if sys&sysDLQSource != 0 && m.dlqSource != "" {
		w.field("DeadLetterQueueSourceArn", m.dlqSource)
	}
	w.closeObject()
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
