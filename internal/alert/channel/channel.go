package channel

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/checkfleet/checkfleet/internal/alert"
)

// Sender delivers a notification to one channel.
type Sender interface {
	Send(ctx context.Context, n alert.Notification) error
}

// Options are what the control plane decides for every channel.
type Options struct {
	// HTTPClient sends the HTTP channels' requests; nil uses one with the
	// channel's timeout.
	HTTPClient *http.Client
	// RootCAs verifies the SMTP server's certificate; nil uses the system's.
	RootCAs *x509.CertPool
	// UserAgent is sent by the HTTP channels; empty sends "checkfleet".
	UserAgent string
}

// New returns the Sender of a resolved channel.
func New(r alert.Resolved, o Options) (Sender, error) {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: r.Timeout}
	}
	if o.UserAgent == "" {
		o.UserAgent = "checkfleet"
	}
	switch r.Kind {
	case alert.KindWebhook:
		return newWebhook(r, o)
	case alert.KindSlack:
		return newSlack(r, o)
	case alert.KindPagerDuty:
		return newPagerDuty(r, o)
	case alert.KindOpsgenie:
		return newOpsgenie(r, o)
	case alert.KindEmail:
		return newEmail(r, o), nil
	}
	return nil, fmt.Errorf("channel %q: unknown kind %q", r.Name, r.Kind)
}

// Error is a failed delivery.
type Error struct {
	Channel string
	Kind    alert.ChannelKind
	// Host is the endpoint's host (never its path or query).
	Host string
	// Status is the HTTP status or SMTP code; zero when none came back.
	Status int
	// Retryable says a later attempt may succeed.
	Retryable bool
	Err       error
}

// Error says which channel failed, where, and why.
func (e *Error) Error() string {
	kind := "permanent"
	if e.Retryable {
		kind = "retryable"
	}
	return fmt.Sprintf("send to channel %q (%s, %s): %v (%s)", e.Channel, e.Kind, e.Host, e.Err, kind)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether err is a delivery error worth trying again.
// An error that is not an *Error (a bug, a bad configuration) is not.
func Retryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

// retryableStatus says whether an HTTP status is worth trying again.
func retryableStatus(code int) bool {
	return code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
}

// transportRetryable classifies an error that came before any answer: a
// timeout, a refused or reset connection may pass; a certificate that
// does not verify or a malformed URL will not.
func transportRetryable(err error) bool {
	var cert *x509.UnknownAuthorityError
	var host x509.HostnameError
	var inv x509.CertificateInvalidError
	switch {
	case errors.As(err, &cert), errors.As(err, &host), errors.As(err, &inv):
		return false
	case errors.Is(err, context.Canceled):
		return false // the caller stopped; its own backoff decides
	}
	var ne net.Error
	var op *net.OpError
	return errors.As(err, &ne) || errors.As(err, &op) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded)
}

// poster sends JSON to an HTTP endpoint and classifies the outcome.
type poster struct {
	name    string
	kind    alert.ChannelKind
	client  *http.Client
	agent   string
	secrets []string // values to keep out of errors
}

// post sends body to u with headers and returns nil on a 2xx answer.
func (p *poster) post(ctx context.Context, u string, header http.Header, body []byte) error {
	pu, err := url.Parse(u)
	if err != nil || pu.Host == "" {
		return &Error{Channel: p.name, Kind: p.kind, Err: errors.New("the endpoint is not a valid URL")}
	}
	fail := func(status int, retry bool, err error) error {
		return &Error{Channel: p.name, Kind: p.kind, Host: pu.Host, Status: status, Retryable: retry, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fail(0, false, errors.New("cannot make the request"))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", p.agent)
	resp, err := p.client.Do(req)
	if err != nil {
		// The *url.Error would repeat the URL, which may hold a token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fail(0, transportRetryable(err), p.redact(err.Error()))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	msg := resp.Status
	if s := strings.TrimSpace(string(snippet)); s != "" {
		msg += ": " + s
	}
	return fail(resp.StatusCode, retryableStatus(resp.StatusCode), p.redact(msg))
}

// redact returns s as an error without any secret value in it.
func (p *poster) redact(s string) error {
	for _, v := range p.secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return errors.New(s)
}
