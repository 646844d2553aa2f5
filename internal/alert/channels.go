package alert

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// ChannelKind is the kind of a notification channel.
type ChannelKind string

// The channel kinds.
const (
	KindWebhook   ChannelKind = "webhook"
	KindSlack     ChannelKind = "slack"
	KindEmail     ChannelKind = "email"
	KindPagerDuty ChannelKind = "pagerduty"
	KindOpsgenie  ChannelKind = "opsgenie"
)

// The services' default endpoints; every one can be configured.
const (
	DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"
	DefaultOpsgenieURL  = "https://api.opsgenie.com"
)

// ChannelConfig is one channel as written in the checks file: a name, a
// kind, and the settings of that kind (exactly one of the pointers, the
// one Kind names). Credentials are written as references, ${{ env.NAME }},
// resolved by Resolve from the control plane's environment; a URL may be a
// reference too (a Slack webhook URL carries its token).
type ChannelConfig struct {
	Name      string
	Kind      ChannelKind
	Webhook   *WebhookConfig
	Slack     *SlackConfig
	Email     *EmailConfig
	PagerDuty *PagerDutyConfig
	Opsgenie  *OpsgenieConfig
	// Timeout bounds one delivery attempt; zero means 10s.
	Timeout time.Duration
}

// WebhookConfig posts the generic JSON document (package channel's doc).
type WebhookConfig struct {
	URL string
	// Secret, a reference, signs the body: X-Checkfleet-Signature:
	// sha256=<hex HMAC-SHA256 of the body>. Empty sends no signature.
	Secret string
	// Headers are added to every request (values may be references).
	Headers map[string]string
}

// SlackConfig posts to a Slack incoming webhook.
type SlackConfig struct {
	URL string
}

// EmailConfig sends mail through an SMTP server with STARTTLS.
type EmailConfig struct {
	// Host and Port of the submission server; Port defaults to 587.
	Host string
	Port int
	// Username and Password (a reference) authenticate with PLAIN after
	// STARTTLS; an empty Username sends without authentication.
	Username string
	Password string
	From     string
	To       []string
}

// PagerDutyConfig sends Events API v2 events.
type PagerDutyConfig struct {
	// URL defaults to DefaultPagerDutyURL.
	URL string
	// RoutingKey, a reference, is the integration key.
	RoutingKey string
	// Severity of triggers: critical (default), error, warning or info.
	Severity string
}

// OpsgenieConfig creates and closes alerts through the Opsgenie Alert API.
type OpsgenieConfig struct {
	// URL is the API base, DefaultOpsgenieURL (or https://api.eu.opsgenie.com).
	URL string
	// APIKey, a reference, is sent as "Authorization: GenieKey <key>".
	APIKey string
	// Priority of created alerts, P1-P5; empty leaves Opsgenie's default (P3).
	Priority string
}

