package sqslocal

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// queueConfig holds a queue's settable attributes, parsed and validated.
// Values are compared with == to decide whether CreateQueue on an existing
// name is idempotent, so every field is comparable.
type queueConfig struct {
	delaySeconds      int
	maxMessageSize    int
	retentionSeconds  int
	waitSeconds       int
	visibilitySeconds int
	policy            string
	redrive           redrivePolicy // zero: none
	redriveAllow      string
	kmsMasterKeyID    string
	kmsReuseSeconds   int
	sseEnabled        bool
	fifo              bool
	contentDedup      bool
	dedupScope        string // "queue" or "messageGroup"
	throughputLimit   string // "perQueue" or "perMessageGroupId"
}

// redrivePolicy is the parsed RedrivePolicy attribute.
type redrivePolicy struct {
	targetARN       string
	target          string // queue name of targetARN
	maxReceiveCount int
}

func (p redrivePolicy) enabled() bool { return p.targetARN != "" }

func (p redrivePolicy) String() string {
	if !p.enabled() {
		return ""
	}
	return `{"deadLetterTargetArn":"` + p.targetARN + `","maxReceiveCount":` + strconv.Itoa(p.maxReceiveCount) + `}`
}

// Limits and defaults as AWS documents them.
const (
	defaultVisibility   = 30
	maxVisibility       = 12 * 60 * 60
	maxDelay            = 15 * 60
	maxWait             = 20
	defaultRetention    = 4 * 24 * 60 * 60
	minRetention        = 60
	maxRetention        = 14 * 24 * 60 * 60
	minMessageSizeLimit = 1024
	maxMessageSizeLimit = 1 << 20
	defaultKMSReuse     = 300
)

func defaultConfig(fifo bool) queueConfig {
	c := queueConfig{
		maxMessageSize:    maxMessageSizeLimit,
		retentionSeconds:  defaultRetention,
		visibilitySeconds: defaultVisibility,
		kmsReuseSeconds:   defaultKMSReuse,
		sseEnabled:        true,
		fifo:              fifo,
	}
	if fifo {
		c.dedupScope = "queue"
		c.throughputLimit = "perQueue"
	}
	return c
}

// Queue attribute names.
const (
	attrAll                   = "All"
	attrDelaySeconds          = "DelaySeconds"
	attrMaximumMessageSize    = "MaximumMessageSize"
	attrRetentionPeriod       = "MessageRetentionPeriod"
	attrPolicy                = "Policy"
	attrReceiveWaitTime       = "ReceiveMessageWaitTimeSeconds"
	attrVisibilityTimeout     = "VisibilityTimeout"
	attrRedrivePolicy         = "RedrivePolicy"
	attrRedriveAllowPolicy    = "RedriveAllowPolicy"
	attrKmsMasterKeyID        = "KmsMasterKeyId"
	attrKmsReusePeriod        = "KmsDataKeyReusePeriodSeconds"
	attrSqsManagedSse         = "SqsManagedSseEnabled"
	attrFifoQueue             = "FifoQueue"
	attrContentDedup          = "ContentBasedDeduplication"
	attrDedupScope            = "DeduplicationScope"
	attrThroughputLimit       = "FifoThroughputLimit"
	attrApproxMessages        = "ApproximateNumberOfMessages"
	attrApproxNotVisible      = "ApproximateNumberOfMessagesNotVisible"
	attrApproxDelayed         = "ApproximateNumberOfMessagesDelayed"
	attrCreatedTimestamp      = "CreatedTimestamp"
	attrLastModifiedTimestamp = "LastModifiedTimestamp"
	attrQueueArn              = "QueueArn"
)

// readableAttributes lists every attribute GetQueueAttributes knows, in the
// order "All" returns them.
var readableAttributes = []string{
	attrQueueArn, attrApproxMessages, attrApproxNotVisible, attrApproxDelayed,
	attrCreatedTimestamp, attrLastModifiedTimestamp, attrVisibilityTimeout,
	attrMaximumMessageSize, attrRetentionPeriod, attrDelaySeconds, attrReceiveWaitTime,
	attrPolicy, attrRedrivePolicy, attrRedriveAllowPolicy, attrKmsMasterKeyID,
	attrKmsReusePeriod, attrSqsManagedSse, attrFifoQueue, attrContentDedup,
	attrDedupScope, attrThroughputLimit,
}

