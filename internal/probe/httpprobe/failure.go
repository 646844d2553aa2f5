package httpprobe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/netguard"
)

// failureContext is what describeFailure needs besides the error.
type failureContext struct {
	parent  context.Context // the caller's: its end means the worker stopped the check
	probe   context.Context // bounded by the check's timeout
	timeout time.Duration
	phase   string // the phase the request was in
	url     string // the URL first requested (or being downloaded)
}

// describeFailure turns the error of a request that got no usable response
// into a status and the text of Result.Error, naming what failed and in
// which phase:
//
//	connect 127.0.0.1:80: connection refused
//	dns lookup example.invalid: no such host
//	tls example.com:443: certificate expired at 2024-01-01T00:00:00Z
//	timeout after 5s during ttfb
//	connect 169.254.169.254:80: network guard refused 169.254.169.254: ...
//
// A hop after a redirect is named: "(after redirect to URL)".
//
// A refusal by the network guard is status error, not failed: it is the
// operator's policy that stopped the check, not the target misbehaving, and
// alerting on it as an outage would be wrong (the fix is a check or an
// --allow-net change). A check stopped by the worker (its context ended
// before the check's own timeout) is also error. Everything else the target
// or the network did is failed.
func describeFailure(err error, fc failureContext) (check.Status, string) {
	hop, inner := fc.url, err
	var ue *url.Error
	if errors.As(err, &ue) {
		hop, inner = ue.URL, ue.Err
	}
	after := ""
	if hop != fc.url {
		after = " (after redirect to " + hop + ")"
	}
	host := hostOf(hop)

	var (
		denied   *netguard.DeniedError
		redirect *redirectError
		dnsErr   *net.DNSError
		opErr    *net.OpError
	)
	switch {
	case errors.As(err, &denied):
		addr := denied.Addr.String()
		if errors.As(err, &opErr) && opErr.Addr != nil {
			addr = opErr.Addr.String()
		}
		return check.StatusError, fmt.Sprintf("connect %s: %v%s", addr, denied, after)
	case fc.parent.Err() != nil:
		return check.StatusError, fmt.Sprintf("check stopped by the worker during %s: %v", fc.phase, context.Cause(fc.parent))
	case errors.Is(fc.probe.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return check.StatusFailed, fmt.Sprintf("timeout after %v during %s%s", fc.timeout, fc.phase, after)
	case errors.As(err, &redirect):
		return check.StatusFailed, fmt.Sprintf("redirect: %v", redirect)
	case errors.As(err, &dnsErr):
		cause := dnsErr.Err
		if dnsErr.IsNotFound {
			cause = "no such host"
		}
		return check.StatusFailed, fmt.Sprintf("dns lookup %s: %s%s", dnsErr.Name, cause, after)
	case isTLS(err) || fc.phase == phaseTLS:
		return check.StatusFailed, fmt.Sprintf("tls %s: %s%s", host, tlsCause(inner), after)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		addr := host
		if opErr.Addr != nil {
			addr = opErr.Addr.String()
		}
		return check.StatusFailed, fmt.Sprintf("connect %s: %s%s", addr, syscallCause(opErr.Err), after)
	}
	return check.StatusFailed, fmt.Sprintf("%s %s: %v%s", fc.phase, host, inner, after)
}

func isTLS(err error) bool {
	var (
		verify *tls.CertificateVerificationError
		header tls.RecordHeaderError
		inv    x509.CertificateInvalidError
		ua     x509.UnknownAuthorityError
		hn     x509.HostnameError
	)
	return errors.As(err, &verify) || errors.As(err, &header) ||
		errors.As(err, &inv) || errors.As(err, &ua) || errors.As(err, &hn)
}

// tlsCause says in a person's words why a TLS handshake failed.
func tlsCause(err error) string {
	var (
		inv    x509.CertificateInvalidError
		ua     x509.UnknownAuthorityError
		hn     x509.HostnameError
		header tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &inv) && inv.Reason == x509.Expired && inv.Cert != nil:
		if time.Now().After(inv.Cert.NotAfter) {
			return "certificate expired at " + inv.Cert.NotAfter.UTC().Format(time.RFC3339)
		}
		return "certificate not valid before " + inv.Cert.NotBefore.UTC().Format(time.RFC3339)
	case errors.As(err, &ua):
		msg := "certificate signed by unknown authority"
		if ua.Cert != nil && bytes.Equal(ua.Cert.RawIssuer, ua.Cert.RawSubject) {
			msg += fmt.Sprintf(" (self-signed certificate %q)", ua.Cert.Subject.String())
		}
		return msg
	case errors.As(err, &hn):
		return strings.TrimPrefix(hn.Error(), "x509: ")
	case errors.As(err, &header):
		return "the server does not speak TLS (first record does not look like a TLS handshake)"
	case errors.As(err, &inv):
		return strings.TrimPrefix(inv.Error(), "x509: ")
	}
	return strings.TrimPrefix(err.Error(), "tls: ")
}

// syscallCause strips "connect: " and similar from a dial error, leaving
// the system's words ("connection refused").
func syscallCause(err error) string {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	return err.Error()
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}
