package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// Job is the in-memory form of a job message of any version: one run of one
// check at one location.
type Job struct {
	// Schema is the schema id the job was decoded from; EncodeJob ignores
	// it and writes the version it is given.
	Schema string
	// RunID identifies the run; the result carries it back.
	RunID string
	// CheckID is the id of Check; Check.ID is set to it on decode.
	CheckID string
	// Location is where the check runs. v1 has no field for it: it decodes
	// as "" and is not written.
	Location string
	// ScheduledAt is when the run was due.
	ScheduledAt time.Time
	// Attempt counts from 1. v1 has no field for it: it decodes as 1 and is
	// not written.
	Attempt int
	// Check is the definition to run. Check.Name is not carried by any
	// version.
	Check check.Check
}

// ResultVersion is the result version to answer this job with: the job's
// own version, so that an old scheduler that sent v1 can read the answer.
// A job built in memory (no Schema) gets the latest.
func (j Job) ResultVersion() Version {
	if _, v, err := ParseSchema(j.Schema); err == nil && IsSupported(KindResult, v) {
		return v
	}
	return Latest(KindResult)
}

// EncodeJob writes j as a message of the given version. It refuses a job
// the decoder would reject (missing ids, an invalid check: the error wraps
// *check.ValidationError) and one whose check runs longer than its type
// allows (check.ValidateTimeout), returns *UnrepresentableError when version
// cannot carry the check, *UnsupportedVersionError for a version this
// build does not know, and *TooLargeError past MaxBodyBytes.
func EncodeJob(j Job, version Version) ([]byte, error) {
	schema := SchemaID(KindJob, version)
	if !IsSupported(KindJob, version) {
		return nil, &UnsupportedVersionError{Schema: schema}
	}
	if j.Check.ID != "" && j.Check.ID != j.CheckID {
		return nil, fmt.Errorf("encode %s: check_id %q does not match check.id %q", schema, j.CheckID, j.Check.ID)
	}
	c := j.Check
	c.ID = j.CheckID
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("encode %s: %w", schema, err)
	}
	if err := c.ValidateTimeout(); err != nil {
		return nil, fmt.Errorf("encode %s: %w", schema, err)
	}
	if path, msg := checkJob(j, version); path != "" {
		return nil, fmt.Errorf("encode %s: %s: %s", schema, path, msg)
	}
	var wire any
	switch version {
	case V1:
		w, err := jobV1From(j)
		if err != nil {
			return nil, err
		}
		wire = w
	case V2:
		wire = jobV2{
			Schema: JobV2, RunID: j.RunID, CheckID: j.CheckID, Location: j.Location,
			ScheduledAt: formatTime(j.ScheduledAt), Attempt: j.Attempt, Check: checkV2From(c),
		}
	}
	return marshal(wire, schema)
}

// DecodeJob reads a job message of any supported version. It returns
// *UnsupportedVersionError for a well-formed job of another version (give
// the message back to the queue) and *MalformedError for anything else
// wrong (dead-letter it), including a check that fails check.Validate. A
// timeout above check.MaxTimeoutOf is not malformed (a producer with other
// bounds may send it): the worker answers such a job with an error result.
func DecodeJob(body []byte) (Job, error) {
	env, err := open(body, KindJob)
	if err != nil {
		return Job{}, err
	}
	return decodeJob(env)
}

// DecodeJobMessage is CheckAttribute then DecodeJob for a job as SQS
// delivers it (attr is its SchemaAttribute), parsing the body once.
func DecodeJobMessage(attr string, body []byte) (Job, error) {
	env, err := openMessage(attr, body, KindJob)
	if err != nil {
		return Job{}, err
	}
	return decodeJob(env)
}