// set parses and applies one attribute from CreateQueue or
// SetQueueAttributes. Checks involving other queues (the redrive target) are
// the caller's.
func (c *queueConfig) set(name, value string, creating bool) *apiError {
	switch name {
	case attrDelaySeconds:
		return setInt(&c.delaySeconds, name, value, 0, maxDelay)
	case attrMaximumMessageSize:
		return setInt(&c.maxMessageSize, name, value, minMessageSizeLimit, maxMessageSizeLimit)
	case attrRetentionPeriod:
		return setInt(&c.retentionSeconds, name, value, minRetention, maxRetention)
	case attrReceiveWaitTime:
		return setInt(&c.waitSeconds, name, value, 0, maxWait)
	case attrVisibilityTimeout:
		return setInt(&c.visibilitySeconds, name, value, 0, maxVisibility)
	case attrKmsReusePeriod:
		return setInt(&c.kmsReuseSeconds, name, value, 60, 86400)
	case attrPolicy:
		if value != "" && !json.Valid([]byte(value)) {
			return invalidAttributeValue(name)
		}
		c.policy = value
	case attrKmsMasterKeyID:
		c.kmsMasterKeyID = value
	case attrSqsManagedSse:
		return setBool(&c.sseEnabled, name, value)
	case attrRedrivePolicy:
		p, err := parseRedrivePolicy(value)
		if err != nil {
			return err
		}
		c.redrive = p
	case attrRedriveAllowPolicy:
		if value != "" {
			if _, err := parseRedriveAllowPolicy(value); err != nil {
				return err
			}
		}
		c.redriveAllow = value
	case attrFifoQueue:
		if !creating {
			return kindInvalidAttributeName.new("Unknown Attribute %s.", name)
		}
		var fifo bool
		if err := setBool(&fifo, name, value); err != nil {
			return err
		}
		if fifo != c.fifo {
			return invalidAttributeValue(name)
		}
	case attrContentDedup, attrDedupScope, attrThroughputLimit:
		if !c.fifo {
			return kindInvalidAttributeName.new("Unknown Attribute %s.", name)
		}
		switch name {
		case attrContentDedup:
			return setBool(&c.contentDedup, name, value)
		case attrDedupScope:
			if value != "queue" && value != "messageGroup" {
				return invalidAttributeValue(name)
			}
			c.dedupScope = value
		default:
			if value != "perQueue" && value != "perMessageGroupId" {
				return invalidAttributeValue(name)
			}
			c.throughputLimit = value
		}
	default:
		return kindInvalidAttributeName.new("Unknown Attribute %s.", name)
	}
	return nil
}

func invalidAttributeValue(name string) *apiError {
	return kindInvalidAttributeValue.new("Invalid value for the parameter %s.", name)
}

func setInt(dst *int, name, value string, lo, hi int) *apiError {
	n, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil || n < lo || n > hi {
		return invalidAttributeValue(name)
	}
	*dst = n
	return nil
}

func setBool(dst *bool, name, value string) *apiError {
	switch strings.ToLower(value) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	default:
		return invalidAttributeValue(name)
	}
	return nil
}

