package channel

import (
	"context"
	"testing"

	"github.com/checkfleet/checkfleet/internal/alert"
)

func TestOpsgenieCreateAndCloseByAlias(t *testing.T) {
	rc := newReceiver(t, 202, `{"result":"Request will be processed","took":0.302,"requestId":"43a29c5c-3dbf-4fa4-9c26-f4f71023e120"}`)
	s := sender(t, alert.ChannelConfig{Name: "og", Kind: alert.KindOpsgenie,
		Opsgenie: &alert.OpsgenieConfig{URL: rc.URL + "/", APIKey: "${{ env.OPSGENIE_KEY }}", Priority: "P2"}},
		map[string]string{"OPSGENIE_KEY": "eb243592-faa2-4ba2-a551q-1afdf565c889"})
	for _, n := range []alert.Notification{trigger(), recovery()} {
		if err := s.Send(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	got := rc.requests()
	if got[0].method != "POST" || got[0].path != "/v2/alerts" || got[0].query != "" ||
		got[0].header.Get("Authorization") != "GenieKey eb243592-faa2-4ba2-a551q-1afdf565c889" {
		t.Errorf("create: %s %s?%s %v", got[0].method, got[0].path, got[0].query, got[0].header)
	}
	sameJSON(t, got[0].body, `{
		"message": "API <prod> is down since 2026-03-02T10:00:30Z",
		"alias": "api:*:down:1772445630000",
		"description": "API <prod> is down since 2026-03-02T10:00:30Z\n\nstatus 503 & <html>",
		"tags": ["checkfleet", "down"],
		"details": {"check": "api", "scope": "*", "track": "down", "incident_id": "api/*/down/1772445630000",
			"since": "2026-03-02T10:00:30Z", "status": "failed", "run_id": "run-2", "locations": "eu-west-1,us-east-1"},
		"entity": "api",
		"source": "checkfleet",
		"priority": "P2"
	}`)
	if got[1].path != "/v2/alerts/api:*:down:1772445630000/close" || got[1].query != "identifierType=alias" ||
		got[1].header.Get("Authorization") != "GenieKey eb243592-faa2-4ba2-a551q-1afdf565c889" {
		t.Errorf("close: %s?%s", got[1].path, got[1].query)
	}
	sameJSON(t, got[1].body, `{"source": "checkfleet", "note": "API <prod> is up again after 1m30s"}`)

	// A message longer than Opsgenie's 130 characters is cut.
	n := trigger()
	n.CheckName = string(make([]byte, 200))
	if m := NewOpsgenieCreate("", n).Message; len([]rune(m)) != 130 {
		t.Errorf("message of %d runes", len([]rune(m)))
	}
	rc.status, rc.answer = 422, `{"message":"Request body is not processable","took":0.0,"requestId":"x"}`
	if err := s.Send(context.Background(), trigger()); err == nil || Retryable(err) || contains(err.Error(), "eb243592") {
		t.Errorf("422: %v", err)
	}
}
