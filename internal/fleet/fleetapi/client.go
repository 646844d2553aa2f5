package fleetapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
)

// Client speaks the fleet API of one control plane with one token: a
// host's token for the host side, the operator token for the operator side.
// It is safe for concurrent use.
type Client struct {
	base   string
	token  string
	hostID string
	join   string
	hc     *http.Client
}

// HostHeader names the host a host token belongs to. NewHostClient sends it
// so that the control plane can tell a token used for another host's id
// (403) from a wrong token (401).
const HostHeader = "X-Checkfleet-Host"

// JoinTokenHeader carries the fleet join token. A host presents it only
// when it registers: the control plane records a new host id only with it,
// and a known host re-registering with its own host token needs none.
const JoinTokenHeader = "X-Checkfleet-Join-Token"

// NewClient returns a client of the control plane at baseURL
// (http://host:port, with or without a trailing slash) presenting token.
// hc nil means a client with no overall timeout: every call is bounded by
// its context, and Progress by its wait.
func NewClient(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: hc}
}

// NewHostClient returns a client for host hostID presenting its host token:
// what a supervisor uses. It names the host in every request (HostHeader).
func NewHostClient(baseURL, hostID, token string, hc *http.Client) *Client {
	c := NewClient(baseURL, token, hc)
	c.hostID = hostID
	return c
}

// WithJoinToken returns a copy of c that presents the fleet join token
// joinToken (JoinTokenHeader) when it registers, and only then.
func (c *Client) WithJoinToken(joinToken string) *Client {
	cc := *c
	cc.join = joinToken
	return &cc
}

// Error is an error answer of the API, or no answer at all (Status 0).
type Error struct {
	// Op is the call that failed ("deploy", "heartbeat", ...).
	Op string
	// Status is the HTTP status, 0 when the control plane did not answer.
	Status int
	// Message is the control plane's error, or what went wrong on the way.
	Message string
	// Lock is the lock that refused a deploy, rollback or unify.
	Lock *Lock
	// Err is the transport's error when Status is 0.
	Err error
}

// Error says the call, the status and the server's message.
func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("fleet %s: %s", e.Op, e.Message)
	}
	return fmt.Sprintf("fleet %s: %d %s: %s", e.Op, e.Status, http.StatusText(e.Status), e.Message)
}

// Unwrap returns the transport's error.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, fleet.ErrLocked) true for a refusal by a lock.
func (e *Error) Is(target error) bool { return target == fleet.ErrLocked && e.Lock != nil }

// IsStatus reports whether err is an *Error with HTTP status code.
func IsStatus(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == code
}

// Register registers (or re-registers) the host; the token is its own,
// and the join token (WithJoinToken) goes with it.
func (c *Client) Register(ctx context.Context, r Registration) (Host, error) {
	var h Host
	var hdr http.Header
	if c.join != "" {
		hdr = http.Header{JoinTokenHeader: {c.join}}
	}
	err := c.callWith(ctx, "register", http.MethodPost, "/api/v1/fleet/hosts", hdr, r, &h)
	return h, err
}

// Heartbeat sends host id's state and returns what it should run.
func (c *Client) Heartbeat(ctx context.Context, id string, s HostState) (Desired, error) {
	var d Desired
	err := c.call(ctx, "heartbeat", http.MethodPost, hostPath(id, "heartbeat"), s, &d)
	return d, err
}

// Desired asks what host id should run.
func (c *Client) Desired(ctx context.Context, id string) (Desired, error) {
	var d Desired
	err := c.call(ctx, "desired", http.MethodGet, hostPath(id, "desired"), nil, &d)
	return d, err
}

// HoldTurn asks for an upgrade turn for host id, or renews the one it
// holds. A turn not granted is not an error: Turn.Granted is false and
// Turn.Reason says why.
func (c *Client) HoldTurn(ctx context.Context, id string, req TurnRequest) (Turn, error) {
	var t Turn
	err := c.call(ctx, "hold turn", http.MethodPost, hostPath(id, "turn"), req, &t)
	return t, err
}

// FreeTurn gives up host id's turn.
func (c *Client) FreeTurn(ctx context.Context, id string) error {
	return c.call(ctx, "free turn", http.MethodDelete, hostPath(id, "turn"), nil, nil)
}

// Leave removes host id from the fleet: its supervisor stops for good.
func (c *Client) Leave(ctx context.Context, id string) error {
	return c.call(ctx, "leave", http.MethodDelete, hostPath(id, ""), nil, nil)
}

// ReportOutcome reports how host id's upgrade ended.
func (c *Client) ReportOutcome(ctx context.Context, id string, o Outcome) error {
	return c.call(ctx, "report outcome", http.MethodPost, hostPath(id, "outcome"), o, nil)
}

// Deploy starts a deploy and returns the rollout as recorded; follow it
// with Watch. A ring locked by another rollout is an *Error with Lock set
// (errors.Is fleet.ErrLocked).
func (c *Client) Deploy(ctx context.Context, req DeployRequest) (Rollout, error) {
	var r Rollout
	err := c.call(ctx, "deploy", http.MethodPost, "/api/v1/fleet/deploy", req, &r)
	return r, err
}

