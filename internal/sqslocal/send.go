package sqslocal

import "strconv"

// sendInput is one message to send: SendMessage's input, or one entry of
// SendMessageBatch (which adds Id).
type sendInput struct {
	Id                      string
	QueueUrl                string
	MessageBody             *string
	DelaySeconds            *int64
	MessageAttributes       map[string]attributeValueInput
	MessageSystemAttributes map[string]attributeValueInput
	MessageDeduplicationId  *string
	MessageGroupId          *string
}

type sendBatchInput struct {
	QueueUrl string
	Entries  []sendInput
}

// sent is the outcome of one send: the stored message, or the original
// one when a FIFO send was deduplicated.
type sent struct {
	id       string
	md5Body  string
	md5Attrs string
	md5Sys   string
	seq      uint64
}

const (
	maxBatchEntries = 10
	// maxBatchPayload is the most a SendMessageBatch may carry in all, the
	// sum of its entries' sizes (AWS: 1 MiB, as a message at most).
	maxBatchPayload = maxMessageSizeLimit
)

func (s *Server) sendMessage(c *call) *apiError {
	var in sendInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		s.mu.RUnlock()
		return err
	}
	now := s.nowNS()
	m, key, err := s.buildMessage(&q.cfg, &in, c.sender, now)
	if err != nil {
		s.mu.RUnlock()
		return err
	}
	var res [1]sent
	q.mu.Lock()
	q.advance(now)
	stored := q.store([]*message{m}, []string{key}, res[:], now)
	p := s.wal.send(q, stored)
	q.mu.Unlock()
	s.mu.RUnlock()
	if err := s.wait(p); err != nil {
		return err
	}
	c.out.openObject()
	writeSent(c.out, &res[0])
	c.out.closeObject()
	return nil
}

func writeSent(w *jsonWriter, r *sent) {
	w.field("MessageId", r.id)
	w.field("MD5OfMessageBody", r.md5Body)
	if r.md5Attrs != "" {
		w.field("MD5OfMessageAttributes", r.md5Attrs)
	}
	if r.md5Sys != "" {
		w.field("MD5OfMessageSystemAttributes", r.md5Sys)
	}
	if r.seq != 0 {
		w.field("SequenceNumber", formatSeq(r.seq))
	}
}

func (s *Server) sendMessageBatch(c *call) *apiError {
	var in sendBatchInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	ids := make([]string, len(in.Entries))
	for i := range in.Entries {
		ids[i] = in.Entries[i].Id
	}
	if err := checkBatch("SendMessageBatchRequestEntry", ids); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		s.mu.RUnlock()
		return err
	}
	// The batch payload limit is the service's, whatever the queue's
	// MaximumMessageSize: that one bounds each message, per entry.
	total := 0
	for i := range in.Entries {
		total += entrySize(&in.Entries[i])
	}
	if total > maxBatchPayload {
		s.mu.RUnlock()
		return kindBatchRequestTooLong.new("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", maxBatchPayload, total)
	}

	now := s.nowNS()
	failed := make([]*apiError, len(in.Entries))
	msgs := make([]*message, 0, len(in.Entries))
	keys := make([]string, 0, len(in.Entries))
	for i := range in.Entries {
		m, key, err := s.buildMessage(&q.cfg, &in.Entries[i], c.sender, now)
		if err != nil {
			failed[i] = err
			continue
		}
		msgs = append(msgs, m)
		keys = append(keys, key)
	}
	res := make([]sent, len(msgs))
	var p *pending
	if len(msgs) > 0 {
		q.mu.Lock()
		q.advance(now)
		stored := q.store(msgs, keys, res, now)
		p = s.wal.send(q, stored)
		q.mu.Unlock()
	}
	s.mu.RUnlock()
	if err := s.wait(p); err != nil {
		return err
	}

	c.out.openObject()
	c.out.key("Successful")
	c.out.openArray()
	j := 0
	for i := range in.Entries {
		if failed[i] == nil {
			c.out.openObject()
			c.out.field("Id", in.Entries[i].Id)
			writeSent(c.out, &res[j])
			c.out.closeObject()
			j++
		}
	}
	c.out.closeArray()
	writeFailed(c.out, ids, failed)
	c.out.closeObject()
	return nil
}

// checkBatch applies the rules every batch action shares: 1 to 10 entries
// with distinct, well-formed ids.
func checkBatch(entryName string, ids []string) *apiError {
	if len(ids) == 0 {
		return kindEmptyBatchRequest.new("There should be at least one %s in the request.", entryName)
	}
	if len(ids) > maxBatchEntries {
		return kindTooManyEntriesInBatchRequest.new("Maximum number of entries per request are %d. You have sent %d.", maxBatchEntries, len(ids))
	}
	for i, id := range ids {
		if !validBatchID(id) {
			return kindInvalidBatchEntryID.new("A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		for _, other := range ids[:i] {
			if other == id {
				return kindBatchEntryIdsNotDistinct.new("Id %s repeated.", id)
			}
		}
	}
	return nil
}

func validBatchID(id string) bool {
	if id == "" || len(id) > 80 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isIDChar(id[i]) {
			return false
		}
	}
	return true
}

