package supervisorapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
)

// Client talks to a running supervisor over its control socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client of the supervisor listening on socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &Client{socket: socket, hc: &http.Client{Transport: tr}}
}

// ErrConnectionLost is an upgrade stream that ended before its result: the
// supervisor stopped or died mid-upgrade.
var ErrConnectionLost = errors.New("lost the connection to the supervisor before the upgrade ended; " +
	"a restarted supervisor resumes or rolls it back (--on-restart); see `supervisor status`")

// APIError is an error answer of the control API.
type APIError struct {
	// Code is the HTTP status.
	Code int
	// Message is the supervisor's error.
	Message string
}

// Error implements error.
func (e *APIError) Error() string { return e.Message }

// UpgradeFailedError is an upgrade whose result is not success.
type UpgradeFailedError struct {
	// Summary says how it ended.
	Summary *Summary
	// Message says which slot failed and why.
	Message string
}

// Error implements error.
func (e *UpgradeFailedError) Error() string { return e.Message }

// Status asks for the supervisor's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	resp, err := c.do(ctx, http.MethodGet, "/v1/status", nil)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("status: %w", err)
	}
	return st, nil
}

// Upgrade runs an upgrade (or, with req.Rollback, a rollback), calling
// onEvent with each step as it happens, and returns its summary. A result
// other than success is an *UpgradeFailedError carrying the summary.
func (c *Client) Upgrade(ctx context.Context, req UpgradeRequest, onEvent func(Event)) (*Summary, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	path := "/v1/upgrade"
	if req.Rollback {
		path = "/v1/rollback"
	}
	resp, err := c.do(ctx, http.MethodPost, path, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("upgrade progress: %w", err)
		}
		if onEvent != nil {
			onEvent(e)
		}
		if e.Step == StepResult {
			if e.Error != "" {
				return e.Summary, &UpgradeFailedError{Summary: e.Summary, Message: e.Error}
			}
			return e.Summary, nil
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, ErrConnectionLost
}

func (c *Client) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://supervisor"+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("no supervisor answers on %s (is `supervisor run` running, and is this its --socket?): %w", c.socket, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
		}
		return nil, &APIError{Code: resp.StatusCode, Message: e.Error}
	}
	return resp, nil
}