// Rollback starts a rollback of a ring to its previous image.
func (c *Client) Rollback(ctx context.Context, req RollbackRequest) (Rollout, error) {
	var r Rollout
	err := c.call(ctx, "rollback", http.MethodPost, "/api/v1/fleet/rollback", req, &r)
	return r, err
}

// Unify starts bringing every host of a ring to its pointer.
func (c *Client) Unify(ctx context.Context, req UnifyRequest) (Rollout, error) {
	var r Rollout
	err := c.call(ctx, "unify", http.MethodPost, "/api/v1/fleet/unify", req, &r)
	return r, err
}

// Unlock breaks a ring's lock and returns the lock it broke.
func (c *Client) Unlock(ctx context.Context, req UnlockRequest) (Lock, error) {
	var l Lock
	err := c.call(ctx, "unlock", http.MethodPost, "/api/v1/fleet/unlock", req, &l)
	return l, err
}

// Remove removes a host from the fleet and returns it as it was.
func (c *Client) Remove(ctx context.Context, req RemoveRequest) (Host, error) {
	var h Host
	err := c.call(ctx, "remove host", http.MethodPost, "/api/v1/fleet/remove", req, &h)
	return h, err
}

// Pause pauses rollout id and returns its progress, which names the
// commands that resume and revert it.
func (c *Client) Pause(ctx context.Context, id string, req PauseRequest) (Progress, error) {
	var p Progress
	err := c.call(ctx, "pause", http.MethodPost, "/api/v1/fleet/rollouts/"+url.PathEscape(id)+"/pause", req, &p)
	return p, err
}

// Status returns the fleet's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.call(ctx, "status", http.MethodGet, "/api/v1/fleet/status", nil, &s)
	return s, err
}

// History returns the rollouts of ring ("" for every ring), newest first,
// at most limit (0: the server's default).
func (c *Client) History(ctx context.Context, ring string, limit int) (History, error) {
	q := url.Values{}
	if ring != "" {
		q.Set("ring", ring)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/api/v1/fleet/history"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var h History
	err := c.call(ctx, "history", http.MethodGet, path, nil, &h)
	return h, err
}

// Progress returns rollout id's progress once its Seq is past after, or
// after wait with the progress as it stands (wait 0: at once).
func (c *Client) Progress(ctx context.Context, id string, after int64, wait time.Duration) (Progress, error) {
	q := url.Values{}
	q.Set("after", strconv.FormatInt(after, 10))
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	var p Progress
	err := c.call(ctx, "progress", http.MethodGet, "/api/v1/fleet/rollouts/"+url.PathEscape(id)+"?"+q.Encode(), nil, &p)
	return p, err
}

// Watch long-polls rollout id's progress, calling onProgress with every
// change, until it is Finished (final or paused), and returns the last
// progress. It returns ctx's error when ctx ends first: the caller then
// decides whether to Pause the rollout. A failed poll is retried after a
// second, up to ten times in a row.
func (c *Client) Watch(ctx context.Context, id string, onProgress func(Progress)) (Progress, error) {
	var (
		last  Progress
		after int64 = -1
		fails int
	)
	for {
		p, err := c.Progress(ctx, id, after, 25*time.Second)
		if err != nil {
			if ctx.Err() != nil {
				return last, ctx.Err()
			}
			var e *Error
			if errors.As(err, &e) && e.Status >= 400 && e.Status < 500 {
				return last, err
			}
			if fails++; fails >= 10 {
				return last, err
			}
			select {
			case <-ctx.Done():
				return last, ctx.Err()
			case <-time.After(time.Second):
			}
			continue
		}
		fails = 0
		if p.Seq != after {
			last, after = p, p.Seq
			if onProgress != nil {
				onProgress(p)
			}
		}
		if p.Finished {
			return p, nil
		}
	}
}

func hostPath(id, what string) string {
	p := "/api/v1/fleet/hosts/" + url.PathEscape(id)
	if what != "" {
		p += "/" + what
	}
	return p
}

// call sends in (nil: no body) and decodes the answer into out (nil:
// discard it).
func (c *Client) call(ctx context.Context, op, method, path string, in, out any) error {
	return c.callWith(ctx, op, method, path, nil, in, out)
}

// callWith is call with the extra headers hdr.
func (c *Client) callWith(ctx context.Context, op, method, path string, hdr http.Header, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return &Error{Op: op, Message: "encode request: " + err.Error(), Err: err}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return &Error{Op: op, Message: err.Error(), Err: err}
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.hostID != "" {
		req.Header.Set(HostHeader, c.hostID)
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Op: op, Message: fmt.Sprintf("no answer from the control plane at %s: %v", c.base, err), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var eb ErrorBody
		if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(b))
			if eb.Error == "" {
				eb.Error = resp.Status
			}
		}
		return &Error{Op: op, Status: resp.StatusCode, Message: eb.Error, Lock: eb.Lock}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return &Error{Op: op, Status: resp.StatusCode, Message: "decode answer: " + err.Error(), Err: err}
	}
	return nil
}