// writeFailed writes the Failed list of a batch result: the entries with
// an error, in request order.
func writeFailed(w *jsonWriter, ids []string, failed []*apiError) {
	w.key("Failed")
	w.openArray()
	for i, err := range failed {
		if err == nil {
			continue
		}
		w.openObject()
		w.field("Id", ids[i])
		w.key("SenderFault")
		w.boolean(!err.server)
		w.field("Code", err.code)
		w.field("Message", err.msg)
		w.closeObject()
	}
	w.closeArray()
}

// entrySize is what an entry counts towards the batch size limit.
func entrySize(in *sendInput) int {
	n := 0
	if in.MessageBody != nil {
		n += len(*in.MessageBody)
	}
	for name, v := range in.MessageAttributes {
		n += len(name) + len(deref(v.DataType)) + len(deref(v.StringValue)) + len(v.BinaryValue)
	}
	return n
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// buildMessage validates one send against the queue's configuration and
// returns the message to store and its deduplication key (FIFO).
func (s *Server) buildMessage(cfg *queueConfig, in *sendInput, sender string, now int64) (*message, string, *apiError) {
	if in.MessageBody == nil || *in.MessageBody == "" {
		return nil, "", errMissingParameter("MessageBody")
	}
	body := *in.MessageBody
	if !validMessageChars(body) {
		return nil, "", kindInvalidMessageContents.new("Invalid binary character was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
	}
	attrs, err := parseMessageAttributes(in.MessageAttributes)
	if err != nil {
		return nil, "", err
	}
	sys, err := parseSystemAttributes(in.MessageSystemAttributes)
	if err != nil {
		return nil, "", err
	}
	size := len(body)
	for i := range attrs {
		size += attrs[i].size()
	}
	if size > cfg.maxMessageSize {
		return nil, "", kindInvalidParameterValue.new("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", cfg.maxMessageSize)
	}
	delay := int64(cfg.delaySeconds)
	if in.DelaySeconds != nil {
		if *in.DelaySeconds < 0 || *in.DelaySeconds > maxDelay {
			return nil, "", errInvalidParameter("DelaySeconds", *in.DelaySeconds, "DelaySeconds must be >= 0 and <= 900.")
		}
		if cfg.fifo && *in.DelaySeconds != 0 {
			return nil, "", errInvalidParameter("DelaySeconds", *in.DelaySeconds, "The request include parameter that is not valid for this queue type.")
		}
		delay = *in.DelaySeconds
	}
	m := &message{
		id:        newMsgID(),
		body:      body,
		md5Body:   md5Hex(body),
		attrs:     attrs,
		md5Attrs:  md5OfAttributes(attrs),
		sysAttrs:  sys,
		md5Sys:    md5OfAttributes(sys),
		senderID:  sender,
		sentAt:    now,
		size:      size,
		visibleAt: now + delay*1e9,
	}
	m.idStr = m.id.String()
	if in.MessageGroupId != nil {
		if !validFIFOToken(*in.MessageGroupId) {
			return nil, "", errInvalidParameter("MessageGroupId", *in.MessageGroupId, "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
		}
		m.groupID = *in.MessageGroupId
	}
	if !cfg.fifo {
		if in.MessageDeduplicationId != nil {
			return nil, "", errInvalidParameter("MessageDeduplicationId", *in.MessageDeduplicationId, "The request include parameter that is not valid for this queue type.")
		}
		return m, "", nil
	}
	if in.MessageGroupId == nil {
		return nil, "", errMissingParameter("MessageGroupId")
	}
	switch {
	case in.MessageDeduplicationId != nil:
		if !validFIFOToken(*in.MessageDeduplicationId) {
			return nil, "", errInvalidParameter("MessageDeduplicationId", *in.MessageDeduplicationId, "MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
		}
		m.dedupID = *in.MessageDeduplicationId
	case cfg.contentDedup:
		m.dedupID = contentDedupID(body)
	default:
		return nil, "", kindInvalidParameterValue.new("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
	}
	return m, dedupKey(cfg, m.groupID, m.dedupID), nil
}

// validFIFOToken checks a MessageGroupId or MessageDeduplicationId: 1 to
// 128 alphanumeric or punctuation characters.
func validFIFOToken(v string) bool {
	if v == "" || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// store inserts the messages, except FIFO sends deduplicated against the
// last five minutes, and fills res (one per message). It returns what was
// stored, for the journal. q.mu must be held.
func (q *queue) store(msgs []*message, keys []string, res []sent, now int64) []*message {
	stored := msgs[:0:0]
	for i, m := range msgs {
		res[i] = sent{id: m.idStr, md5Body: m.md5Body, md5Attrs: m.md5Attrs, md5Sys: m.md5Sys}
		if q.cfg.fifo {
			if e, dup := q.dedup.lookup(keys[i], now); dup {
				res[i].id, res[i].seq = e.id.String(), e.seq
				continue
			}
			q.seq++
			m.seq = q.seq
			res[i].seq = m.seq
			q.dedup.add(keys[i], dedupEntry{id: m.id, seq: m.seq, expires: now + int64(dedupInterval)})
		}
		q.insert(m, now)
		stored = append(stored, m)
	}
	return stored
}

// epochMillis renders a unix-ns time as SQS's epoch milliseconds.
func epochMillis(ns int64) string { return strconv.FormatInt(ns/1e6, 10) }
