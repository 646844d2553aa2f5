package sqslocal

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// BenchmarkThroughput measures messages per second end to end through the
// SDK over loopback HTTP: 4 producers sending batches of 10 and 4
// consumers receiving up to 10 and deleting them in batches, 512-byte
// bodies. b.N is the number of messages.
func BenchmarkThroughput(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchThroughput(b, Options{}) })
	b.Run("durable", func(b *testing.B) { benchThroughput(b, Options{DataDir: b.TempDir()}) })
}

func benchThroughput(b *testing.B, opts Options) {
	srv, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			b.Error(err)
		}
	}()
	// A transport per run: connections of an earlier run's server (and of
	// its cancelled polls) must not leak into this one.
	tr := newTransport()
	defer tr.CloseIdleConnections()
	client := newClientWith(tr, hs.URL)
	ctx := context.Background()
	created, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench")})
	if err != nil {
		b.Fatal(err)
	}
	qurl := created.QueueUrl
	body := strings.Repeat("x", 512)

	const producers, consumers = 4, 4
	var toSend, received atomic.Int64
	toSend.Store(int64(b.N))
	var wg sync.WaitGroup
	errs := make(chan error, producers+consumers)
	b.ResetTimer()
	start := time.Now()
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := min(10, toSend.Add(-10)+10)
				if n <= 0 {
					return
				}
				entries := make([]types.SendMessageBatchRequestEntry, n)
				for i := range entries {
					entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(body)}
				}
				out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: qurl, Entries: entries})
				if err != nil || len(out.Failed) > 0 {
					errs <- fmt.Errorf("send batch: %v %v", err, out)
					return
				}
			}
		}()
	}
	// Consumers stop, and their open long polls are cancelled, once every
	// message was received and deleted.
	recvCtx, allReceived := context.WithCancel(ctx)
	defer allReceived()
	var elapsed time.Duration
	var finish sync.Once
	for c := 0; c < consumers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for recvCtx.Err() == nil {
				out, err := client.ReceiveMessage(recvCtx, &sqs.ReceiveMessageInput{QueueUrl: qurl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
				if recvCtx.Err() != nil {
					return
				}
				if err != nil {
					errs <- fmt.Errorf("receive: %v", err)
					return
				}
				if len(out.Messages) == 0 {
					continue
				}
				entries := make([]types.DeleteMessageBatchRequestEntry, len(out.Messages))
				for i, m := range out.Messages {
					entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle}
				}
				del, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: qurl, Entries: entries})
				if err != nil || len(del.Failed) > 0 {
					errs <- fmt.Errorf("delete batch: %v", err)
					return
				}
				if received.Add(int64(len(out.Messages))) >= int64(b.N) {
					finish.Do(func() {
						elapsed = time.Since(start)
						allReceived()
					})
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkLongPollWakeup measures how long a receive waiting in a long
// poll (WaitTimeSeconds 20) takes to return once a message is sent: from
// the start of SendMessage to the return of ReceiveMessage.
func BenchmarkLongPollWakeup(b *testing.B) {
	srv, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			b.Error(err)
		}
	}()
	client := newClient(hs.URL)
	ctx := context.Background()
	created, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("wakeup")})
	if err != nil {
		b.Fatal(err)
	}
	qurl := created.QueueUrl
	latencies := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		done := make(chan time.Time, 1)
		go func() {
			out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: qurl, WaitTimeSeconds: 20})
			if err != nil || len(out.Messages) != 1 {
				b.Errorf("receive: %v", err)
			} else if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: qurl, ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
				b.Errorf("delete: %v", err)
			}
			done <- time.Now()
		}()
		for srv.polling.Load() == 0 {
			time.Sleep(50 * time.Microsecond) // wait for the receive to be parked in its long poll
		}
		start := time.Now()
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: qurl, MessageBody: aws.String("wake")}); err != nil {
			b.Fatal(err)
		}
		end := <-done
		latencies = append(latencies, end.Sub(start))
	}
	b.StopTimer()
	slices.Sort(latencies)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(latencies[len(latencies)/2]), "median-ms")
	b.ReportMetric(ms(latencies[len(latencies)*99/100]), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
