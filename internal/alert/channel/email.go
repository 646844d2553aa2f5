package channel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/alert"
)

// Email sends a plain-text mail through an SMTP submission server: it
// requires STARTTLS (credentials and alerts never go in clear), then
// authenticates with PLAIN when a username is set.
type Email struct {
	name     string
	host     string
	port     int
	username string
	password alert.Secret
	from     string
	to       []string
	timeout  time.Duration
	roots    *x509.CertPool
}

func newEmail(r alert.Resolved, o Options) *Email {
	return &Email{name: r.Name, host: r.SMTPHost, port: r.SMTPPort, username: r.Username, password: r.Token,
		from: r.From, to: r.To, timeout: r.Timeout, roots: o.RootCAs}
}

// Send mails n to every recipient.
func (e *Email) Send(ctx context.Context, n alert.Notification) error {
	if _, ok := ctx.Deadline(); !ok && e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
		defer cancel()
	}
	if err := e.send(ctx, n); err != nil {
		return e.classify(err)
	}
	return nil
}

func (e *Email) send(ctx context.Context, n alert.Notification) error {
	addr := net.JoinHostPort(e.host, strconv.Itoa(e.port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// net/smtp has no context: closing the connection ends a stuck exchange.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, e.host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("checkfleet"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return errNoStartTLS
	}
	if err := c.StartTLS(&tls.Config{ServerName: e.host, RootCAs: e.roots, MinVersion: tls.VersionTLS12}); err != nil {
		return err
	}
	if e.username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.username, e.password.Reveal(), e.host)); err != nil {
			return err
		}
	}
	if err := c.Mail(e.from); err != nil {
		return err
	}
	for _, to := range e.to {
		if err := c.Rcpt(to); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(e.message(n)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

var errNoStartTLS = errors.New("the server does not offer STARTTLS; refusing to send in clear")

// classify wraps err in an *Error: SMTP 4xx and network trouble may pass,
// SMTP 5xx (a refused login or recipient), a certificate that does not
// verify and a server without STARTTLS will not.
func (e *Email) classify(err error) error {
	out := &Error{Channel: e.name, Kind: alert.KindEmail, Host: e.host, Err: err}
	var tp *textproto.Error
	switch {
	case errors.As(err, &tp):
		out.Status = tp.Code
		out.Retryable = tp.Code >= 400 && tp.Code < 500
	case errors.Is(err, errNoStartTLS):
	default:
		out.Retryable = transportRetryable(err)
	}
	if p := e.password.Reveal(); p != "" && strings.Contains(err.Error(), p) {
		out.Err = errors.New(strings.ReplaceAll(err.Error(), p, "***"))
	}
	return out
}

// message renders the mail: headers, then a quoted-printable text body.
func (e *Email) message(n alert.Notification) []byte {
	var b bytes.Buffer
	sum := sha256.Sum256([]byte(n.Key))
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", e.from)
	hdr("To", strings.Join(e.to, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", "[checkfleet] "+n.Summary()))
	hdr("Date", n.At.UTC().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(sum[:16])+"@checkfleet>")
	hdr("X-Checkfleet-Key", n.Key)
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `text/plain; charset="utf-8"`)
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	fmt.Fprintf(qp, "%s\r\n\r\n", n.Summary())
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(qp, "%-10s %s\r\n", k+":", v)
		}
	}
	line("Check", n.CheckID)
	line("Locations", strings.Join(n.Locations, ", "))
	line("Since", n.Since.UTC().Format(time.RFC3339))
	if n.Kind == alert.KindRecovery {
		line("Down for", n.Down.Round(time.Second).String())
	}
	line("Status", string(n.Status))
	line("Error", n.Error)
	line("Run", n.RunID)
	line("Incident", n.IncidentID)
	_ = qp.Close()
	return b.Bytes()
}
