package channel

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/alert"
)

// Slack posts to an incoming webhook: a fallback text and Block Kit blocks
// (a header, the summary, the facts as fields, the incident as context).
type Slack struct {
	p   poster
	url alert.Secret
}

func newSlack(r alert.Resolved, o Options) (*Slack, error) {
	return &Slack{p: poster{name: r.Name, kind: r.Kind, client: o.HTTPClient, agent: o.UserAgent,
		secrets: []string{r.URL.Reveal()}}, url: r.URL}, nil
}

// SlackMessage is the incoming-webhook payload.
type SlackMessage struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is one layout block.
type SlackBlock struct {
	Type     string      `json:"type"`
	Text     *SlackText  `json:"text,omitempty"`
	Fields   []SlackText `json:"fields,omitempty"`
	Elements []SlackText `json:"elements,omitempty"`
}

// SlackText is a text object.
type SlackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// NewSlackMessage returns the Slack message of n.
func NewSlackMessage(n alert.Notification) SlackMessage {
	title := map[alert.Kind]string{alert.KindTrigger: "Alert", alert.KindReminder: "Still failing", alert.KindRecovery: "Resolved"}[n.Kind]
	if n.Track == alert.TrackCert && n.Kind != alert.KindRecovery {
		title = "Certificate expiring"
	}
	name := n.CheckName
	if name == "" {
		name = n.CheckID
	}
	fields := []SlackText{
		{Type: "mrkdwn", Text: "*Check*\n" + slackEscape(n.CheckID)},
		{Type: "mrkdwn", Text: "*Since*\n" + n.Since.UTC().Format(time.RFC3339)},
	}
	if len(n.Locations) > 0 {
		fields = append(fields, SlackText{Type: "mrkdwn", Text: "*Locations*\n" + slackEscape(strings.Join(n.Locations, ", "))})
	}
	if n.Kind == alert.KindRecovery {
		fields = append(fields, SlackText{Type: "mrkdwn", Text: "*Down for*\n" + n.Down.Round(time.Second).String()})
	} else if n.Status != "" {
		fields = append(fields, SlackText{Type: "mrkdwn", Text: "*Status*\n" + string(n.Status)})
	}
	if n.Error != "" {
		fields = append(fields, SlackText{Type: "mrkdwn", Text: "*Error*\n" + slackEscape(truncate(n.Error, 1900))})
	}
	return SlackMessage{
		Text: n.Summary(),
		Blocks: []SlackBlock{
			{Type: "header", Text: &SlackText{Type: "plain_text", Text: truncate(title+": "+name, 150)}},
			{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: slackEscape(truncate(n.Summary(), 2900))}},
			{Type: "section", Fields: fields},
			{Type: "context", Elements: []SlackText{{Type: "mrkdwn", Text: "incident " + slackEscape(n.IncidentID)}}},
		},
	}
}

// Send posts n.
func (s *Slack) Send(ctx context.Context, n alert.Notification) error {
	body, err := json.Marshal(NewSlackMessage(n))
	if err != nil {
		return fmt.Errorf("encode notification %s: %w", n.Key, err)
	}
	return s.p.post(ctx, s.url.Reveal(), nil, body)
}

// slackEscape escapes the three characters mrkdwn gives meaning to.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
