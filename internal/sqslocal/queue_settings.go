package sqslocal

import (
	"maps"
	"slices"
	"strconv"
	"time"
)

// Queue settings: attributes, tags and purging. Attributes and tags change
// with Server.mu held for writing (see queues.go); purging is a message
// operation under the queue's lock.

type getQueueAttributesInput struct {
	QueueUrl       string
	AttributeNames []string
}

func (s *Server) getQueueAttributes(c *call) *apiError {
	var in getQueueAttributesInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	all := false
	for _, n := range in.AttributeNames {
		if n == attrAll {
			all = true
		} else if !slices.Contains(readableAttributes, n) {
			return kindInvalidAttributeName.new("Unknown Attribute %s.", n)
		}
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return err
	}
	names := in.AttributeNames
	if all {
		names = readableAttributes
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.advance(s.nowNS())
	c.out.openObject()
	if len(names) > 0 {
		c.out.key("Attributes")
		c.out.openObject()
		for _, n := range names {
			if v, ok := q.attribute(n); ok {
				c.out.field(n, v)
			}
		}
		c.out.closeObject()
	}
	c.out.closeObject()
	return nil
}

// attribute renders one queue attribute; q.mu must be held.
func (q *queue) attribute(name string) (string, bool) {
	visible, inflight, delayed := q.counts()
	switch name {
	case attrQueueArn:
		return q.arn, true
	case attrApproxMessages:
		return strconv.Itoa(visible), true
	case attrApproxNotVisible:
		return strconv.Itoa(inflight), true
	case attrApproxDelayed:
		return strconv.Itoa(delayed), true
	case attrCreatedTimestamp:
		return strconv.FormatInt(q.createdAt/1e9, 10), true
	case attrLastModifiedTimestamp:
		return strconv.FormatInt(q.modifiedAt/1e9, 10), true
	}
	return q.cfg.configAttribute(name)
}

type setQueueAttributesInput struct {
	QueueUrl   string
	Attributes map[string]string
}

func (s *Server) setQueueAttributes(c *call) *apiError {
	var in setQueueAttributesInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	if len(in.Attributes) == 0 {
		return errMissingParameter("Attributes")
	}
	if err := s.beginExclusive(); err != nil {
		return err
	}
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	cfg := q.cfg
	for _, n := range slices.Sorted(maps.Keys(in.Attributes)) {
		if err := cfg.set(n, in.Attributes[n], false); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	if err := s.checkRedrive(q.name, &cfg); err != nil {
		s.mu.Unlock()
		return err
	}
	q.cfg = cfg
	q.modifiedAt = s.nowNS()
	p := s.wal.queueState(q)
	s.mu.Unlock()
	return s.wait(p)
}

func (s *Server) purgeQueue(c *call) *apiError {
	var in queueURLInput
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
	q.mu.Lock()
	now := s.nowNS()
	if q.lastPurge != 0 && now-q.lastPurge < int64(60*time.Second) {
		q.mu.Unlock()
		s.mu.RUnlock()
		return kindPurgeQueueInProgress.new("Only one PurgeQueue operation on %s is allowed every 60 seconds.", q.name)
	}
	q.purge()
	q.lastPurge = now
	p := s.wal.purge(q, now)
	q.mu.Unlock()
	s.mu.RUnlock()
	return s.wait(p)
}

const maxTags = 50

func validateTags(tags map[string]string, existing int) *apiError {
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			return kindInvalidParameterValue.new("Tag keys must be 1 to 128 characters and values at most 256 characters (tag %q).", k)
		}
	}
	if len(tags)+existing > maxTags {
		return kindInvalidParameterValue.new("Too many tags: a queue has at most %d.", maxTags)
	}
	return nil
}

type tagQueueInput struct {
	QueueUrl string
	Tags     map[string]string
	TagKeys  []string
}

func (s *Server) tagQueue(c *call) *apiError {
	var in tagQueueInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	if len(in.Tags) == 0 {
		return errMissingParameter("Tags")
	}
	return s.changeTags(in.QueueUrl, func(q *queue) *apiError {
		added := 0
		for k := range in.Tags {
			if _, ok := q.tags[k]; !ok {
				added++
			}
		}
		if err := validateTags(in.Tags, len(q.tags)+added-len(in.Tags)); err != nil {
			return err
		}
		maps.Copy(q.tags, in.Tags)
		return nil
	})
}

func (s *Server) untagQueue(c *call) *apiError {
	var in tagQueueInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	if len(in.TagKeys) == 0 {
		return errMissingParameter("TagKeys")
	}
	return s.changeTags(in.QueueUrl, func(q *queue) *apiError {
		for _, k := range in.TagKeys {
			delete(q.tags, k)
		}
		return nil
	})
}

func (s *Server) changeTags(queueURL string, change func(*queue) *apiError) *apiError {
	if err := s.beginExclusive(); err != nil {
		return err
	}
	q, err := s.lookup(queueURL)
	if err == nil {
		err = change(q)
	}
	if err != nil {
		s.mu.Unlock()
		return err
	}
	p := s.wal.queueState(q)
	s.mu.Unlock()
	return s.wait(p)
}

func (s *Server) listQueueTags(c *call) *apiError {
	var in queueURLInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return err
	}
	c.out.openObject()
	if len(q.tags) > 0 {
		c.out.key("Tags")
		c.out.openObject()
		for _, k := range slices.Sorted(maps.Keys(q.tags)) {
			c.out.field(k, q.tags[k])
		}
		c.out.closeObject()
	}
	c.out.closeObject()
	return nil
}