func decodeJob(env envelope) (Job, error) {
	r, o := env.root.r, env.root
	var j Job
	var rename func(string) string
	switch env.version {
	case V1:
		j = readJobV1(o)
		rename = v1Field
	case V2:
		j = readJobV2(o)
		rename = func(f string) string { return v2Field("check", f) }
	}
	if r.err != nil {
		return Job{}, r.err
	}
	j.Schema = env.schema
	if path, msg := checkJob(j, env.version); path != "" {
		return Job{}, &MalformedError{Schema: env.schema, Path: path, Offset: -1, Reason: msg}
	}
	if verr, ok := errors.AsType[*check.ValidationError](j.Check.Validate()); ok {
		p := verr.Problems[0]
		return Job{}, &MalformedError{Schema: env.schema, Path: rename(p.Field), Offset: -1, Reason: p.Message, Err: verr}
	}
	return j, nil
}

// CheckAttribute checks the SQS message attribute SchemaAttribute against
// the schema in body. The body is the authority: a missing attribute (a
// message sent by hand with the AWS CLI, say) is accepted, but one that
// differs from the body is a *MalformedError, because its producer is broken.
// A body that cannot be parsed returns the decoder's error. It does not check
// that the version is supported; DecodeJob and DecodeResult do.
func CheckAttribute(attr string, body []byte) error {
	env, err := parse(body)
	if err != nil {
		return err
	}
	return env.matches(attr)
}

// checkJob checks the envelope fields both directions demand; it returns
// the wire path and what is wrong, or "" if nothing is.
func checkJob(j Job, v Version) (path, msg string) {
	switch {
	case j.RunID == "":
		return "run_id", "must not be empty"
	case j.CheckID == "":
		return "check_id", "must not be empty"
	case j.ScheduledAt.IsZero():
		return "scheduled_at", "is required"
	case !timeInRange(j.ScheduledAt):
		return "scheduled_at", "year out of range"
	case v == V1:
		return "", ""
	case j.Location == "":
		return "location", "must not be empty"
	case j.Attempt < 1:
		return "attempt", "must be at least 1, got " + strconv.Itoa(j.Attempt)
	}
	return "", ""
}

// jobV1 is the wire form of checkfleet.job/v1.
type jobV1 struct {
	Schema       string `json:"schema"`
	RunID        string `json:"run_id"`
	CheckID      string `json:"check_id"`
	ScheduledAt  string `json:"scheduled_at"`
	URL          string `json:"url"`
	Method       string `json:"method"`
	TimeoutMS    int64  `json:"timeout_ms"`
	ExpectStatus int    `json:"expect_status,omitempty"`
}

// JobCarries says whether a job of the given version can carry c: nil, an
// *UnrepresentableError naming what that version has no field for, or an
// *UnsupportedVersionError for a version this build does not know. It asks
// about the check's shape only; EncodeJob still validates the whole job.
func JobCarries(version Version, c check.Check) error {
	if !IsSupported(KindJob, version) {
		return &UnsupportedVersionError{Schema: SchemaID(KindJob, version)}
	}
	if version != 1 {
		return nil
	}
	if field, reason := v1Lacks(c); field != "" {
		return &UnrepresentableError{Schema: JobV1, Field: field, Reason: reason}
	}
	return nil
}

// jobV1From maps j onto v1, or says what v1 cannot carry. Location and
// Attempt are dropped: the queue implies the location, and v1 consumers
// predate retries.
func jobV1From(j Job) (jobV1, error) {
	c := j.Check
	if field, reason := v1Lacks(c); field != "" {
		return jobV1{}, &UnrepresentableError{Schema: JobV1, Field: field, Reason: reason}
	}
	w := jobV1{
		Schema: JobV1, RunID: j.RunID, CheckID: j.CheckID, ScheduledAt: formatTime(j.ScheduledAt),
		URL: c.API.URL, Method: c.API.Method, TimeoutMS: millisOf(c.Timeout),
	}
	if len(c.Assertions) == 1 {
		w.ExpectStatus, _ = strconv.Atoi(c.Assertions[0].Target) // Validate checked it is three digits
	}
	return w, nil
}

