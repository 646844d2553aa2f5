package sqslocal

import "time"

// DeleteMessage and ChangeMessageVisibility, single and batched.
//
// A receipt handle designates one receive. Deleting with the handle of the
// latest receive deletes the message, even after its visibility timeout
// ended (as SQS does). Deleting with an older handle, after the message was
// received again, succeeds without deleting it: SQS documents exactly that
// for standard queues, and it keeps a slow consumer from deleting a message
// another consumer now owns. Deleting a message that is already gone
// succeeds. A handle that is not one of ours, or is for another queue, is
// ReceiptHandleIsInvalid.

type ackInput struct {
	Id                string
	QueueUrl          string
	ReceiptHandle     string
	VisibilityTimeout *int64
}

type ackBatchInput struct {
	QueueUrl string
	Entries  []ackInput
}

func (s *Server) deleteMessage(c *call) *apiError {
	var in ackInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	errs, err := s.ack(in.QueueUrl, []ackInput{in}, false)
	if err != nil {
		return err
	}
	return errs[0]
}

func (s *Server) deleteMessageBatch(c *call) *apiError {
	return s.ackBatch(c, "DeleteMessageBatchRequestEntry", false)
}

func (s *Server) changeMessageVisibility(c *call) *apiError {
	var in ackInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	if in.VisibilityTimeout == nil {
		return errMissingParameter("VisibilityTimeout")
	}
	errs, err := s.ack(in.QueueUrl, []ackInput{in}, true)
	if err != nil {
		return err
	}
	return errs[0]
}

func (s *Server) changeMessageVisibilityBatch(c *call) *apiError {
	return s.ackBatch(c, "ChangeMessageVisibilityBatchRequestEntry", true)
}

func (s *Server) ackBatch(c *call, entryName string, visibility bool) *apiError {
	var in ackBatchInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	ids := make([]string, len(in.Entries))
	for i := range in.Entries {
		ids[i] = in.Entries[i].Id
	}
	if err := checkBatch(entryName, ids); err != nil {
		return err
	}
	errs, err := s.ack(in.QueueUrl, in.Entries, visibility)
	if err != nil {
		return err
	}
	c.out.openObject()
	c.out.key("Successful")
	c.out.openArray()
	for i, e := range errs {
		if e == nil {
			c.out.openObject()
			c.out.field("Id", ids[i])
			c.out.closeObject()
		}
	}
	c.out.closeArray()
	writeFailed(c.out, ids, errs)
	c.out.closeObject()
	return nil
}

// ack deletes messages, or changes their visibility, by receipt handle.
// It returns one error per entry (nil for success), or an error for the
// whole request. Deletes are durable when it returns.
func (s *Server) ack(queueURL string, entries []ackInput, visibility bool) ([]*apiError, *apiError) {
	errs := make([]*apiError, len(entries))
	receipts := make([]receipt, len(entries))
	for i := range entries {
		e := &entries[i]
		if e.ReceiptHandle == "" {
			errs[i] = errMissingParameter("ReceiptHandle")
			continue
		}
		r, ok := parseReceipt(e.ReceiptHandle)
		if !ok || len(e.ReceiptHandle) > maxHandleLen {
			errs[i] = errReceiptHandleIsInvalid(e.ReceiptHandle)
			continue
		}
		if visibility {
			if e.VisibilityTimeout == nil {
				errs[i] = errMissingParameter("VisibilityTimeout")
				continue
			}
			if v := *e.VisibilityTimeout; v < 0 || v > maxVisibility {
				errs[i] = errInvalidParameter("VisibilityTimeout", v, "VisibilityTimeout must be an integer between 0 and 43200.")
				continue
			}
		}
		receipts[i] = r
	}

	if err := s.begin(); err != nil {
		return nil, err
	}
	q, err := s.lookup(queueURL)
	if err != nil {
		s.mu.RUnlock()
		return nil, err
	}
	q.mu.Lock()
	now := s.nowNS()
	q.advance(now)
	var changed []*message
	var deleted []msgID
	for i, r := range receipts {
		if errs[i] != nil {
			continue
		}
		if r.incarnation != q.incarnation {
			errs[i] = errReceiptHandleIsInvalid(entries[i].ReceiptHandle)
			continue
		}
		m := q.msgs[r.id]
		if !visibility {
			if m != nil && m.nonce == r.nonce {
				q.remove(m)
				deleted = append(deleted, m.id)
			}
			continue
		}
		if errs[i] = q.changeVisibility(m, r, *entries[i].VisibilityTimeout, now); errs[i] == nil {
			changed = append(changed, m)
		}
	}
	var p *pending
	if len(deleted) > 0 {
		p = s.wal.delete(q, deleted)
	}
	if len(changed) > 0 {
		s.wal.receiveState(q, changed)
	}
	q.mu.Unlock()
	s.mu.RUnlock()
	return errs, s.wait(p)
}

// changeVisibility applies ChangeMessageVisibility to m (nil if gone) for
// receipt r. q.mu must be held.
func (q *queue) changeVisibility(m *message, r receipt, seconds int64, now int64) *apiError {
	if m == nil {
		return errInvalidParameter("ReceiptHandle", r.String(), "Message does not exist or is not available for visibility timeout change.")
	}
	if m.nonce != r.nonce || m.state != stateInflight {
		return kindMessageNotInflight.new("The message referred to isn't in flight.")
	}
	visibleAt := now + seconds*int64(time.Second)
	if visibleAt > m.receivedAt+maxVisibility*int64(time.Second) {
		return errInvalidParameter("VisibilityTimeout", seconds, "Total VisibilityTimeout for the message is beyond the limit [43200 seconds].")
	}
	q.setVisibility(m, visibleAt, now)
	return nil
}
