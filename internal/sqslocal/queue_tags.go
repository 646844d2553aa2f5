package sqslocal

import (
	"maps"
	"slices"
)

// Queue tags: TagQueue, UntagQueue, ListQueueTags. Tags change with
// Server.mu held for writing (see queue_lifecycle.go).

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
