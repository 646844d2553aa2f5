package checkfile

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/check"
)

// The keys of the alerting mappings.
var (
	policyKeys = keys{
		names: []string{"channels", "fail_after_runs", "fail_after", "min_locations", "min_percent", "scope",
			"alert_on_degraded", "errors", "reminder_every", "max_reminders", "recovery", "cert_expiry_days",
			"flap_changes", "flap_window"},
		hints: map[string]string{
			"alertChannels": "channels", "alert_channels": "channels", "failed_runs": "fail_after_runs",
			"failure_threshold": "fail_after_runs", "failure-threshold": "fail_after_runs",
			"runBasedEscalation": "fail_after_runs", "timeBasedEscalation": "fail_after",
			"degraded": "alert_on_degraded", "send-on-degraded": "alert_on_degraded",
			"reminders": "reminder_every", "send-on-resolved": "recovery", "resolved": "recovery",
			"ssl_expiry_days": "cert_expiry_days", "sslCertificates": "cert_expiry_days",
			"parallelRunFailureThreshold": "min_locations",
		},
	}
	channelKeys = keys{
		names: []string{"id", "type", "timeout", "url", "secret", "headers", "host", "port", "username",
			"password", "from", "to", "routing_key", "severity", "api_key", "priority"},
		hints: map[string]string{
			"name": "id", "kind": "type", "webhook_url": "url", "webhook-url": "url", "webhookUrl": "url",
			"integration_key": "routing_key", "integration-key": "routing_key", "routingKey": "routing_key",
			"service_key": "routing_key", "apiKey": "api_key", "api-key": "api_key", "genie_key": "api_key",
			"recipients": "to", "address": "to", "user": "username", "server": "host",
		},
	}
	windowKeys = keys{
		names: []string{"id", "start", "end", "cron", "duration", "timezone", "checks", "tags"},
		hints: map[string]string{
			"check_ids": "checks", "checkIds": "checks", "ids": "checks", "from": "start", "until": "end",
			"to": "end", "schedule": "cron", "every": "cron", "length": "duration",
		},
	}
)

// channelFields lists the keys each channel type reads besides id, type
// and timeout; secretFields those of them whose ${{ env.NAME }} references
// alert.ChannelConfig.Resolve replaces.
var (
	channelFields = map[alert.ChannelKind][]string{
		alert.KindWebhook:   {"url", "secret", "headers"},
		alert.KindSlack:     {"url"},
		alert.KindEmail:     {"host", "port", "username", "password", "from", "to"},
		alert.KindPagerDuty: {"url", "routing_key", "severity"},
		alert.KindOpsgenie:  {"url", "api_key", "priority"},
	}
	secretFields = map[alert.ChannelKind][]string{
		alert.KindWebhook:   {"url", "secret", "headers"},
		alert.KindSlack:     {"url"},
		alert.KindEmail:     {"password"},
		alert.KindPagerDuty: {"routing_key"},
		alert.KindOpsgenie:  {"api_key"},
	}
)