// secretRef matches a reference to a secret: ${{ env.NAME }}.
var secretRef = regexp.MustCompile(`\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// Validate reports what is wrong with the channel as written, field by
// field; it does not resolve references (Resolve does).
func (c ChannelConfig) Validate() error {
	v := problems{what: fmt.Sprintf("channel %q", c.Name)}
	if c.Name == "" {
		v.add("name", "is required")
	}
	if c.Timeout < 0 {
		v.add("timeout", "must not be negative, got %s", c.Timeout)
	}
	set := 0
	for _, p := range []bool{c.Webhook != nil, c.Slack != nil, c.Email != nil, c.PagerDuty != nil, c.Opsgenie != nil} {
		if p {
			set++
		}
	}
	if set > 1 {
		v.add(string(c.Kind), "a channel has the settings of one kind only")
	}
	switch c.Kind {
	case KindWebhook:
		if c.Webhook == nil {
			v.add("webhook", "is required for a webhook channel")
			break
		}
		checkURL(&v, "webhook.url", c.Webhook.URL, true)
		checkSecret(&v, "webhook.secret", c.Webhook.Secret, false)
	case KindSlack:
		if c.Slack == nil {
			v.add("slack", "is required for a slack channel")
			break
		}
		checkURL(&v, "slack.url", c.Slack.URL, true)
	case KindEmail:
		e := c.Email
		if e == nil {
			v.add("email", "is required for an email channel")
			break
		}
		if e.Host == "" {
			v.add("email.host", "is required")
		}
		if e.Port < 0 || e.Port > 65535 {
			v.add("email.port", "must be 1-65535, got %d", e.Port)
		}
		if e.Username != "" || e.Password != "" {
			if e.Username == "" {
				v.add("email.username", "is required with a password")
			}
			checkSecret(&v, "email.password", e.Password, true)
		}
		if _, err := mail.ParseAddress(e.From); err != nil {
			v.add("email.from", "must be an address, got %q", e.From)
		}
		if len(e.To) == 0 {
			v.add("email.to", "needs at least one address")
		}
		for i, to := range e.To {
			if _, err := mail.ParseAddress(to); err != nil {
				v.add(fmt.Sprintf("email.to[%d]", i), "must be an address, got %q", to)
			}
		}
	case KindPagerDuty:
		p := c.PagerDuty
		if p == nil {
			v.add("pagerduty", "is required for a pagerduty channel")
			break
		}
		if p.URL != "" {
			checkURL(&v, "pagerduty.url", p.URL, false)
		}
		checkSecret(&v, "pagerduty.routing_key", p.RoutingKey, true)
		switch p.Severity {
		case "", "critical", "error", "warning", "info":
		default:
			v.add("pagerduty.severity", "must be critical, error, warning or info, got %q", p.Severity)
		}
	case KindOpsgenie:
		o := c.Opsgenie
		if o == nil {
			v.add("opsgenie", "is required for an opsgenie channel")
			break
		}
		if o.URL != "" {
			checkURL(&v, "opsgenie.url", o.URL, false)
		}
		checkSecret(&v, "opsgenie.api_key", o.APIKey, true)
		switch o.Priority {
		case "", "P1", "P2", "P3", "P4", "P5":
		default:
			v.add("opsgenie.priority", "must be P1-P5, got %q", o.Priority)
		}
	default:
		v.add("type", "must be webhook, slack, email, pagerduty or opsgenie, got %q", c.Kind)
	}
	return v.err()
}

// checkURL accepts an absolute http(s) URL, or (when ref) a reference to one.
func checkURL(v *problems, field, s string, ref bool) {
	if ref && secretRef.MatchString(s) {
		return // checked once resolved, by the sender
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(field, "must be an absolute http or https URL")
	}
}

// checkSecret requires s to be exactly one reference: a credential is never
// written in clear. The message does not repeat what was written.
func checkSecret(v *problems, field, s string, required bool) {
	switch {
	case s == "" && required:
		v.add(field, "is required, as ${{ env.NAME }}")
	case s == "":
	case !isRef(s):
		v.add(field, "must be a reference ${{ env.NAME }}, not the secret itself")
	}
}

// isRef reports whether s is exactly one reference.
func isRef(s string) bool {
	m := secretRef.FindStringIndex(strings.TrimSpace(s))
	return m != nil && m[0] == 0 && m[1] == len(strings.TrimSpace(s))
}

// References returns the environment variables the channel names, in
// order, so `scheduler validate` can say which are missing.
func (c ChannelConfig) References() []string {
	var names []string
	add := func(s string) {
		for _, m := range secretRef.FindAllStringSubmatch(s, -1) {
			names = append(names, m[1])
		}
	}
	switch {
	case c.Webhook != nil:
		add(c.Webhook.URL)
		add(c.Webhook.Secret)
		for _, h := range c.Webhook.Headers {
			add(h)
		}
	case c.Slack != nil:
		add(c.Slack.URL)
	case c.Email != nil:
		add(c.Email.Password)
	case c.PagerDuty != nil:
		add(c.PagerDuty.RoutingKey)
	case c.Opsgenie != nil:
		add(c.Opsgenie.APIKey)
	}
	return names
}

// Secret is a resolved credential. It never shows its value: String,
// GoString, Format and JSON all give "***" (or "" when empty); Reveal is
// the only way to read it, for the request that needs it.
type Secret struct{ v string }

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{v} }

// Reveal returns the value.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// String hides the value.
func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return "***"
}

// GoString hides the value from %#v.
func (s Secret) GoString() string { return `alert.Secret("` + s.String() + `")` }

// MarshalJSON hides the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MissingSecretError names a variable a channel references that the
// environment does not hold; never a value.
type MissingSecretError struct {
	Channel string
	Field   string
	Name    string
}

// Error names the channel, the field and the variable.
func (e *MissingSecretError) Error() string {
	return fmt.Sprintf("channel %q: %s: ${{ env.%s }} is not set in the control plane's environment", e.Channel, e.Field, e.Name)
}

// Resolved is a validated channel with its references replaced by their
// values, ready for package channel. Every credential and every URL that
// came from a reference is a Secret.
type Resolved struct {
	Name    string
	Kind    ChannelKind
	Timeout time.Duration

	// URL is the endpoint (webhook, slack, pagerduty enqueue, opsgenie
	// base); a Secret because a Slack URL is its own credential.
	URL Secret
	// Token is the webhook's HMAC secret, PagerDuty's routing key,
	// Opsgenie's API key or the SMTP password.
	Token Secret
	// Headers are the webhook's extra headers.
	Headers map[string]Secret

	// Severity (PagerDuty) or Priority (Opsgenie).
	Severity string
	// Email settings.
	SMTPHost string
	SMTPPort int
	Username string
	From     string
	To       []string
}

// Resolve validates c and replaces its references with lookup's values
// (os.LookupEnv in the control plane). A missing variable is a
// *MissingSecretError.
func (c ChannelConfig) Resolve(lookup func(string) (string, bool)) (Resolved, error) {
	if err := c.Validate(); err != nil {
		return Resolved{}, err
	}
	r := Resolved{Name: c.Name, Kind: c.Kind, Timeout: c.Timeout}
	if r.Timeout == 0 {
		r.Timeout = 10 * time.Second
	}
	var err error
	sub := func(field, s string) Secret {
		if err != nil {
			return Secret{}
		}
		out := secretRef.ReplaceAllStringFunc(s, func(ref string) string {
			name := secretRef.FindStringSubmatch(ref)[1]
			val, ok := lookup(name)
			if !ok && err == nil {
				err = &MissingSecretError{Channel: c.Name, Field: field, Name: name}
			}
			return val
		})
		return Secret{out}
	}
	switch c.Kind {
	case KindWebhook:
		r.URL = sub("webhook.url", c.Webhook.URL)
		r.Token = sub("webhook.secret", c.Webhook.Secret)
		r.Headers = make(map[string]Secret, len(c.Webhook.Headers))
		for k, h := range c.Webhook.Headers {
			r.Headers[k] = sub("webhook.headers."+k, h)
		}
	case KindSlack:
		r.URL = sub("slack.url", c.Slack.URL)
	case KindEmail:
		e := c.Email
		r.SMTPHost, r.SMTPPort, r.Username, r.From, r.To = e.Host, e.Port, e.Username, e.From, e.To
		if r.SMTPPort == 0 {
			r.SMTPPort = 587
		}
		r.Token = sub("email.password", e.Password)
	case KindPagerDuty:
		r.URL = Secret{cmpOr(c.PagerDuty.URL, DefaultPagerDutyURL)}
		r.Token = sub("pagerduty.routing_key", c.PagerDuty.RoutingKey)
		r.Severity = cmpOr(c.PagerDuty.Severity, "critical")
	case KindOpsgenie:
		r.URL = Secret{strings.TrimSuffix(cmpOr(c.Opsgenie.URL, DefaultOpsgenieURL), "/")}
		r.Token = sub("opsgenie.api_key", c.Opsgenie.APIKey)
		r.Severity = c.Opsgenie.Priority
	}
	if err != nil {
		return Resolved{}, err
	}
	return r, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
