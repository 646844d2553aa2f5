package sqslocal

import (
	"encoding/base64"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Queue lifecycle actions: CreateQueue, DeleteQueue, GetQueueUrl,
// ListQueues, ListDeadLetterSourceQueues, PurgeQueue. Adding, removing and
// reconfiguring queues (here, in queue_attributes.go and queue_tags.go)
// holds Server.mu for writing, so a queue's cfg and tags may be read by
// anyone holding Server.mu for reading, without the queue's own lock.
// Purging is a message operation under the queue's lock.

const queueDeleteCooldown = 60 * time.Second

type createQueueInput struct {
	QueueName  string
	Attributes map[string]string
	Tags       map[string]string // "tags" on the wire
}

func (s *Server) createQueue(c *call) *apiError {
	var in createQueueInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	if err := s.createQueueNamed(in.QueueName, in.Attributes, in.Tags); err != nil {
		return err
	}
	c.out.openObject()
	c.out.field("QueueUrl", s.queueURL(s.baseURL(c.r), in.QueueName))
	c.out.closeObject()
	return nil
}

// CreateQueue creates a queue as the CreateQueue action does (idempotent
// for identical attributes), for setting up queues in-process in dev and
// tests. Its URL is <base>/<account>/<name>.
func (s *Server) CreateQueue(name string, attributes map[string]string) error {
	if err := s.createQueueNamed(name, attributes, nil); err != nil {
		return err
	}
	return nil
}

func (s *Server) createQueueNamed(name string, attrs, tags map[string]string) *apiError {
	if name == "" {
		return errMissingParameter("QueueName")
	}
	if !validQueueName(name) {
		return errInvalidParameter("QueueName", name, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length. A FIFO queue's name ends in .fifo.")
	}
	fifo := strings.EqualFold(attrs[attrFifoQueue], "true")
	if fifo != strings.HasSuffix(name, ".fifo") {
		return errInvalidParameter("QueueName", name, "The name of a FIFO queue must end with the .fifo suffix, and only a FIFO queue's name may (set FifoQueue=true).")
	}
	names := slices.Sorted(maps.Keys(attrs))
	cfg := defaultConfig(fifo)
	for _, n := range names {
		if err := cfg.set(n, attrs[n], true); err != nil {
			return err
		}
	}
	if err := validateTags(tags, 0); err != nil {
		return err
	}

	if err := s.beginExclusive(); err != nil {
		return err
	}
	now := s.nowNS()
	if q := s.queues[name]; q != nil {
		n, same := sameAttributes(&q.cfg, names, attrs)
		s.mu.Unlock()
		if !same {
			return kindQueueNameExists.new("A queue already exists with the same name and a different value for attribute %s", n)
		}
		return nil
	}
	if at, ok := s.deleted[name]; ok && now-at < int64(queueDeleteCooldown) {
		s.mu.Unlock()
		return kindQueueDeletedRecently.new("You must wait 60 seconds after deleting a queue before you can create another with the same name.")
	}
	if err := s.checkRedrive(name, &cfg); err != nil {
		s.mu.Unlock()
		return err
	}
	q := newQueue(name, s.queueARN(name), cfg, rand.Uint64()|1, now)
	maps.Copy(q.tags, tags)
	s.queues[name] = q
	delete(s.deleted, name)
	p := s.wal.queueState(q)
	s.mu.Unlock()
	return s.wait(p)
}

// sameAttributes reports whether setting attrs on cfg would leave it as it
// is (CreateQueue of an existing queue is then idempotent), or names the
// first attribute that differs.
func sameAttributes(cfg *queueConfig, names []string, attrs map[string]string) (string, bool) {
	for _, n := range names {
		merged := *cfg
		if err := merged.set(n, attrs[n], true); err != nil {
			return n, false
		}
		if merged.redrive.targetARN == cfg.redrive.targetARN {
			merged.redrive.target = cfg.redrive.target // resolved by checkRedrive, not by set
		}
		if merged != *cfg {
			return n, false
		}
	}
	return "", true
}

// checkRedrive verifies a RedrivePolicy against its target: it must exist,
// be of the same type and allow this source. s.mu must be held.
func (s *Server) checkRedrive(source string, cfg *queueConfig) *apiError {
	p := &cfg.redrive
	if !p.enabled() {
		return nil
	}
	name, ok := s.queueNameFromARN(p.targetARN)
	target := s.queues[name]
	if !ok || target == nil {
		return errInvalidParameter(attrRedrivePolicy, p.String(), "Dead letter target does not exist.")
	}
	if target.cfg.fifo != cfg.fifo {
		return errInvalidParameter(attrRedrivePolicy, p.String(), "Dead-letter queue must be same type of queue as the source.")
	}
	if !target.cfg.allowsSource(s.queueARN(source)) {
		return errInvalidParameter(attrRedrivePolicy, p.String(), "The dead-letter queue's RedriveAllowPolicy does not allow this source queue.")
	}
	p.target = name
	return nil
}

type queueURLInput struct {
	QueueUrl string
}

func (s *Server) deleteQueue(c *call) *apiError {
	var in queueURLInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	if err := s.beginExclusive(); err != nil {
		return err
	}
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	now := s.nowNS()
	delete(s.queues, q.name)
	s.deleted[q.name] = now
	q.deleted = true
	close(q.gone)
	p := s.wal.deleteQueue(q.name, now)
	s.mu.Unlock()
	return s.wait(p)
}

type getQueueURLInput struct {
	QueueName              string
	QueueOwnerAWSAccountId string
}

func (s *Server) getQueueURL(c *call) *apiError {
	var in getQueueURLInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	if in.QueueName == "" {
		return errMissingParameter("QueueName")
	}
	if err := s.begin(); err != nil {
		return err
	}
	q := s.queues[in.QueueName]
	s.mu.RUnlock()
	if q == nil || (in.QueueOwnerAWSAccountId != "" && in.QueueOwnerAWSAccountId != s.account) {
		return errQueueDoesNotExist()
	}
	c.out.openObject()
	c.out.field("QueueUrl", s.queueURL(s.baseURL(c.r), in.QueueName))
	c.out.closeObject()
	return nil
}

type listQueuesInput struct {
	QueueNamePrefix string
	MaxResults      *int64
	NextToken       string
	QueueUrl        string // ListDeadLetterSourceQueues
}

func (s *Server) listQueues(c *call) *apiError {
	var in listQueuesInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	var names []string
	for name := range s.queues {
		if strings.HasPrefix(name, in.QueueNamePrefix) {
			names = append(names, name)
		}
	}
	s.mu.RUnlock()
	return s.writeQueuePage(c, "QueueUrls", names, in)
}

func (s *Server) listDeadLetterSourceQueues(c *call) *apiError {
	var in listQueuesInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	dlq, err := s.lookup(in.QueueUrl)
	if err != nil {
		s.mu.RUnlock()
		return err
	}
	var names []string
	for name, q := range s.queues {
		if q.cfg.redrive.enabled() && q.cfg.redrive.target == dlq.name {
			names = append(names, name)
		}
	}
	s.mu.RUnlock()
	return s.writeQueuePage(c, "queueUrls", names, in)
}

// writeQueuePage writes one page of queue URLs, sorted by name. Without
// MaxResults, up to 1000 URLs and no NextToken, as SQS does.
func (s *Server) writeQueuePage(c *call, key string, names []string, in listQueuesInput) *apiError {
	limit := 1000
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return errInvalidParameter("MaxResults", *in.MaxResults, "Value must be between 1 and 1000.")
		}
		limit = int(*in.MaxResults)
	}
	slices.Sort(names)
	if in.NextToken != "" {
		after, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil {
			return errInvalidParameter("NextToken", in.NextToken, "Invalid token.")
		}
		i, _ := slices.BinarySearch(names, string(after)+"\x00")
		names = names[i:]
	}
	next := ""
	if len(names) > limit {
		names = names[:limit]
		if in.MaxResults != nil {
			next = base64.RawURLEncoding.EncodeToString([]byte(names[limit-1]))
		}
	}
	base := s.baseURL(c.r)
	c.out.openObject()
	if len(names) > 0 {
		c.out.key(key)
		c.out.openArray()
		for _, n := range names {
			c.out.str(s.queueURL(base, n))
		}
		c.out.closeArray()
	}
	if next != "" {
		c.out.field("NextToken", next)
	}
	c.out.closeObject()
	return nil
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