// v1Lacks names the first field of c that checkfleet.job/v1 has no room
// for, and why; "" when v1 carries it whole.
func v1Lacks(c check.Check) (field, reason string) {
	switch {
	case c.Type != check.TypeAPI || c.API == nil:
		return "check.type", fmt.Sprintf("v1 carries only api checks, this is a %s check; use checkfleet.job/v2", c.Type)
	case len(c.API.Headers) > 0:
		return "check.api.headers", "v1 has no request headers"
	case c.API.Body != "":
		return "check.api.body", "v1 has no request body"
	case c.API.FollowRedirects:
		return "check.api.follow_redirects", "v1 has no follow_redirects and v1 workers do not follow redirects"
	case c.DegradedAfter != 0:
		return "check.degraded", "v1 has no degraded threshold"
	case len(c.Assertions) > 1:
		return "check.assertions", fmt.Sprintf("v1 carries at most one assertion (status_code equals), this check has %d", len(c.Assertions))
	case len(c.Assertions) == 1 && (c.Assertions[0].Source != check.SourceStatusCode || c.Assertions[0].Comparison != check.Equals):
		a := c.Assertions[0]
		return "check.assertions[0]", fmt.Sprintf("v1 carries only a status_code equals assertion, this is %s %s", a.Source, a.Comparison)
	}
	return "", ""
}

func readJobV1(o object) Job {
	w := jobV1{
		RunID:        o.str("run_id", true),
		CheckID:      o.str("check_id", true),
		URL:          o.str("url", true),
		Method:       o.str("method", true),
		TimeoutMS:    o.integer("timeout_ms", true, 1, maxMillis),
		ExpectStatus: int(o.integer("expect_status", false, 100, 999)),
	}
	j := Job{
		RunID: w.RunID, CheckID: w.CheckID, ScheduledAt: o.time("scheduled_at", true), Attempt: 1,
		Check: check.Check{
			ID: w.CheckID, Type: check.TypeAPI, Timeout: time.Duration(w.TimeoutMS) * time.Millisecond,
			API: &check.APISpec{Method: w.Method, URL: w.URL},
		},
	}
	if w.ExpectStatus != 0 {
		j.Check.Assertions = []check.Assertion{{
			Source: check.SourceStatusCode, Comparison: check.Equals, Target: strconv.Itoa(w.ExpectStatus),
		}}
	}
	return j
}

// v1Field maps a check.Problem field onto the v1 field that carried it.
func v1Field(field string) string {
	switch {
	case field == "api.url", field == "api.method":
		return strings.TrimPrefix(field, "api.")
	case field == "timeout":
		return "timeout_ms"
	case field == "id":
		return "check_id"
	case strings.HasPrefix(field, "assertions"):
		return "expect_status"
	}
	return field
}

// jobV2 is the wire form of checkfleet.job/v2.
type jobV2 struct {
	Schema      string  `json:"schema"`
	RunID       string  `json:"run_id"`
	CheckID     string  `json:"check_id"`
	Location    string  `json:"location"`
	ScheduledAt string  `json:"scheduled_at"`
	Attempt     int     `json:"attempt"`
	Check       checkV2 `json:"check"`
}

func readJobV2(o object) Job {
	j := Job{
		RunID:       o.str("run_id", true),
		CheckID:     o.str("check_id", true),
		Location:    o.str("location", true),
		ScheduledAt: o.time("scheduled_at", true),
		Attempt:     int(o.integer("attempt", true, 1, maxInt32)),
	}
	if c, ok := o.object("check", true); ok {
		j.Check = readCheckV2(c)
	}
	j.Check.ID = j.CheckID
	return j
}

// marshal encodes a wire struct and enforces the size limit.
func marshal(wire any, schema string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // selectors and URLs keep their > and &
	if err := enc.Encode(wire); err != nil {
		return nil, fmt.Errorf("encode %s: %w", schema, err)
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if limit := MaxBodyBytes(schema); len(body) > limit {
		return nil, &TooLargeError{Schema: schema, Size: len(body), Limit: limit}
	}
	return body, nil
}

// maxInt32 bounds counters that are int in memory, so they fit everywhere.
const maxInt32 = 1<<31 - 1

// timeInRange reports whether t can be written as RFC 3339 (years 0-9999).
func timeInRange(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 0 && y <= 9999
}
