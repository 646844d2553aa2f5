package sqslocal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// The hand-written JSON reader and writer against encoding/json, on the
// requests and responses of the worker's hot path: the request bodies are
// the ones aws-sdk-go-v2 writes, the bodies job messages of 1.5 KB of JSON
// (a JSON document inside a JSON string: every quote escaped), each with
// the schema attribute, received with the two system attributes the
// worker asks for. The figures are in the package doc.

// jobBody is a job message of 1.5 KB of JSON, as the scheduler sends.
var jobBody = func() string {
	b := `{"schema":"checkfleet.job/v2","run_id":"r3f9c2a7d1e04b6a8c5d2e1f0a9b8c7","check_id":"checkout-api","location":"eu-west-1",` +
		`"scheduled_at":"2026-12-01T10:15:30Z","attempt":1,"check":{"id":"checkout-api","name":"Checkout API","type":"api","timeout_ms":10000,` +
		`"request":{"method":"POST","url":"https://shop.example.com/api/v1/checkout?cart=42&currency=EUR",` +
		`"headers":[{"name":"Content-Type","value":"application/json"},{"name":"Accept","value":"application/json"},{"name":"X-Request-Source","value":"checkfleet"}],` +
		`"body":"{\"items\":[{\"sku\":\"A-1001\",\"qty\":2},{\"sku\":\"B-2002\",\"qty\":1}],\"coupon\":null}"},` +
		`"assertions":[{"source":"status_code","comparison":"equals","target":"200"},{"source":"response_time","comparison":"less_than","target":"2000"},` +
		`{"source":"json_body","property":"$.order.status","comparison":"equals","target":"confirmed"},{"source":"headers","property":"content-type","comparison":"contains","target":"json"}],` +
		`"degraded_ms":1000,"max_ms":5000,"tags":["shop","checkout","critical"],"description":"`
	return b + strings.Repeat("Places an order through the public API. ", (1500-len(b))/41+1)[:1500-len(b)-2] + `"}}`
}()

// sdkBodies captures the request bodies aws-sdk-go-v2 writes: the
// worker's receive of up to ten jobs, a SendMessageBatch of ten jobs and a
// DeleteMessageBatch of ten receipt handles.
func sdkBodies(tb testing.TB) (receive, sendBatch, deleteBatch []byte) {
	tb.Helper()
	var mu sync.Mutex
	bodies := map[string][]byte{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies[strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)] = b
		mu.Unlock()
		w.Header().Set("Content-Type", jsonType)
		_, _ = w.Write([]byte("{}"))
	}))
	defer hs.Close()
	client := newClientWith(newTransport(), hs.URL)
	ctx := context.Background()
	qurl := aws.String("http://127.0.0.1:9324/000000000000/checkfleet-jobs-eu-west-1")
	if _, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: qurl, MaxNumberOfMessages: 10, WaitTimeSeconds: 20,
		MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount,
			types.MessageSystemAttributeNameSentTimestamp}}); err != nil {
		tb.Fatal(err)
	}
	send := make([]types.SendMessageBatchRequestEntry, 10)
	del := make([]types.DeleteMessageBatchRequestEntry, 10)
	for i := range send {
		send[i] = types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(jobBody),
			MessageAttributes: map[string]types.MessageAttributeValue{"schema": {DataType: aws.String("String"), StringValue: aws.String("checkfleet.job/v2")}}}
		del[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)),
			ReceiptHandle: aws.String(receipt{incarnation: 1, id: newMsgID(), nonce: uint64(i + 1)}.String())}
	}
	if _, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: qurl, Entries: send}); err != nil {
		tb.Fatal(err)
	}
	if _, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: qurl, Entries: del}); err != nil {
		tb.Fatal(err)
	}
	return bodies["ReceiveMessage"], bodies["SendMessageBatch"], bodies["DeleteMessageBatch"]
}

// receivedJobs is a ReceiveMessage's ten jobs, as writeReceived renders them.
func receivedJobs() []received {
	attrs := []messageAttribute{{name: "schema", dataType: "String", str: "checkfleet.job/v2"}}
	got := make([]received, 10)
	for i := range got {
		m := &message{id: newMsgID(), body: jobBody, md5Body: md5Hex(jobBody), attrs: attrs, md5Attrs: md5OfAttributes(attrs),
			senderID: "AKIDTEST", sentAt: 1764584130123456789 + int64(i)}
		m.idStr = m.id.String()
		got[i] = received{m: m, receiveCount: 1, firstReceive: 1764584131000000000, nonce: uint64(i + 1),
			handle: receipt{incarnation: 1, id: m.id, nonce: uint64(i + 1)}.String()}
	}
	return got
}

// The response shapes as encoding/json would write them.
type (
	stdReceiveOutput struct {
		Messages []stdMessage
	}
	stdMessage struct {
		MessageId              string
		ReceiptHandle          string
		MD5OfBody              string
		Body                   string
		Attributes             map[string]string   `json:",omitempty"`
		MD5OfMessageAttributes string              `json:",omitempty"`
		MessageAttributes      map[string]stdValue `json:",omitempty"`
	}
	stdValue struct {
		StringValue string `json:",omitempty"`
		BinaryValue []byte `json:",omitempty"`
		DataType    string
	}
	stdSendBatchOutput struct {
		Successful []stdSent
		Failed     []struct{}
	}
	stdSent struct {
		Id                           string
		MessageId                    string
		MD5OfMessageBody             string
		MD5OfMessageAttributes       string `json:",omitempty"`
		MD5OfMessageSystemAttributes string `json:",omitempty"`
		SequenceNumber               string `json:",omitempty"`
	}
)

