package channel

import (
	"context"
	"testing"

	"github.com/checkfleet/checkfleet/internal/alert"
)

func TestSlackIncomingWebhook(t *testing.T) {
	rc := newReceiver(t, 200, "ok")
	s := sender(t, alert.ChannelConfig{Name: "slack", Kind: alert.KindSlack, Slack: &alert.SlackConfig{URL: "${{ env.SLACK_URL }}"}},
		map[string]string{"SLACK_URL": rc.URL + "/services/T000/B000/XXXX"})
	if err := s.Send(context.Background(), trigger()); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), recovery()); err != nil {
		t.Fatal(err)
	}
	got := rc.requests()
	if got[0].path != "/services/T000/B000/XXXX" || got[0].header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %v", got[0].path, got[0].header)
	}
	// text is the notification fallback; mrkdwn escapes &, < and >.
	sameJSON(t, got[0].body, `{
		"text": "API <prod> is down since 2026-03-02T10:00:30Z",
		"blocks": [
			{"type": "header", "text": {"type": "plain_text", "text": "Alert: API <prod>"}},
			{"type": "section", "text": {"type": "mrkdwn", "text": "API &lt;prod&gt; is down since 2026-03-02T10:00:30Z"}},
			{"type": "section", "fields": [
				{"type": "mrkdwn", "text": "*Check*\napi"},
				{"type": "mrkdwn", "text": "*Since*\n2026-03-02T10:00:30Z"},
				{"type": "mrkdwn", "text": "*Locations*\neu-west-1, us-east-1"},
				{"type": "mrkdwn", "text": "*Status*\nfailed"},
				{"type": "mrkdwn", "text": "*Error*\nstatus 503 &amp; &lt;html&gt;"}
			]},
			{"type": "context", "elements": [{"type": "mrkdwn", "text": "incident api/*/down/1772445630000"}]}
		]
	}`)
	sameJSON(t, got[1].body, `{
		"text": "API <prod> is up again after 1m30s",
		"blocks": [
			{"type": "header", "text": {"type": "plain_text", "text": "Resolved: API <prod>"}},
			{"type": "section", "text": {"type": "mrkdwn", "text": "API &lt;prod&gt; is up again after 1m30s"}},
			{"type": "section", "fields": [
				{"type": "mrkdwn", "text": "*Check*\napi"},
				{"type": "mrkdwn", "text": "*Since*\n2026-03-02T10:00:30Z"},
				{"type": "mrkdwn", "text": "*Locations*\neu-west-1, us-east-1"},
				{"type": "mrkdwn", "text": "*Down for*\n1m30s"}
			]},
			{"type": "context", "elements": [{"type": "mrkdwn", "text": "incident api/*/down/1772445630000"}]}
		]
	}`)

	// Slack answers a bad payload 400 invalid_payload: permanent, and the
	// URL (the token) is not in the error.
	rc.status, rc.answer = 400, "invalid_payload"
	err := s.Send(context.Background(), trigger())
	if err == nil || Retryable(err) || contains(err.Error(), "XXXX") || !contains(err.Error(), "invalid_payload") {
		t.Errorf("got %v", err)
	}
}
