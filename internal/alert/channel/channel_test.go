package channel

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/check"
)

var since = time.Date(2026, 3, 2, 10, 0, 30, 0, time.UTC)

// trigger is the notification the tests send: check "api" down in two
// locations.
func trigger() alert.Notification {
	id := "api/*/down/1772445630000"
	return alert.Notification{Key: id + "/trigger", IncidentID: id, Kind: alert.KindTrigger, Track: alert.TrackDown,
		CheckID: "api", CheckName: "API <prod>", Scope: alert.CheckScope, At: since.Add(30 * time.Second), Since: since,
		Locations: []string{"eu-west-1", "us-east-1"}, Status: check.StatusFailed, Error: "status 503 & <html>", RunID: "run-2"}
}

func recovery() alert.Notification {
	n := trigger()
	n.Key, n.Kind, n.At, n.Down, n.Status, n.Error, n.RunID = n.IncidentID+"/recovery", alert.KindRecovery,
		since.Add(90*time.Second), 90*time.Second, check.StatusPassed, "", "run-4"
	return n
}

// request is what a receiver got.
type request struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// receiver is a loopback HTTP server that records requests and answers
// status (and body).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []request
	status int
	answer string
}

func newReceiver(t *testing.T, status int, answer string) *receiver {
	rc := &receiver{status: status, answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), b})
		status, answer := rc.status, rc.answer
		rc.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.got...)
}

// sender resolves cfg with env and builds its Sender.
func sender(t *testing.T, cfg alert.ChannelConfig, env map[string]string) Sender {
	t.Helper()
	r, err := cfg.Resolve(func(n string) (string, bool) { v, ok := env[n]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sameJSON fails unless got and want are the same JSON value.
func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestErrorsClassify(t *testing.T) {
	env := map[string]string{"HOOK": "s3cr3t-in-url"}
	for _, tt := range []struct {
		status int
		retry  bool
	}{{500, true}, {503, true}, {429, true}, {408, true}, {400, false}, {403, false}, {404, false}} {
		rc := newReceiver(t, tt.status, `{"error":"nope"}`)
		s := sender(t, alert.ChannelConfig{Name: "h", Kind: alert.KindWebhook,
			Webhook: &alert.WebhookConfig{URL: rc.URL + "/${{ env.HOOK }}"}}, env)
		err := s.Send(context.Background(), trigger())
		var se *Error
		if !errors.As(err, &se) || se.Status != tt.status || Retryable(err) != tt.retry {
			t.Errorf("status %d: got %v, want retryable %v", tt.status, err, tt.retry)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error shows the URL's secret: %v", err)
		}
	}

	t.Run("refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		s := sender(t, alert.ChannelConfig{Name: "h", Kind: alert.KindWebhook,
			Webhook: &alert.WebhookConfig{URL: "http://" + addr + "/${{ env.HOOK }}"}}, env)
		err = s.Send(context.Background(), trigger())
		if !Retryable(err) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("refused: %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select { // answer only when the client gave up
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		s := sender(t, alert.ChannelConfig{Name: "h", Kind: alert.KindWebhook, Timeout: 50 * time.Millisecond,
			Webhook: &alert.WebhookConfig{URL: srv.URL + "/${{ env.HOOK }}"}}, env)
		err := s.Send(context.Background(), trigger())
		if !Retryable(err) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("timeout: %v", err)
		}
	})
}