// stdReceived is what writeReceived writes, built for encoding/json.
func stdReceived(got []received, sys int) stdReceiveOutput {
	out := stdReceiveOutput{Messages: make([]stdMessage, len(got))}
	for i := range got {
		r := &got[i]
		m := r.m
		sm := stdMessage{MessageId: m.idStr, ReceiptHandle: r.handle, MD5OfBody: m.md5Body, Body: m.body}
		if sys != 0 {
			sm.Attributes = map[string]string{}
			if sys&sysReceiveCount != 0 {
				sm.Attributes["ApproximateReceiveCount"] = fmt.Sprint(r.receiveCount)
			}
			if sys&sysSentTimestamp != 0 {
				sm.Attributes["SentTimestamp"] = epochMillis(m.sentAt)
			}
		}
		if len(m.attrs) > 0 {
			sm.MD5OfMessageAttributes = m.md5Attrs
			sm.MessageAttributes = make(map[string]stdValue, len(m.attrs))
			for _, a := range m.attrs {
				v := stdValue{DataType: a.dataType}
				if a.binary() {
					v.BinaryValue = a.bin
				} else {
					v.StringValue = a.str
				}
				sm.MessageAttributes[a.name] = v
			}
		}
		out.Messages[i] = sm
	}
	return out
}

var stdBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// stdEncode writes v as encoding/json does for a response: no HTML
// escaping (the writer does none), into a pooled buffer as the writer is.
func stdEncode(tb testing.TB, v any) int {
	buf := stdBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		tb.Fatal(err)
	}
	n := buf.Len()
	stdBuffers.Put(buf)
	return n
}

func BenchmarkJSON(b *testing.B) {
	receiveReq, sendReq, deleteReq := sdkBodies(b)
	got := receivedJobs()
	sys := sysReceiveCount | sysSentTimestamp
	srv := &Server{}
	sentRes, ids := make([]sent, 10), make([]string, 10)
	for i := range sentRes {
		sentRes[i] = sent{id: got[i].m.idStr, md5Body: got[i].m.md5Body, md5Attrs: got[i].m.md5Attrs}
		ids[i] = fmt.Sprint(i)
	}

	decodeBench := func(b *testing.B, body []byte, hand func() *apiError, std func() error) {
		b.Run("hand", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			loopCPU(b, func() {
				if err := hand(); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run("encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			loopCPU(b, func() {
				if err := std(); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	b.Run("decode/SendMessageBatch-10x1.5KB", func(b *testing.B) {
		decodeBench(b, sendReq,
			func() *apiError { var in sendBatchInput; return decode(sendReq, &in) },
			func() error { var in sendBatchInput; return json.Unmarshal(sendReq, &in) })
	})
	b.Run("decode/ReceiveMessage", func(b *testing.B) {
		decodeBench(b, receiveReq,
			func() *apiError { var in receiveInput; return decode(receiveReq, &in) },
			func() error { var in receiveInput; return json.Unmarshal(receiveReq, &in) })
	})
	b.Run("decode/DeleteMessageBatch-10", func(b *testing.B) {
		decodeBench(b, deleteReq,
			func() *apiError { var in ackBatchInput; return decode(deleteReq, &in) },
			func() error { var in ackBatchInput; return json.Unmarshal(deleteReq, &in) })
	})

	encodeBench := func(b *testing.B, hand func(w *jsonWriter), std func() any) {
		w := getJSONWriter()
		hand(w)
		size := len(w.b)
		putJSONWriter(w)
		b.Run("hand", func(b *testing.B) {
			b.SetBytes(int64(size))
			loopCPU(b, func() {
				w := getJSONWriter()
				hand(w)
				putJSONWriter(w)
			})
		})
		b.Run("encoding-json", func(b *testing.B) {
			b.SetBytes(int64(size))
			loopCPU(b, func() { stdEncode(b, std()) })
		})
	}
	b.Run("encode/ReceiveMessage-10x1.5KB", func(b *testing.B) {
		encodeBench(b, func(w *jsonWriter) { srv.writeReceived(&call{out: w}, got, sys, []string{"All"}) },
			func() any { return stdReceived(got, sys) })
	})
	b.Run("encode/SendMessageBatch-10", func(b *testing.B) {
		encodeBench(b, func(w *jsonWriter) { writeSendBatchResult(w, ids, sentRes) },
			func() any {
				out := stdSendBatchOutput{Successful: make([]stdSent, len(sentRes)), Failed: []struct{}{}}
				for i, r := range sentRes {
					out.Successful[i] = stdSent{Id: ids[i], MessageId: r.id, MD5OfMessageBody: r.md5Body, MD5OfMessageAttributes: r.md5Attrs}
				}
				return out
			})
	})
}

// loopCPU runs f b.N times and reports, besides time and allocations, the
// CPU time per run (the garbage collector's included): on the shared
// machines the benchmarks run on, wall time also counts waiting for a core.
func loopCPU(b *testing.B, f func()) {
	b.ReportAllocs()
	var cpu time.Duration
	for n := 0; b.Loop(); n++ {
		if n == 0 {
			cpu = processCPU()
		}
		f()
	}
	if cpu != 0 && b.N > 1 {
		b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N-1), "cpu-ns/op")
	}
}

// writeSendBatchResult writes a SendMessageBatch response of sent
// messages, as sendMessageBatch does.
func writeSendBatchResult(w *jsonWriter, ids []string, res []sent) {
	w.openObject()
	w.key("Successful")
	w.openArray()
	for i := range res {
		w.openObject()
		w.field("Id", ids[i])
		writeSent(w, &res[i])
		w.closeObject()
	}
	w.closeArray()
	writeFailed(w, ids, make([]*apiError, len(ids)))
	w.closeObject()
}
