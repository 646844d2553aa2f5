package channel

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/checkfleet/checkfleet/internal/alert"
)

// mailbox is a real SMTP server (emersion/go-smtp) on loopback that
// offers STARTTLS with a certificate made here, accepts PLAIN only over
// TLS, and keeps what it receives.
type mailbox struct {
	addr  string
	roots *x509.CertPool
	mu    sync.Mutex
	mails []received
}

type received struct {
	from   string
	to     []string
	data   []byte
	tls    bool
	authed string
}

type mailSession struct {
	mb   *mailbox
	conn *smtp.Conn
	cur  received
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "alerts@example.com" || pass != "p4ss-w0rd" {
			// As submission servers answer (RFC 4954): 535 5.7.8.
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.cur.authed = user
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.cur.authed == "" {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.cur.data = b
	s.mb.mu.Lock()
	s.mb.mails = append(s.mb.mails, s.cur)
	s.mb.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.cur = received{authed: s.cur.authed} }
func (s *mailSession) Logout() error { return nil }

func newMailbox(t *testing.T, withTLS bool) *mailbox {
	t.Helper()
	mb := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mailSession{mb: mb, conn: c}, nil
	}))
	srv.Domain = "127.0.0.1"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if withTLS {
		cert, roots := selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		mb.roots = roots
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return mb
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailbox"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func (mb *mailbox) received() []received {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]received(nil), mb.mails...)
}

func emailSender(t *testing.T, mb *mailbox, password string, roots *x509.CertPool) Sender {
	t.Helper()
	host, port, _ := net.SplitHostPort(mb.addr)
	p, _ := strconv.Atoi(port)
	r, err := alert.ChannelConfig{Name: "mail", Kind: alert.KindEmail, Timeout: 5 * time.Second, Email: &alert.EmailConfig{
		Host: host, Port: p, Username: "alerts@example.com", Password: "${{ env.SMTP_PASSWORD }}",
		From: "checkfleet@example.com", To: []string{"ops@example.com", "oncall@example.com"}}}.
		Resolve(func(string) (string, bool) { return password, true })
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(r, Options{RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEmailOverSTARTTLSWithAuth(t *testing.T) {
	mb := newMailbox(t, true)
	s := emailSender(t, mb, "p4ss-w0rd", mb.roots)
	if err := s.Send(context.Background(), trigger()); err != nil {
		t.Fatal(err)
	}
	got := mb.received()
	if len(got) != 1 {
		t.Fatalf("%d mails", len(got))
	}
	m := got[0]
	if !m.tls || m.authed != "alerts@example.com" || m.from != "checkfleet@example.com" ||
		strings.Join(m.to, ",") != "ops@example.com,oncall@example.com" {
		t.Errorf("envelope: tls %v auth %q from %q to %q", m.tls, m.authed, m.from, m.to)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(m.data)))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "[checkfleet] API <prod> is down since 2026-03-02T10:00:30Z" {
		t.Errorf("subject %q", subject)
	}
	if msg.Header.Get("X-Checkfleet-Key") != "api/*/down/1772445630000/trigger" || msg.Header.Get("To") != "ops@example.com, oncall@example.com" ||
		msg.Header.Get("Content-Transfer-Encoding") != "quoted-printable" || !strings.HasPrefix(msg.Header.Get("Message-Id"), "<") {
		t.Errorf("headers %v", msg.Header)
	}
	body, _ := io.ReadAll(msg.Body)
	for _, want := range []string{"Locations: eu-west-1, us-east-1", "Error:", "status 503 & <html>", "Incident:  api/*/down/1772445630000"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

func TestEmailFailures(t *testing.T) {
	mb := newMailbox(t, true)
	t.Run("wrong password is permanent and not shown", func(t *testing.T) {
		err := emailSender(t, mb, "wr0ng-pa55", mb.roots).Send(context.Background(), trigger())
		var se *Error
		if !errors.As(err, &se) || se.Retryable || se.Status != 535 || strings.Contains(err.Error(), "wr0ng-pa55") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("an untrusted certificate is permanent", func(t *testing.T) {
		err := emailSender(t, mb, "p4ss-w0rd", x509.NewCertPool()).Send(context.Background(), trigger())
		if err == nil || Retryable(err) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("no STARTTLS: nothing sent in clear", func(t *testing.T) {
		plain := newMailbox(t, false)
		err := emailSender(t, plain, "p4ss-w0rd", nil).Send(context.Background(), trigger())
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") || Retryable(err) || len(plain.received()) != 0 {
			t.Errorf("got %v", err)
		}
	})
	t.Run("refused is retryable", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		gone := &mailbox{addr: l.Addr().String()}
		l.Close()
		if err := emailSender(t, gone, "p4ss-w0rd", nil).Send(context.Background(), trigger()); !Retryable(err) {
			t.Errorf("got %v", err)
		}
	})
	if len(mb.received()) != 0 {
		t.Errorf("a failed send delivered mail")
	}
}
