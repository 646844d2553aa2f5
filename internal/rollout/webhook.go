package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
)

// WebhookKind is the body a webhook is sent.
type WebhookKind string

// The webhook kinds.
const (
	// WebhookSlack posts {"text": "..."}, what a Slack incoming webhook
	// (and Mattermost, Rocket.Chat, ...) takes.
	WebhookSlack WebhookKind = "slack"
	// WebhookJSON posts {"event": "rollout", "rollout": fleetapi.Rollout}.
	WebhookJSON WebhookKind = "json"
)

// Webhook is where rollouts are announced.
type Webhook struct {
	Kind WebhookKind
	URL  string
}

// Validate checks the kind and that the URL is http(s) with a host.
func (w Webhook) Validate() error {
	if w.Kind != WebhookSlack && w.Kind != WebhookJSON {
		return fmt.Errorf("fleet webhook %q: kind %q is neither slack nor json", w.URL, w.Kind)
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("fleet webhook %q: want an http(s) URL", w.URL)
	}
	return nil
}

// JSONEvent is the body of a json webhook.
type JSONEvent struct {
	Event   string           `json:"event"`
	Rollout fleetapi.Rollout `json:"rollout"`
}

// announce tells the webhooks of rec's end, unless it is silent. A webhook
// that fails is logged and counted, never retried.
func (d *Driver) announce(rec fleet.Rollout) {
	if rec.Silent {
		return
	}
	for _, w := range d.cfg.Webhooks {
		var body any = JSONEvent{Event: "rollout", Rollout: fleetapi.RolloutOf(rec)}
		if w.Kind == WebhookSlack {
			body = struct {
				Text string `json:"text"`
			}{Text: slackText(rec)}
		}
		err := d.post(w.URL, body)
		result := "ok"
		if err != nil {
			result = "failed"
			d.log.Error().Err(err).Str("rollout", rec.ID).Str("webhook", string(w.Kind)).Msg("fleet: webhook")
		}
		d.metrics.webhooks.WithLabelValues(string(w.Kind), result).Inc()
	}
}

func (d *Driver) post(u string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.hc.Do(req)
	if err != nil {
		return fmt.Errorf("post to %s: %w", redact(u), err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("post to %s: %s", redact(u), resp.Status)
	}
	return nil
}

// redact keeps a webhook's secret path out of the logs.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "webhook"
	}
	return p.Scheme + "://" + p.Host + "/..."
}

// slackText says rec in one message.
func slackText(rec fleet.Rollout) string {
	what := fmt.Sprintf("%s %s of ring *%s*", rec.Kind, rec.To.Tag, rec.Ring)
	if rec.Percent < 100 {
		what += fmt.Sprintf(" (%d%%)", rec.Percent)
	}
	s := fmt.Sprintf("Fleet: %s by %s: *%s*", what, rec.Who, rec.Outcome)
	if rec.Message != "" {
		s += fmt.Sprintf("\n> %s", rec.Message)
	}
	s += fmt.Sprintf("\nfrom %s to %s, %s", rec.From, rec.To, rec.EndedAt.Sub(rec.StartedAt).Round(time.Second))
	if rec.Reason != "" {
		s += "\n" + rec.Reason
	}
	return s
}
