package channel

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/checkfleet/checkfleet/internal/alert"
)

func TestWebhookDocumentAndSignature(t *testing.T) {
	rc := newReceiver(t, 204, "")
	s := sender(t, alert.ChannelConfig{Name: "hook", Kind: alert.KindWebhook, Webhook: &alert.WebhookConfig{
		URL: rc.URL + "/hooks/checkfleet", Secret: "${{ env.HOOK_SECRET }}", Headers: map[string]string{"X-Team": "ops"}}},
		map[string]string{"HOOK_SECRET": "hm4c-k3y"})
	if err := s.Send(context.Background(), trigger()); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), recovery()); err != nil {
		t.Fatal(err)
	}
	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests", len(got))
	}
	r := got[0]
	if r.method != "POST" || r.path != "/hooks/checkfleet" || r.header.Get("Content-Type") != "application/json" ||
		r.header.Get("X-Team") != "ops" || r.header.Get(KeyHeader) != "api/*/down/1772445630000/trigger" {
		t.Errorf("request %s %s %v", r.method, r.path, r.header)
	}
	mac := hmac.New(sha256.New, []byte("hm4c-k3y"))
	mac.Write(r.body)
	if sig := r.header.Get(SignatureHeader); sig != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("signature %q, want the HMAC-SHA256 of the body", sig)
	}
	sameJSON(t, r.body, `{
		"schema": "checkfleet.notification/v1",
		"key": "api/*/down/1772445630000/trigger",
		"incident_id": "api/*/down/1772445630000",
		"kind": "trigger", "track": "down",
		"check": {"id": "api", "name": "API <prod>"},
		"scope": "*", "sequence": 0,
		"summary": "API <prod> is down since 2026-03-02T10:00:30Z",
		"at": "2026-03-02T10:01:00Z", "since": "2026-03-02T10:00:30Z",
		"locations": ["eu-west-1", "us-east-1"],
		"status": "failed", "error": "status 503 & <html>", "run_id": "run-2"
	}`)
	sameJSON(t, got[1].body, `{
		"schema": "checkfleet.notification/v1",
		"key": "api/*/down/1772445630000/recovery",
		"incident_id": "api/*/down/1772445630000",
		"kind": "recovery", "track": "down",
		"check": {"id": "api", "name": "API <prod>"},
		"scope": "*", "sequence": 0,
		"summary": "API <prod> is up again after 1m30s",
		"at": "2026-03-02T10:02:00Z", "since": "2026-03-02T10:00:30Z", "down_ms": 90000,
		"locations": ["eu-west-1", "us-east-1"],
		"status": "passed", "run_id": "run-4"
	}`)

	// Without a secret, no signature header.
	s = sender(t, alert.ChannelConfig{Name: "plain", Kind: alert.KindWebhook, Webhook: &alert.WebhookConfig{URL: rc.URL}}, nil)
	if err := s.Send(context.Background(), trigger()); err != nil {
		t.Fatal(err)
	}
	if h := rc.requests()[2].header; h.Get(SignatureHeader) != "" {
		t.Errorf("unsigned webhook sent %q", h.Get(SignatureHeader))
	}
}