// parseRedrivePolicy parses {"deadLetterTargetArn": ..., "maxReceiveCount":
// n}, where n may be a number or a numeric string. An empty value removes the
// policy.
func parseRedrivePolicy(value string) (redrivePolicy, *apiError) {
	if value == "" {
		return redrivePolicy{}, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(value), &raw); err != nil {
		return redrivePolicy{}, errInvalidParameter(attrRedrivePolicy, value, "Redrive policy is not a valid JSON map.")
	}
	var p redrivePolicy
	if err := json.Unmarshal(raw["deadLetterTargetArn"], &p.targetARN); err != nil || p.targetARN == "" {
		return redrivePolicy{}, errInvalidParameter(attrRedrivePolicy, value, "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
	}
	count := strings.Trim(string(raw["maxReceiveCount"]), `"`)
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 || n > 1000 {
		return redrivePolicy{}, errInvalidParameter(attrRedrivePolicy, value, "Invalid value for maxReceiveCount: "+count+", valid values are from 1 to 1000 both inclusive.")
	}
	p.maxReceiveCount = n
	for k := range raw {
		if k != "deadLetterTargetArn" && k != "maxReceiveCount" {
			return redrivePolicy{}, errInvalidParameter(attrRedrivePolicy, value, "Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount].")
		}
	}
	return p, nil
}

// redriveAllowPolicy is the parsed RedriveAllowPolicy of a dead-letter queue.
type redriveAllowPolicy struct {
	Permission string   `json:"redrivePermission"`
	SourceARNs []string `json:"sourceQueueArns"`
}

func parseRedriveAllowPolicy(value string) (redriveAllowPolicy, *apiError) {
	var p redriveAllowPolicy
	if err := json.Unmarshal([]byte(value), &p); err != nil {
		return p, errInvalidParameter(attrRedriveAllowPolicy, value, "Redrive allow policy is not a valid JSON map.")
	}
	switch p.Permission {
	case "allowAll", "denyAll":
		if len(p.SourceARNs) > 0 {
			return p, errInvalidParameter(attrRedriveAllowPolicy, value, "sourceQueueArns must be empty unless redrivePermission is byQueue.")
		}
	case "byQueue":
		if len(p.SourceARNs) == 0 || len(p.SourceARNs) > 10 {
			return p, errInvalidParameter(attrRedriveAllowPolicy, value, "byQueue needs 1 to 10 sourceQueueArns.")
		}
	default:
		return p, errInvalidParameter(attrRedriveAllowPolicy, value, "redrivePermission must be allowAll, denyAll or byQueue.")
	}
	return p, nil
}

// allowsSource reports whether a queue with this RedriveAllowPolicy accepts
// sourceARN as a dead-letter source.
func (c *queueConfig) allowsSource(sourceARN string) bool {
	if c.redriveAllow == "" {
		return true
	}
	p, err := parseRedriveAllowPolicy(c.redriveAllow)
	if err != nil {
		return true
	}
	switch p.Permission {
	case "denyAll":
		return false
	case "byQueue":
		return slices.Contains(p.SourceARNs, sourceARN)
	}
	return true
}

// configAttribute renders one settable attribute; ok is false for an
// attribute that is unset or does not apply to the queue's type.
func (c *queueConfig) configAttribute(name string) (string, bool) {
	switch name {
	case attrDelaySeconds:
		return strconv.Itoa(c.delaySeconds), true
	case attrMaximumMessageSize:
		return strconv.Itoa(c.maxMessageSize), true
	case attrRetentionPeriod:
		return strconv.Itoa(c.retentionSeconds), true
	case attrReceiveWaitTime:
		return strconv.Itoa(c.waitSeconds), true
	case attrVisibilityTimeout:
		return strconv.Itoa(c.visibilitySeconds), true
	case attrPolicy:
		return c.policy, c.policy != ""
	case attrRedrivePolicy:
		return c.redrive.String(), c.redrive.enabled()
	case attrRedriveAllowPolicy:
		return c.redriveAllow, c.redriveAllow != ""
	case attrKmsMasterKeyID:
		return c.kmsMasterKeyID, c.kmsMasterKeyID != ""
	case attrKmsReusePeriod:
		return strconv.Itoa(c.kmsReuseSeconds), c.kmsMasterKeyID != ""
	case attrSqsManagedSse:
		return strconv.FormatBool(c.sseEnabled), true
	case attrFifoQueue:
		return "true", c.fifo
	case attrContentDedup:
		return strconv.FormatBool(c.contentDedup), c.fifo
	case attrDedupScope:
		return c.dedupScope, c.fifo
	case attrThroughputLimit:
		return c.throughputLimit, c.fifo
	}
	return "", false
}

// settable lists the attributes that, set in this order on a default
// config, rebuild c: what the journal records for a queue.
var settable = []string{
	attrFifoQueue, attrDelaySeconds, attrMaximumMessageSize, attrRetentionPeriod,
	attrReceiveWaitTime, attrVisibilityTimeout, attrPolicy, attrRedrivePolicy,
	attrRedriveAllowPolicy, attrKmsMasterKeyID, attrKmsReusePeriod, attrSqsManagedSse,
	attrContentDedup, attrDedupScope, attrThroughputLimit,
}

// attributes renders every set attribute of c as CreateQueue would take it.
func (c *queueConfig) attributes() map[string]string {
	out := make(map[string]string, len(settable))
	for _, name := range settable {
		if v, ok := c.configAttribute(name); ok {
			out[name] = v
		}
	}
	// Shown only with a KMS key, but settable (and compared) without one.
	out[attrKmsReusePeriod] = strconv.Itoa(c.kmsReuseSeconds)
	return out
}

// configFromAttributes rebuilds a config from attributes(); used on replay,
// where values were validated when first set.
func configFromAttributes(attrs map[string]string) (queueConfig, *apiError) {
	c := defaultConfig(attrs[attrFifoQueue] == "true")
	for _, name := range settable {
		if v, ok := attrs[name]; ok {
			if err := c.set(name, v, true); err != nil {
				return c, err
			}
		}
	}
	return c, nil
}

// The GetQueueAttributes and SetQueueAttributes actions. Attributes change
// with Server.mu held for writing (see queue_lifecycle.go).

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
