package channel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/alert"
)

// Opsgenie creates an alert per incident (a reminder creates it again,
// which Opsgenie counts on the open alert with the same alias) and closes
// it by alias: POST /v2/alerts and POST /v2/alerts/{alias}/close?identifierType=alias,
// with "Authorization: GenieKey <key>".
type Opsgenie struct {
	p        poster
	base     string
	key      alert.Secret
	priority string
}

func newOpsgenie(r alert.Resolved, o Options) (*Opsgenie, error) {
	return &Opsgenie{p: poster{name: r.Name, kind: r.Kind, client: o.HTTPClient, agent: o.UserAgent,
		secrets: []string{r.Token.Reveal()}}, base: r.URL.Reveal(), key: r.Token, priority: r.Severity}, nil
}

// OpsgenieCreate is the body of a create-alert request.
type OpsgenieCreate struct {
	Message     string            `json:"message"`
	Alias       string            `json:"alias"`
	Description string            `json:"description"`
	Tags        []string          `json:"tags"`
	Details     map[string]string `json:"details"`
	Entity      string            `json:"entity"`
	Source      string            `json:"source"`
	Priority    string            `json:"priority,omitempty"`
}

// OpsgenieClose is the body of a close-alert request.
type OpsgenieClose struct {
	Source string `json:"source"`
	Note   string `json:"note"`
}

// OpsgenieAlias is the alias of n's incident: its id with ':' for '/'.
func OpsgenieAlias(n alert.Notification) string {
	return truncate(strings.ReplaceAll(n.IncidentID, "/", ":"), 512)
}

// NewOpsgenieCreate returns the create request of a trigger or reminder.
func NewOpsgenieCreate(priority string, n alert.Notification) OpsgenieCreate {
	details := map[string]string{"check": n.CheckID, "scope": n.Scope, "track": string(n.Track), "incident_id": n.IncidentID,
		"since": n.Since.UTC().Format(time.RFC3339), "status": string(n.Status), "run_id": n.RunID}
	if len(n.Locations) > 0 {
		details["locations"] = strings.Join(n.Locations, ",")
	}
	desc := n.Summary()
	if n.Error != "" {
		desc += "\n\n" + n.Error
	}
	return OpsgenieCreate{Message: truncate(n.Summary(), 130), Alias: OpsgenieAlias(n), Description: truncate(desc, 15000),
		Tags: []string{"checkfleet", string(n.Track)}, Details: details, Entity: n.CheckID, Source: "checkfleet", Priority: priority}
}

// Send creates or closes n's alert.
func (o *Opsgenie) Send(ctx context.Context, n alert.Notification) error {
	h := http.Header{"Authorization": {"GenieKey " + o.key.Reveal()}}
	var body any = NewOpsgenieCreate(o.priority, n)
	u := o.base + "/v2/alerts"
	if n.Kind == alert.KindRecovery {
		body = OpsgenieClose{Source: "checkfleet", Note: n.Summary()}
		u = o.base + "/v2/alerts/" + url.PathEscape(OpsgenieAlias(n)) + "/close?identifierType=alias"
	}
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode notification %s: %w", n.Key, err)
	}
	return o.p.post(ctx, u, h, b)
}