// secretRef matches a reference to a secret, as package alert reads it.
var secretRef = regexp.MustCompile(`\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// credentialName matches header and query parameter names whose values are
// credentials, which must be references.
var credentialName = regexp.MustCompile(`(?i)auth|token|key|secret|passw|signature|^sig$|cookie|session`)

// fileAlerting is what one file's alerting keys say, and where.
type fileAlerting struct {
	file     string
	channels []*channelEntry
	policy   *policyLayer // alert_policy; nil when not written
	windows  []*windowEntry
}

// channelsOf returns the channels e notifies: its own, else its file's.
func (fa *fileAlerting) channelsOf(e *entry) list {
	switch {
	case e.alert != nil && e.alert.channels != nil:
		return *e.alert.channels
	case fa.policy != nil && fa.policy.channels != nil:
		return *fa.policy.channels
	}
	return list{}
}

// alertingKey decodes one of the top-level alerting keys.
func (d *decoder) alertingKey(key string, k, v *yaml.Node) {
	fa := d.alerting
	switch key {
	case "alert_policy":
		fa.policy = d.policyLayer(k, v, "alert_policy", "in alert_policy")
	case "alert_channels", "maintenance":
		if v.Kind != yaml.SequenceNode {
			what := map[string]string{"alert_channels": "channels", "maintenance": "maintenance windows"}[key]
			d.problem(v, key, "must be a list of %s, got %s", what, describe(v))
			return
		}
		for i, item := range v.Content {
			if item = d.deref(item); item == nil {
				continue
			}
			if key == "alert_channels" {
				if c := d.channel(item, i); c != nil {
					fa.channels = append(fa.channels, c)
				}
			} else if w := d.window(item, i); w != nil {
				fa.windows = append(fa.windows, w)
			}
		}
	}
}

// policyLayer is an alert_policy or a check's alert as written: the
// fields it sets, over those of the layers below it.
type policyLayer struct {
	prefix string     // "alert_policy" or "alert"
	key    *yaml.Node // the key of the mapping
	values map[string]any
	at     map[string]*yaml.Node // policy field → its value
	bad    map[string]bool       // fields already reported
	// channels is nil when not written.
	channels *list
	invalid  bool // not a mapping
}

func (d *decoder) policyLayer(k, v *yaml.Node, prefix, where string) *policyLayer {
	l := &policyLayer{prefix: prefix, key: k, values: map[string]any{}, at: map[string]*yaml.Node{}, bad: map[string]bool{}}
	if v.Kind != yaml.MappingNode {
		d.problem(v, prefix, "must be a mapping with channels, fail_after_runs, min_locations..., got %s", describe(v))
		l.invalid = true
		return l
	}
	typos := d.fields(v, where, policyKeys, func(key string, k, v *yaml.Node) {
		field := prefix + "." + key
		l.at[key] = v
		var val any
		var bad bool
		switch key {
		case "channels":
			ch := d.list(k, v, field)
			l.channels = &ch
			return
		case "fail_after", "reminder_every", "flap_window":
			val, bad = d.duration(v, field, false)
		case "alert_on_degraded", "recovery":
			val, bad = d.boolean(v, field)
		case "scope", "errors":
			val, bad = d.text(v, field)
		default:
			val, bad = d.integer(v, field)
		}
		if bad {
			l.bad[key] = true
			return
		}
		l.values[key] = val
	})
	for _, key := range typos {
		l.bad[key] = true
	}
	return l
}

// apply sets the fields l writes on p, and records in from which layer
// each came. Fail_after_runs and fail_after are one threshold: a layer
// that writes either replaces both, as a check's every or cron replaces
// both default ones. reminder_every: 0 turns reminders off, max_reminders
// with them, and flap_changes: 0 turns flapping off, flap_window with it,
// unless the layer writes those too.
func (l *policyLayer) apply(p *alert.Policy, from map[string]*policyLayer) {
	if l == nil || l.invalid {
		return
	}
	_, runs := l.at["fail_after_runs"]
	_, after := l.at["fail_after"]
	if runs || after {
		p.FailAfterRuns, p.FailAfter = 0, 0
		from["fail_after_runs"], from["fail_after"] = l, l
	}
	if v, ok := l.values["reminder_every"]; ok && v.(time.Duration) == 0 && l.at["max_reminders"] == nil {
		p.MaxReminders, from["max_reminders"] = 0, l
	}
	if v, ok := l.values["flap_changes"]; ok && v.(int) == 0 && l.at["flap_window"] == nil {
		p.FlapWindow, from["flap_window"] = 0, l
	}
	for key, v := range l.values {
		from[key] = l
		switch key {
		case "fail_after_runs":
			p.FailAfterRuns = v.(int)
		case "fail_after":
			p.FailAfter = v.(time.Duration)
		case "min_locations":
			p.MinLocations = v.(int)
		case "min_percent":
			p.MinPercent = v.(int)
		case "scope":
			p.Scope = alert.Scope(v.(string))
		case "alert_on_degraded":
			p.AlertOnDegraded = v.(bool)
		case "errors":
			p.Errors = alert.ErrorMode(v.(string))
		case "reminder_every":
			p.ReminderEvery = v.(time.Duration)
		case "max_reminders":
			p.MaxReminders = v.(int)
		case "recovery":
			p.Recovery = v.(bool)
		case "cert_expiry_days":
			p.CertExpiryDays = v.(int)
		case "flap_changes":
			p.FlapChanges = v.(int)
		case "flap_window":
			p.FlapWindow = v.(time.Duration)
		}
	}
}

// site returns where field was written in l, or l's key.
func (l *policyLayer) site(field string) *yaml.Node {
	if n, ok := l.at[field]; ok {
		return n
	}
	return l.key
}

// channelEntry is one item of alert_channels.
type channelEntry struct {
	cfg    alert.ChannelConfig
	index  int
	node   *yaml.Node // the mapping
	idNode *yaml.Node
	at     map[string]*yaml.Node // alert's field ("slack.url", "name") → value
	bad    map[string]bool       // alert's fields already reported
	// secrets are the variables the channel reads.
	secrets []secretUse
}

// secretUse is one ${{ env.NAME }} reference.
type secretUse struct {
	name  string
	node  *yaml.Node
	field string
}

func (c *channelEntry) prefix() string { return fmt.Sprintf("alert_channels[%d]", c.index) }

// alertField names a channel key as alert.ChannelConfig.Validate does.
func alertField(kind alert.ChannelKind, key string) string {
	switch key {
	case "id":
		return "name"
	case "type", "timeout":
		return key
	}
	return string(kind) + "." + key
}

// channel decodes one item of alert_channels. A key the channel's type
// does not read is an error, as a step's is.
func (d *decoder) channel(n *yaml.Node, i int) *channelEntry {
	c := &channelEntry{index: i, node: n, at: map[string]*yaml.Node{}, bad: map[string]bool{}}
	prefix := c.prefix()
	if n.Kind != yaml.MappingNode {
		d.problem(n, prefix, "must be a mapping with id, type and the type's settings, got %s", describe(n))
		return nil
	}
	where := "in " + prefix
	if id := d.peek(n, "id"); id != nil && id.Kind == yaml.ScalarNode && !isNull(id) {
		where = fmt.Sprintf("in channel %q", clip(id.Value))
	}
	var kind alert.ChannelKind
	if t := d.peek(n, "type"); t != nil && t.Kind == yaml.ScalarNode {
		kind = alert.ChannelKind(t.Value)
	}
	cfg := &c.cfg
	switch kind {
	case alert.KindWebhook:
		cfg.Webhook = &alert.WebhookConfig{}
	case alert.KindSlack:
		cfg.Slack = &alert.SlackConfig{}
	case alert.KindEmail:
		cfg.Email = &alert.EmailConfig{}
	case alert.KindPagerDuty:
		cfg.PagerDuty = &alert.PagerDutyConfig{}
	case alert.KindOpsgenie:
		cfg.Opsgenie = &alert.OpsgenieConfig{}
	}
	uses, known := channelFields[kind]
	typos := d.fields(n, where, channelKeys, func(key string, k, v *yaml.Node) {
		field, af := prefix+"."+key, alertField(kind, key)
		c.at[af] = v
		if key != "id" && key != "type" && key != "timeout" {
			if !known {
				return // the type is the problem
			}
			if !contains(uses, key) {
				d.problem(k, field, "is not used by %s channels (%s takes %s)", kind, kind, takes(uses))
				return
			}
		}
		var bad bool
		switch key {
		case "timeout":
			cfg.Timeout, bad = d.duration(v, field, false)
		case "port":
			cfg.Email.Port, bad = d.integer(v, field)
		case "headers":
			bad = d.channelHeaders(c, kind, field, v)
		case "to":
			bad = d.recipients(c, field, v)
		default:
			var s string
			if s, bad = d.text(v, field); !bad {
				bad = d.channelText(c, kind, key, field, s, v)
				c.set(key, s)
			}
		}
		if bad {
			c.bad[af] = true
		}
	})
	for _, key := range typos {
		c.bad[alertField(kind, key)] = true
	}
	if c.idNode != nil && cfg.Name != "" && !check.ValidID(cfg.Name) && !c.bad["name"] {
		d.problem(c.idNode, prefix+".id", "%q is not a valid id (letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128)", clip(cfg.Name))
		c.bad["name"] = true
	}
	return c
}

// set stores a text key in the config of the channel's type.
func (c *channelEntry) set(key, s string) {
	cfg := &c.cfg
	switch key {
	case "id":
		cfg.Name, c.idNode = s, c.at["name"]
	case "type":
		cfg.Kind = alert.ChannelKind(s)
	}
	switch {
	case cfg.Webhook != nil:
		switch key {
		case "url":
			cfg.Webhook.URL = s
		case "secret":
			cfg.Webhook.Secret = s
		}
	case cfg.Slack != nil:
		if key == "url" {
			cfg.Slack.URL = s
		}
	case cfg.Email != nil:
		switch key {
		case "host":
			cfg.Email.Host = s
		case "username":
			cfg.Email.Username = s
		case "password":
			cfg.Email.Password = s
		case "from":
			cfg.Email.From = s
		}
	case cfg.PagerDuty != nil:
		switch key {
		case "url":
			cfg.PagerDuty.URL = s
		case "routing_key":
			cfg.PagerDuty.RoutingKey = s
		case "severity":
			cfg.PagerDuty.Severity = s
		}
	case cfg.Opsgenie != nil:
		switch key {
		case "url":
			cfg.Opsgenie.URL = s
		case "api_key":
			cfg.Opsgenie.APIKey = s
		case "priority":
			cfg.Opsgenie.Priority = s
		}
	}
}

// channelText checks the references in the text value of key and
// refuses a credential written in clear, without repeating it. It reports
// whether it found a problem.
func (d *decoder) channelText(c *channelEntry, kind alert.ChannelKind, key, field, s string, n *yaml.Node) bool {
	if bad, refs := d.references(c, kind, key, field, s, n); bad || refs > 0 {
		return bad
	}
	switch {
	case kind == alert.KindSlack && key == "url":
		d.problem(n, field, "a Slack webhook URL is its own credential: write it as ${{ env.NAME }}")
		return true
	case key == "url":
		u, err := url.Parse(s)
		if err != nil {
			return false // alert's validation says it is not a URL
		}
		if _, ok := u.User.Password(); ok {
			d.problem(n, field, "holds a password in clear: write the URL as ${{ env.NAME }}")
			return true
		}
		for name := range u.Query() {
			if credentialName.MatchString(name) {
				d.problem(n, field, "query parameter %q looks like a credential: write the URL as ${{ env.NAME }}", clip(name))
				return true
			}
		}
	}
	return false
}

// references checks every ${{ env.NAME }} in s: well formed, in a field
// Resolve reads, naming a variable the checks file may read. It records
// the good ones and returns whether any was bad and how many there are.
func (d *decoder) references(c *channelEntry, kind alert.ChannelKind, key, field, s string, n *yaml.Node) (bad bool, refs int) {
	if !strings.Contains(s, "${{") {
		return false, 0
	}
	found := secretRef.FindAllStringSubmatch(s, -1)
	if len(found) != strings.Count(s, "${{") {
		d.problem(n, field, "holds a malformed reference: write ${{ env.NAME }}, NAME of letters, digits and _")
		return true, len(found)
	}
	if !contains(secretFields[kind], key) {
		d.problem(n, field, "takes no ${{ env.NAME }} reference: %s channels read them in %s only", kind, takes(secretFields[kind]))
		return true, len(found)
	}
	for _, m := range found {
		if !strings.HasPrefix(m[1], SecretPrefix) || m[1] == SecretPrefix {
			d.problem(n, field, "${{ env.%s }}: a checks file reads only variables named %s*, never the control plane's own settings and credentials", clip(m[1]), SecretPrefix)
			bad = true
			continue
		}
		c.secrets = append(c.secrets, secretUse{name: m[1], node: n, field: field})
	}
	return bad, len(found)
}

// channelHeaders reads a webhook's extra headers: a mapping of name to
// text. A header whose name says credential must be a reference.
func (d *decoder) channelHeaders(c *channelEntry, kind alert.ChannelKind, field string, v *yaml.Node) bool {
	if v.Kind != yaml.MappingNode {
		d.problem(v, field, "must be a mapping of header name to value, got %s", describe(v))
		return true
	}
	bad := false
	h := map[string]string{}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := d.deref(v.Content[i]), d.deref(v.Content[i+1])
		if k == nil || val == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.problem(k, field, "header names must be text, got %s", describe(k))
			bad = true
			continue
		}
		hf := field + "." + clip(k.Value)
		if prev, ok := seen[strings.ToLower(k.Value)]; ok {
			d.problem(k, hf, "repeats the header on line %d", prev.Line)
			bad = true
			continue
		}
		seen[strings.ToLower(k.Value)] = k
		s, b := d.text(val, hf)
		if b {
			bad = true
			continue
		}
		b, refs := d.references(c, kind, "headers", hf, s, val)
		if !b && refs == 0 && credentialName.MatchString(k.Value) && s != "" {
			d.problem(val, hf, "looks like a credential: write it as ${{ env.NAME }}")
			b = true
		}
		bad = bad || b
		h[k.Value] = s
		c.at["webhook.headers."+k.Value] = val
	}
	c.cfg.Webhook.Headers = h
	return bad
}

// recipients reads email's to: a list of addresses, or one.
func (d *decoder) recipients(c *channelEntry, field string, v *yaml.Node) bool {
	if v.Kind == yaml.ScalarNode {
		s, bad := d.text(v, field)
		c.cfg.Email.To = []string{s}
		c.at["email.to[0]"] = v
		return bad || d.noReference(c, field, s, v)
	}
	l := d.list(v, v, field)
	c.cfg.Email.To = l.v
	bad := l.bad
	for i, item := range l.items {
		c.at[fmt.Sprintf("email.to[%d]", i)] = item
		bad = d.noReference(c, fmt.Sprintf("%s[%d]", field, l.index[i]), l.v[i], item) || bad
	}
	return bad
}

func (d *decoder) noReference(c *channelEntry, field, s string, n *yaml.Node) bool {
	bad, _ := d.references(c, alert.KindEmail, "to", field, s, n)
	return bad
}

// windowEntry is one item of maintenance.
type windowEntry struct {
	w            alert.MaintenanceWindow
	index        int
	node, idNode *yaml.Node
	at           map[string]*yaml.Node
	bad          map[string]bool
	checks, tags list
}

func (w *windowEntry) prefix() string { return fmt.Sprintf("maintenance[%d]", w.index) }

// window decodes one item of maintenance.
func (d *decoder) window(n *yaml.Node, i int) *windowEntry {
	w := &windowEntry{index: i, node: n, at: map[string]*yaml.Node{}, bad: map[string]bool{}}
	prefix := w.prefix()
	if n.Kind != yaml.MappingNode {
		d.problem(n, prefix, "must be a mapping with id, cron and duration (or start and end), and checks or tags, got %s", describe(n))
		return nil
	}
	where := "in " + prefix
	if id := d.peek(n, "id"); id != nil && id.Kind == yaml.ScalarNode && !isNull(id) {
		where = fmt.Sprintf("in maintenance %q", clip(id.Value))
	}
	typos := d.fields(n, where, windowKeys, func(key string, k, v *yaml.Node) {
		field := prefix + "." + key
		w.at[key] = v
		var bad bool
		switch key {
		case "id", "cron", "timezone":
			var s string
			s, bad = d.text(v, field)
			switch key {
			case "id":
				w.w.ID, w.idNode = s, v
				if !bad && !check.ValidID(s) {
					d.problem(v, field, "%q is not a valid id (letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128)", clip(s))
					bad = true
				}
			case "cron":
				w.w.Cron = s
			case "timezone":
				w.w.Timezone = s
			}
		case "start", "end":
			var t time.Time
			t, bad = d.timestamp(v, field)
			if key == "start" {
				w.w.Start = t
			} else {
				w.w.End = t
			}
		case "duration":
			w.w.Duration, bad = d.duration(v, field, false)
		case "checks":
			w.checks = d.list(k, v, field)
			w.w.CheckIDs, bad = w.checks.v, w.checks.bad
		case "tags":
			w.tags = d.list(k, v, field)
			w.w.Tags, bad = w.tags.v, w.tags.bad
		}
		if bad {
			w.bad[key] = true
		}
	})
	for _, key := range typos {
		w.bad[key] = true
	}
	return w
}

// timestamp reads an RFC 3339 time with its offset.
func (d *decoder) timestamp(n *yaml.Node, field string) (time.Time, bool) {
	s, bad := d.text(n, field)
	if bad {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d.problem(n, field, "must be a time like 2025-06-01T02:00:00Z or 2025-06-01T04:00:00+02:00 (RFC 3339, with its offset), got %q", clip(s))
		return time.Time{}, true
	}
	return t, false
}

// validateAlerting validates what the file's alerting keys say with
// package alert, putting each problem on the line of the key it names,
// and computes every check's policy.
func (d *decoder) validateAlerting(entries []*entry) {
	fa := d.alerting
	for _, c := range fa.channels {
		d.validateChannel(c)
	}
	for _, w := range fa.windows {
		d.validateWindow(w)
	}
	if l := fa.policy; l != nil && !l.invalid {
		p, from := alert.DefaultPolicy(), map[string]*policyLayer{}
		l.apply(&p, from)
		for _, pr := range problemsOf(p.Validate()) {
			if !l.bad[pr.Field] {
				d.problem(l.site(pr.Field), "alert_policy."+pr.Field, "%s", pr.Message)
			}
		}
	}
	for _, e := range entries {
		d.checkPolicy(e)
	}
}

// checkPolicy merges e's policy and validates it for e.
func (d *decoder) checkPolicy(e *entry) {
	fa := d.alerting
	p, from := alert.DefaultPolicy(), map[string]*policyLayer{}
	fa.policy.apply(&p, from)
	e.alert.apply(&p, from)
	e.policy = p
	if (fa.policy != nil && fa.policy.invalid) || (e.alert != nil && e.alert.invalid) || e.check.ValidateDefinition() != nil {
		return
	}
	for _, pr := range problemsOf(p.ValidateFor(e.check)) {
		l := from[pr.Field]
		switch {
		case (e.alert == nil || l != e.alert) && fa.policy != nil && fa.policy.reported(pr):
			// alert_policy alone has the problem: reported on its line.
		case l == nil:
			n := e.start
			if e.alert != nil {
				n = e.alert.key
			}
			d.problem(n, "alert."+pr.Field, "%s", pr.Message)
		case l.bad[pr.Field]:
		case l == e.alert:
			d.problem(l.site(pr.Field), "alert."+pr.Field, "%s", pr.Message)
		default:
			// A value of the file's alert_policy that is wrong for some
			// checks: reported once, naming them.
			d.share(e, l.site(pr.Field), "alert_policy."+pr.Field, pr.Message)
		}
	}
}

// reported reports whether l, over the built-in defaults, has problem p.
func (l *policyLayer) reported(p check.Problem) bool {
	q, from := alert.DefaultPolicy(), map[string]*policyLayer{}
	l.apply(&q, from)
	for _, pr := range problemsOf(q.Validate()) {
		if pr == p {
			return true
		}
	}
	return false
}

// share holds a problem with a shared value (defaults, alert_policy) to be
// reported once for all the checks it affects (see flushShared).
func (d *decoder) share(e *entry, n *yaml.Node, field, message string) {
	key := sharedKey{n, field, message}
	if d.shared[key] == nil {
		d.sharedOrder = append(d.sharedOrder, key)
		d.shared[key] = new([]string)
	}
	label := e.name
	if e.idNode != nil && e.check.ID != "" {
		label = fmt.Sprintf("%q", clip(e.check.ID))
	}
	*d.shared[key] = append(*d.shared[key], label)
}

func (d *decoder) validateChannel(c *channelEntry) {
	for _, pr := range problemsOf(c.cfg.Validate()) {
		if c.suppressed(pr.Field) {
			continue
		}
		n, ok := c.at[pr.Field]
		if !ok {
			n = c.node
		}
		d.problem(n, c.prefix()+"."+channelKey(pr.Field), "%s", pr.Message)
	}
}

func (c *channelEntry) suppressed(field string) bool {
	for f := field; f != ""; f = parent(f) {
		if c.bad[f] {
			return true
		}
	}
	return false
}

// channelKey names alert's field of a channel as the checks file does:
// "slack.url" is url, "name" is id.
func channelKey(field string) string {
	if field == "name" {
		return "id"
	}
	if i := strings.IndexByte(field, '.'); i >= 0 {
		return field[i+1:]
	}
	if _, ok := channelFields[alert.ChannelKind(field)]; ok {
		return "type"
	}
	return field
}

func (d *decoder) validateWindow(w *windowEntry) {
	timing := w.bad["start"] || w.bad["end"] || w.bad["cron"] || w.bad["duration"] || w.bad["timezone"]
	for _, pr := range problemsOf(w.w.Validate()) {
		f := pr.Field
		if w.bad[f] || (timing && f != "id" && f != "checks") || (f == "checks" && (w.bad["tags"] || w.bad["checks"])) {
			continue
		}
		n, ok := w.at[f]
		if !ok {
			n = w.node
		}
		d.problem(n, w.prefix()+"."+f, "%s", pr.Message)
	}
}

// problemsOf returns the problems of a *alert.ValidationError, or none.
func problemsOf(err error) []check.Problem {
	if err == nil {
		return nil
	}
	return err.(*alert.ValidationError).Problems
}
