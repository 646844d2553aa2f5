package channel

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/checkfleet/checkfleet/internal/alert"
)

// PagerDuty sends Events API v2 events: a trigger (and a trigger again for
// a reminder, which PagerDuty adds to the open alert) and a resolve, with
// the incident id as dedup_key, so it is stable per check and location
// for as long as the incident lasts.
type PagerDuty struct {
	p        poster
	url      string
	key      alert.Secret
	severity string
}

func newPagerDuty(r alert.Resolved, o Options) (*PagerDuty, error) {
	return &PagerDuty{p: poster{name: r.Name, kind: r.Kind, client: o.HTTPClient, agent: o.UserAgent,
		secrets: []string{r.Token.Reveal()}}, url: r.URL.Reveal(), key: r.Token, severity: r.Severity}, nil
}

// PagerDutyEvent is an Events API v2 event.
type PagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"`
	DedupKey    string            `json:"dedup_key"`
	Payload     *PagerDutyPayload `json:"payload,omitempty"`
	Client      string            `json:"client,omitempty"`
}

// PagerDutyPayload is the payload of a trigger.
type PagerDutyPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp"`
	Component     string         `json:"component"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class"`
	CustomDetails map[string]any `json:"custom_details"`
}

// NewPagerDutyEvent returns the event of n.
func NewPagerDutyEvent(routingKey, severity string, n alert.Notification) PagerDutyEvent {
	ev := PagerDutyEvent{RoutingKey: routingKey, EventAction: "trigger", DedupKey: truncate(n.IncidentID, 255), Client: "checkfleet"}
	if n.Kind == alert.KindRecovery {
		ev.EventAction, ev.Client = "resolve", ""
		return ev
	}
	switch n.Track {
	case alert.TrackCert:
		severity = "warning"
	case alert.TrackError:
		severity = "error"
	}
	source := "checkfleet:" + n.CheckID
	group := ""
	if n.Scope != alert.CheckScope {
		source += "@" + n.Scope
		group = n.Scope
	}
	details := map[string]any{"incident_id": n.IncidentID, "since": n.Since.UTC().Format(time.RFC3339), "locations": n.Locations,
		"status": string(n.Status), "run_id": n.RunID}
	if n.Error != "" {
		details["error"] = n.Error
	}
	if n.Flapping {
		details["flapping"] = true
	}
	if n.Kind == alert.KindReminder {
		details["reminder"] = n.Seq
	}
	if !n.CertNotAfter.IsZero() {
		details["cert_not_after"] = n.CertNotAfter.UTC().Format(time.RFC3339)
	}
	ev.Payload = &PagerDutyPayload{Summary: truncate(n.Summary(), 1024), Source: source, Severity: severity,
		Timestamp: n.At.UTC().Format(time.RFC3339), Component: n.CheckID, Group: group, Class: string(n.Track), CustomDetails: details}
	return ev
}

// Send enqueues n's event.
func (p *PagerDuty) Send(ctx context.Context, n alert.Notification) error {
	body, err := json.Marshal(NewPagerDutyEvent(p.key.Reveal(), p.severity, n))
	if err != nil {
		return fmt.Errorf("encode notification %s: %w", n.Key, err)
	}
	return p.p.post(ctx, p.url, nil, body)
}
