package sqslocal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/checkfleet/checkfleet/internal/sqslocal/journal"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

func TestDurableRestartKeepsState(t *testing.T) {
	e := newEnv(t, Options{DataDir: t.TempDir()})
	dlq := e.createQueue("jobs-dlq", nil)
	u := e.createQueue("jobs", map[string]string{"VisibilityTimeout": "60", "RedrivePolicy": redriveJSON(e.attributes(dlq)["QueueArn"], 5)})
	if _, err := e.sqs.TagQueue(e.ctx(), &sqs.TagQueueInput{QueueUrl: u2p(u), Tags: map[string]string{"team": "checks"}}); err != nil {
		t.Fatal(err)
	}
	fifo := e.createQueue("jobs.fifo", fifoAttrs())
	purged := e.createQueue("purged", nil)
	gone := e.createQueue("gone", nil)

	attrs := map[string]types.MessageAttributeValue{"schema": strAttr("String", "v1"), "blob": {DataType: aws.String("Binary"), BinaryValue: []byte{9, 8, 7}}}
	for i := range 5 {
		if _, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String(fmt.Sprint("body-", i)), MessageAttributes: attrs}); err != nil {
			t.Fatal(err)
		}
	}
	got := e.receive(u, 2) // two in flight
	e.deleteMessage(u, got[0])
	inflight := got[1]
	original := e.sendFIFO(fifo, "g", "dedup-1", "fifo body")
	e.send(purged, "x")
	if _, err := e.sqs.PurgeQueue(e.ctx(), &sqs.PurgeQueueInput{QueueUrl: u2p(purged)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sqs.DeleteQueue(e.ctx(), &sqs.DeleteQueueInput{QueueUrl: u2p(gone)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sqs.SetQueueAttributes(e.ctx(), &sqs.SetQueueAttributesInput{QueueUrl: u2p(u), Attributes: map[string]string{"DelaySeconds": "0", "MaximumMessageSize": "4096"}}); err != nil {
		t.Fatal(err)
	}
	before := e.attributes(u)

	e.restart()

	after := e.attributes(u)
	for _, k := range []string{"VisibilityTimeout", "MaximumMessageSize", "RedrivePolicy", "CreatedTimestamp", "LastModifiedTimestamp",
		"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"} {
		if before[k] != after[k] {
			t.Errorf("%s: %q before the restart, %q after", k, before[k], after[k])
		}
	}
	if after["ApproximateNumberOfMessages"] != "3" || after["ApproximateNumberOfMessagesNotVisible"] != "1" {
		t.Errorf("counts after restart: %v", after)
	}
	tags, err := e.sqs.ListQueueTags(e.ctx(), &sqs.ListQueueTagsInput{QueueUrl: u2p(u)})
	if err != nil || tags.Tags["team"] != "checks" {
		t.Errorf("tags after restart: %v %v", tags, err)
	}
	// The in-flight message's handle from before the restart still deletes it.
	e.deleteMessage(u, inflight)
	for _, m := range e.receive(u, 10) {
		if aws.ToString(m.MD5OfMessageAttributes) != refAttributesMD5(attrs) || !strings.HasPrefix(aws.ToString(m.Body), "body-") {
			t.Errorf("message after restart: %+v", m)
		}
	}
	// Deduplication and sequence numbers carry on.
	dup := e.sendFIFO(fifo, "g", "dedup-1", "fifo body")
	if aws.ToString(dup.MessageId) != aws.ToString(original.MessageId) {
		t.Error("deduplication window lost in the restart")
	}
	if next := e.sendFIFO(fifo, "g", "dedup-2", "x"); aws.ToString(next.SequenceNumber) <= aws.ToString(original.SequenceNumber) {
		t.Errorf("sequence number went back: %s after %s", aws.ToString(next.SequenceNumber), aws.ToString(original.SequenceNumber))
	}
	_, err = e.sqs.PurgeQueue(e.ctx(), &sqs.PurgeQueueInput{QueueUrl: u2p(purged)})
	wantAPIError[*types.PurgeQueueInProgress](t, err, "")
	_, err = e.sqs.CreateQueue(e.ctx(), &sqs.CreateQueueInput{QueueName: aws.String("gone")})
	wantAPIError[*types.QueueDeletedRecently](t, err, "")
}

func TestDurableSnapshots(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, Options{DataDir: dir, SnapshotMinBytes: 8 << 10})
	u := e.createQueue("jobs", nil)
	fifo := e.createQueue("jobs.fifo", fifoAttrs("ContentBasedDeduplication", "true"))
	body := strings.Repeat("s", 500)
	for i := range 400 { // churn: the log outgrows the live state
		e.send(u, fmt.Sprint(body, i))
		e.deleteMessage(u, e.receive(u, 1)[0])
	}
	for i := range 20 {
		e.send(u, fmt.Sprint("live", i))
	}
	e.receive(u, 1)
	first := e.sendFIFO(fifo, "g", "", "dedup me")
	testenv.Eventually(t, 10*time.Second, "a snapshot", func() bool {
		snaps, _ := filepath.Glob(filepath.Join(dir, "snap-*.snap"))
		return len(snaps) > 0
	})
	// More changes after the snapshot go to its log.
	e.send(u, "after the snapshot")
	e.restart()
	if n := e.attributes(u)["ApproximateNumberOfMessages"]; n != "20" {
		t.Fatalf("%s messages after restart, want 20 (%v)", n, e.attributes(u))
	}
	if n := e.attributes(u)["ApproximateNumberOfMessagesNotVisible"]; n != "1" {
		t.Fatalf("in flight after restart: %s", n)
	}
	if dup := e.sendFIFO(fifo, "g", "", "dedup me"); aws.ToString(dup.MessageId) != aws.ToString(first.MessageId) {
		t.Error("deduplication entry lost in the snapshot")
	}
}

func TestDurableDataDirIsExclusive(t *testing.T) {
	dir := t.TempDir()
	srv, err := New(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := New(Options{DataDir: dir}); !errors.Is(err, journal.ErrLocked) {
		t.Fatalf("second New on the same directory: %v", err)
	}
}

func TestDurableRejectsUnknownRecords(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Replay(func([]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := j.Append([]byte{recordVersion, 99, 1, 2}).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "unknown type 99") {
		t.Fatalf("New on a journal with an unknown record: %v", err)
	}
}

const helperDirEnv = "SQSLOCAL_TEST_HELPER_DIR"

// TestHelperProcessServe is not a test: TestKill9 runs the test binary
// with it as a child process serving a durable endpoint, and kills it.
func TestHelperProcessServe(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		return // run as a test: nothing to do, TestKill9 starts it as a child
	}
	srv, err := New(Options{DataDir: dir})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Printf("ADDR http://%s\n", ln.Addr())
	_ = http.Serve(ln, srv) // until killed
	os.Exit(0)
}

// startChild starts the helper process on dir and returns its endpoint.
func startChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessServe$")
	cmd.Env = append(os.Environ(), helperDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if addr, ok := strings.CutPrefix(lines.Text(), "ADDR "); ok {
			go func() { // drain the rest so the child never blocks on stdout
				for lines.Scan() {
				}
			}()
			return cmd, addr
		}
		if strings.HasPrefix(lines.Text(), "ERROR") {
			t.Fatalf("child: %s", lines.Text())
		}
	}
	t.Fatalf("child exited without an address: %v", lines.Err())
	return nil, ""
}

// TestKill9 sends from several goroutines to a child process, kills it
// with SIGKILL mid-stream, restarts it on the same directory and checks that
// every acknowledged message is there, with its body and attributes, and
// that deleted messages stay deleted.
func TestKill9(t *testing.T) {
	testenv.Long(t, "starts child processes")
	dir := t.TempDir()
	cmd, addr := startChild(t, dir)
	client := newClient(addr, func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	created, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	q := created.QueueUrl
	fifo, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs.fifo"), Attributes: fifoAttrs()})
	if err != nil {
		t.Fatal(err)
	}
	dedup, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: fifo.QueueUrl, MessageBody: aws.String("once"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d")})
	if err != nil {
		t.Fatal(err)
	}

	// Some messages are sent, received and deleted before the crash.
	deleted := map[string]bool{}
	for i := range 20 {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String(fmt.Sprint("early-", i))}); err != nil {
			t.Fatal(err)
		}
	}
	for len(deleted) < 20 {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q, ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
			deleted[aws.ToString(m.MessageId)] = true
		}
	}

	// Senders run until the child dies; only acknowledged sends count.
	type ack struct{ body, n string }
	var mu sync.Mutex
	acked := map[string]ack{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				body := fmt.Sprintf("g%d-m%d-%s", g, i, strings.Repeat("p", i%300))
				n := fmt.Sprint(g*1_000_000 + i)
				if i%3 == 0 {
					entries := make([]types.SendMessageBatchRequestEntry, 5)
					for k := range entries {
						entries[k] = types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("e", k)), MessageBody: aws.String(fmt.Sprint(body, "-", k)),
							MessageAttributes: map[string]types.MessageAttributeValue{"n": strAttr("Number", n)}}
					}
					out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q, Entries: entries})
					if err != nil {
						return
					}
					mu.Lock()
					for _, s := range out.Successful {
						var k int
						fmt.Sscan(strings.TrimPrefix(aws.ToString(s.Id), "e"), &k)
						acked[aws.ToString(s.MessageId)] = ack{fmt.Sprint(body, "-", k), n}
					}
					mu.Unlock()
					continue
				}
				out, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q, MessageBody: aws.String(body),
					MessageAttributes: map[string]types.MessageAttributeValue{"n": strAttr("Number", n)}})
				if err != nil {
					return
				}
				mu.Lock()
				acked[aws.ToString(out.MessageId)] = ack{body, n}
				mu.Unlock()
			}
		}()
	}
	testenv.Eventually(t, 10*time.Second, "500 acknowledged sends", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 500
	})
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	wg.Wait()
	_ = cmd.Wait()
	t.Logf("%d sends acknowledged before the kill", len(acked))

	_, addr = startChild(t, dir)
	client = newClient(addr, func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
	seen := map[string]bool{}
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q, MaxNumberOfMessages: 10, VisibilityTimeout: 600,
			MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err) // includes the SDK's MD5 check of every body
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if deleted[id] {
				t.Errorf("deleted message %s came back", id)
			}
			if a, ok := acked[id]; ok {
				if aws.ToString(m.Body) != a.body || aws.ToString(m.MessageAttributes["n"].StringValue) != a.n {
					t.Errorf("message %s: body %q attribute %v, want %q %s", id, aws.ToString(m.Body), m.MessageAttributes, a.body, a.n)
				}
			}
			seen[id] = true
		}
	}
	missing := 0
	for id := range acked {
		if !seen[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged messages lost", missing, len(acked))
	}
	again, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: fifo.QueueUrl, MessageBody: aws.String("once"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d")})
	if err != nil || aws.ToString(again.MessageId) != aws.ToString(dedup.MessageId) {
		t.Fatalf("FIFO deduplication after the crash: %v %v", again, err)
	}
}
