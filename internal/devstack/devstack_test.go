package devstack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/telemetry"
)

func startStack(t *testing.T, dataDir string) *Stack {
	t.Helper()
	cfg := DefaultConfig()
	cfg.SQSListen, cfg.Listen, cfg.DemoListen, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", dataDir
	cfg.Checks = "../../examples/checks.yaml"
	s, err := Start(context.Background(), cfg, zerolog.Nop(), telemetry.NewRegistry("scheduler"))
	if err != nil {
		t.Fatalf("start dev stack: %v", err)
	}
	return s
}

func TestStartProvisionsQueuesWithRedrive(t *testing.T) {
	s := startStack(t, t.TempDir())
	defer s.Close()
	client, err := queue.NewClient(context.Background(), queue.ClientConfig{Endpoint: s.SQSEndpoint, Local: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []queue.Provisioned{s.Jobs, s.Results} {
		out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(q.URL),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("attributes of %s: %v", q.URL, err)
		}
		var redrive struct {
			Target string `json:"deadLetterTargetArn"`
			Max    any    `json:"maxReceiveCount"`
		}
		if err := json.Unmarshal([]byte(out.Attributes["RedrivePolicy"]), &redrive); err != nil {
			t.Fatalf("redrive policy of %s: %v (%q)", q.URL, err, out.Attributes["RedrivePolicy"])
		}
		if redrive.Target != q.DLQARN {
			t.Errorf("%s redrives to %q, want its dead-letter queue %q", q.URL, redrive.Target, q.DLQARN)
		}
	}
	if !strings.HasSuffix(s.Jobs.URL, "/"+JobsQueue) || !strings.HasSuffix(s.Results.DLQURL, "/"+ResultsQueue+"-dlq") {
		t.Errorf("unexpected queue URLs %q, %q", s.Jobs.URL, s.Results.DLQURL)
	}
}

func TestControlPlaneServesHealthAndMetrics(t *testing.T) {
	s := startStack(t, "")
	defer s.Close()
	for path, want := range map[string]string{"/healthz": "ok", "/metrics": "checkfleet_build_info"} {
		resp, err := http.Get(s.ControlURL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d %q, want 200 containing %q", path, resp.StatusCode, body, want)
		}
	}
}

// A message sent before a restart is still there after it, and starting
// again on the same data directory finds the queues instead of failing.
func TestRestartKeepsQueuesAndMessages(t *testing.T) {
	dir := t.TempDir()
	s := startStack(t, dir)
	client, err := queue.NewClient(context.Background(), queue.ClientConfig{Endpoint: s.SQSEndpoint, Local: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{
		// The dead-letter queue: nothing consumes it, and the scheduler
		// does not write to it.
		QueueUrl: aws.String(s.Jobs.DLQURL), MessageBody: aws.String("survives a restart"),
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	s = startStack(t, dir)
	defer s.Close()
	client, err = queue.NewClient(context.Background(), queue.ClientConfig{Endpoint: s.SQSEndpoint, Local: true})
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(s.Jobs.DLQURL), MaxNumberOfMessages: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "survives a restart" {
		t.Fatalf("after restart got %d messages %+v, want the one sent before", len(out.Messages), out.Messages)
	}
}

// The SQS endpoint's events reach the dev log: a replay of its data
// directory is logged as an event of the sqs component.
func TestSQSEventsReachTheLog(t *testing.T) {
	var logs strings.Builder
	cfg := DefaultConfig()
	cfg.SQSListen, cfg.Listen, cfg.DemoListen, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	cfg.Checks = "../../examples/checks.yaml"
	s, err := Start(context.Background(), cfg, zerolog.New(&syncWriter{w: &logs}), telemetry.NewRegistry("scheduler"))
	if err != nil {
		t.Fatalf("start dev stack: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for line := range strings.Lines(logs.String()) {
		var ev struct{ Component, Message, Dir string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Component == "sqs" && ev.Message == "sqslocal.replayed" && ev.Dir != "" {
			return
		}
	}
	t.Fatalf("no sqslocal.replayed event of component sqs in the log:\n%s", logs.String())
}

// syncWriter serialises writes to w; the stack logs from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestValidateNamesTheBadSetting(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SQSListen = "nonsense"
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "--sqs-listen") {
		t.Fatalf("Validate() = %v, want an error naming --sqs-listen", err)
	}
}

func TestStartFailsClearlyWhenPortIsTaken(t *testing.T) {
	s := startStack(t, "")
	defer s.Close()
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Listen = "", "127.0.0.1:0"
	cfg.SQSListen = strings.TrimPrefix(s.SQSEndpoint, "http://")
	_, err := Start(context.Background(), cfg, zerolog.Nop(), telemetry.NewRegistry("scheduler"))
	if err == nil || !strings.Contains(err.Error(), "listen for SQS endpoint") {
		t.Fatalf("Start on a taken port = %v, want a listen error", err)
	}
}

// Started where examples/checks.yaml is not (this package's folder), dev
// runs the demo checks built into the binary instead of failing.
func TestBuiltInChecksOutsideTheRepository(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SQSListen, cfg.Listen, cfg.DemoListen, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	s, err := Start(context.Background(), cfg, zerolog.Nop(), telemetry.NewRegistry("scheduler"))
	if err != nil {
		t.Fatalf("start without examples/checks.yaml: %v", err)
	}
	defer s.Close()
	resp, err := http.Get(s.ControlURL + "/api/v1/checks")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"login-flow"`) {
		t.Errorf("the built-in demo checks are not loaded: %s", body)
	}
}
