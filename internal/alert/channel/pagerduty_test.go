package channel

import (
	"context"
	"strings"
	"testing"

	"github.com/checkfleet/checkfleet/internal/alert"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestPagerDutyEventsV2(t *testing.T) {
	rc := newReceiver(t, 202, `{"status":"success","message":"Event processed","dedup_key":"api/*/down/1772445630000"}`)
	s := sender(t, alert.ChannelConfig{Name: "pd", Kind: alert.KindPagerDuty,
		PagerDuty: &alert.PagerDutyConfig{URL: rc.URL + "/v2/enqueue", RoutingKey: "${{ env.PD_ROUTING_KEY }}"}},
		map[string]string{"PD_ROUTING_KEY": "R0UT1NGK3Y0000000000000000000000"})
	rem := trigger()
	rem.Kind, rem.Seq, rem.Key = alert.KindReminder, 1, rem.IncidentID+"/reminder/1"
	for _, n := range []alert.Notification{trigger(), rem, recovery()} {
		if err := s.Send(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	got := rc.requests()
	if got[0].path != "/v2/enqueue" || got[0].method != "POST" {
		t.Errorf("request %s %s", got[0].method, got[0].path)
	}
	sameJSON(t, got[0].body, `{
		"routing_key": "R0UT1NGK3Y0000000000000000000000",
		"event_action": "trigger",
		"dedup_key": "api/*/down/1772445630000",
		"client": "checkfleet",
		"payload": {
			"summary": "API <prod> is down since 2026-03-02T10:00:30Z",
			"source": "checkfleet:api",
			"severity": "critical",
			"timestamp": "2026-03-02T10:01:00Z",
			"component": "api",
			"class": "down",
			"custom_details": {
				"incident_id": "api/*/down/1772445630000", "since": "2026-03-02T10:00:30Z",
				"locations": ["eu-west-1", "us-east-1"], "status": "failed", "run_id": "run-2",
				"error": "status 503 & <html>"
			}
		}
	}`)
	// A reminder is a trigger on the same dedup_key: PagerDuty logs it on the open alert.
	sameJSON(t, got[1].body, strings.Replace(strings.Replace(string(got[0].body),
		`"error":`, `"reminder":1,"error":`, 1), `API \u003cprod\u003e is down`, `reminder 1: API \u003cprod\u003e is down`, 1))
	sameJSON(t, got[2].body, `{
		"routing_key": "R0UT1NGK3Y0000000000000000000000",
		"event_action": "resolve",
		"dedup_key": "api/*/down/1772445630000"
	}`)

	// Per location, the dedup key and source name the location.
	n := trigger()
	n.Scope, n.IncidentID = "eu-west-1", "api/eu-west-1/down/1772445630000"
	ev := NewPagerDutyEvent("k", "critical", n)
	if ev.DedupKey != "api/eu-west-1/down/1772445630000" || ev.Payload.Source != "checkfleet:api@eu-west-1" || ev.Payload.Group != "eu-west-1" {
		t.Errorf("per location: %+v %+v", ev, ev.Payload)
	}

	// 400 (invalid event) is permanent and does not show the routing key;
	// 429 (throttled) is retried.
	rc.status, rc.answer = 400, `{"status":"invalid event","message":"Event object is invalid","errors":["'routing_key' R0UT1NGK3Y0000000000000000000000 invalid"]}`
	err := s.Send(context.Background(), trigger())
	if err == nil || Retryable(err) || contains(err.Error(), "R0UT1NGK3Y") {
		t.Errorf("400: %v", err)
	}
	rc.status = 429
	if err := s.Send(context.Background(), trigger()); !Retryable(err) {
		t.Errorf("429: %v", err)
	}
}
