package channel

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/checkfleet/checkfleet/internal/alert"
)

// SignatureHeader carries the body's HMAC-SHA256 when the webhook has a secret.
const SignatureHeader = "X-Checkfleet-Signature"

// KeyHeader carries the notification's dedup key.
const KeyHeader = "X-Checkfleet-Key"

// Webhook posts the generic document (see the package doc).
type Webhook struct {
	p       poster
	url     alert.Secret
	secret  alert.Secret
	headers map[string]alert.Secret
}

func newWebhook(r alert.Resolved, o Options) (*Webhook, error) {
	secrets := []string{r.URL.Reveal(), r.Token.Reveal()}
	for _, h := range r.Headers {
		secrets = append(secrets, h.Reveal())
	}
	return &Webhook{p: poster{name: r.Name, kind: r.Kind, client: o.HTTPClient, agent: o.UserAgent, secrets: secrets},
		url: r.URL, secret: r.Token, headers: r.Headers}, nil
}

// Document is the webhook body, schema checkfleet.notification/v1.
type Document struct {
	Schema       string      `json:"schema"`
	Key          string      `json:"key"`
	IncidentID   string      `json:"incident_id"`
	Kind         alert.Kind  `json:"kind"`
	Track        alert.Track `json:"track"`
	Check        DocCheck    `json:"check"`
	Scope        string      `json:"scope"`
	Sequence     int         `json:"sequence"`
	Summary      string      `json:"summary"`
	At           time.Time   `json:"at"`
	Since        time.Time   `json:"since"`
	DownMS       int64       `json:"down_ms,omitempty"`
	Locations    []string    `json:"locations,omitempty"`
	Flapping     bool        `json:"flapping,omitempty"`
	Withdrawn    bool        `json:"withdrawn,omitempty"`
	Status       string      `json:"status,omitempty"`
	Error        string      `json:"error,omitempty"`
	RunID        string      `json:"run_id,omitempty"`
	CertNotAfter *time.Time  `json:"cert_not_after,omitempty"`
}

// DocCheck names the check in a Document.
type DocCheck struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// NewDocument returns the webhook document of n.
func NewDocument(n alert.Notification) Document {
	d := Document{Schema: "checkfleet.notification/v1", Key: n.Key, IncidentID: n.IncidentID, Kind: n.Kind, Track: n.Track,
		Check: DocCheck{ID: n.CheckID, Name: n.CheckName}, Scope: n.Scope, Sequence: n.Seq, Summary: n.Summary(),
		At: n.At.UTC(), Since: n.Since.UTC(), DownMS: n.Down.Milliseconds(), Locations: n.Locations, Flapping: n.Flapping,
		Withdrawn: n.Withdrawn, Status: string(n.Status), Error: n.Error, RunID: n.RunID}
	if !n.CertNotAfter.IsZero() {
		t := n.CertNotAfter.UTC()
		d.CertNotAfter = &t
	}
	return d
}

// Send posts n.
func (w *Webhook) Send(ctx context.Context, n alert.Notification) error {
	body, err := json.Marshal(NewDocument(n))
	if err != nil {
		return fmt.Errorf("encode notification %s: %w", n.Key, err)
	}
	h := http.Header{}
	for k, v := range w.headers {
		h.Set(k, v.Reveal())
	}
	h.Set(KeyHeader, n.Key)
	if !w.secret.IsZero() {
		h.Set(SignatureHeader, Sign(w.secret.Reveal(), body))
	}
	return w.p.post(ctx, w.url.Reveal(), h, body)
}

// Sign returns the signature header's value for body: sha256=<hex HMAC>.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
