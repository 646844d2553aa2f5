package sqslocal

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestProtocolEdges sends raw HTTP requests the SDK would never send and
// checks each gets the AWS error: status, __type, message and the
// x-amzn-query-error header, never a panic or a hang.
func TestProtocolEdges(t *testing.T) {
	srv, err := New(Options{MaxLongPoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); _ = srv.Close() })
	if err := srv.CreateQueue("jobs", nil); err != nil {
		t.Fatal(err)
	}
	queueURL := hs.URL + "/000000000000/jobs"
	const coral = "com.amazon.coral.service#"
	tests := []struct {
		name        string
		method      string
		target      string
		contentType string
		body        string
		status      int
		typ         string
		queryError  string
	}{
		{"malformed JSON", "POST", "AmazonSQS.CreateQueue", jsonType, `{"QueueName":`, 400, coral + "SerializationException", "SerializationException;Sender"},
		{"not an object", "POST", "AmazonSQS.ListQueues", jsonType, `["QueueName"]`, 400, coral + "SerializationException", "SerializationException;Sender"},
		{"trailing data", "POST", "AmazonSQS.ListQueues", jsonType, `{} {}`, 400, coral + "SerializationException", "SerializationException;Sender"},
		{"string for a number", "POST", "AmazonSQS.ReceiveMessage", jsonType, `{"QueueUrl":"` + queueURL + `","MaxNumberOfMessages":"ten"}`, 400, coral + "SerializationException", "SerializationException;Sender"},
		{"fraction for an integer", "POST", "AmazonSQS.ReceiveMessage", jsonType, `{"QueueUrl":"` + queueURL + `","WaitTimeSeconds":1.5}`, 400, coral + "SerializationException", "SerializationException;Sender"},
		{"number for a string", "POST", "AmazonSQS.CreateQueue", jsonType, `{"QueueName":5}`, 400, coral + "SerializationException", "SerializationException;Sender"},
		{"object for a list", "POST", "AmazonSQS.GetQueueAttributes", jsonType, `{"QueueUrl":"` + queueURL + `","AttributeNames":{}}`, 400, coral + "SerializationException", "SerializationException;Sender"},
		{"invalid base64", "POST", "AmazonSQS.SendMessage", jsonType, `{"QueueUrl":"` + queueURL + `","MessageBody":"x","MessageAttributes":{"b":{"DataType":"Binary","BinaryValue":"!!"}}}`, 400, coral + "SerializationException", "SerializationException;Sender"},
		{"control character in a string", "POST", "AmazonSQS.CreateQueue", jsonType, "{\"QueueName\":\"a\x01\"}", 400, coral + "SerializationException", "SerializationException;Sender"},
		{"deep nesting", "POST", "AmazonSQS.ListQueues", jsonType, `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, 400, coral + "SerializationException", "SerializationException;Sender"},
		{"unknown action", "POST", "AmazonSQS.Frobnicate", jsonType, `{}`, 400, coral + "UnknownOperationException", "InvalidAction;Sender"},
		{"other service", "POST", "AmazonSNS.Publish", jsonType, `{}`, 400, coral + "UnknownOperationException", "InvalidAction;Sender"},
		{"missing target", "POST", "", jsonType, `{}`, 400, coral + "UnknownOperationException", "InvalidAction;Sender"},
		{"query protocol", "POST", "", "application/x-www-form-urlencoded", "Action=ListQueues&Version=2012-11-05", 400, coral + "UnknownOperationException", "InvalidAction;Sender"},
		{"wrong content type", "POST", "AmazonSQS.ListQueues", "application/json", `{}`, 400, coral + "UnknownOperationException", "InvalidAction;Sender"},
		{"GET", "GET", "AmazonSQS.ListQueues", jsonType, ``, 400, coral + "UnknownOperationException", "InvalidAction;Sender"},
		{"missing parameter", "POST", "AmazonSQS.SendMessage", jsonType, `{"MessageBody":"x"}`, 400, coral + "MissingParameterException", "MissingParameter;Sender"},
		{"member names are case-sensitive", "POST", "AmazonSQS.GetQueueUrl", jsonType, `{"queuename":"jobs"}`, 400, coral + "MissingParameterException", "MissingParameter;Sender"},
		{"missing queue", "POST", "AmazonSQS.PurgeQueue", jsonType, `{"QueueUrl":"http://h/000000000000/nope"}`, 400, "com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue;Sender"},
		{"huge body", "POST", "AmazonSQS.SendMessage", jsonType, `{"MessageBody":"` + strings.Repeat("x", maxRequestBytes) + `"}`, 413, coral + "RequestEntityTooLargeException", "RequestEntityTooLarge;Sender"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, hs.URL+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tt.contentType)
			if tt.target != "" {
				req.Header.Set("X-Amz-Target", tt.target)
			}
			resp, err := hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			raw, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", raw, err)
			}
			if resp.StatusCode != tt.status || body["__type"] != tt.typ || resp.Header.Get("x-amzn-query-error") != tt.queryError {
				t.Fatalf("got %d %v %q, want %d %s %s", resp.StatusCode, body["__type"], resp.Header.Get("x-amzn-query-error"), tt.status, tt.typ, tt.queryError)
			}
			if msg, _ := body["message"].(string); msg == "" {
				t.Errorf("no message in %s", raw)
			}
			if resp.Header.Get("Content-Type") != jsonType || resp.Header.Get("x-amzn-RequestId") == "" {
				t.Errorf("headers %v", resp.Header)
			}
		})
	}
}

func TestProtocolAcceptsWhatAWSAccepts(t *testing.T) {
	srv, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	for _, tt := range []struct{ name, action, contentType, body, want string }{
		{"empty body", "ListQueues", jsonType, ``, `{}`},
		{"charset parameter", "ListQueues", jsonType + "; charset=utf-8", `{}`, `{}`},
		{"nulls are absent values", "CreateQueue", jsonType, `{"QueueName":"q","Attributes":null,"tags":null}`, `{"QueueUrl":"http://127.0.0.1:9324/000000000000/q"}`},
		{"unknown members are ignored", "GetQueueUrl", jsonType, `{"QueueName":"q","Extra":{"a":[1,2.5e3,true,false,null,"s"]}}`, `{"QueueUrl":"http://127.0.0.1:9324/000000000000/q"}`},
		{"escapes", "GetQueueUrl", jsonType, `{"QueueName":"\u0071"}`, `{"QueueUrl":"http://127.0.0.1:9324/000000000000/q"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := rawRequest(t, tt.action, tt.body)
			req.Header.Set("Content-Type", tt.contentType)
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			if w.Code != 200 || w.Body.String() != tt.want {
				t.Fatalf("got %d %s, want %s", w.Code, w.Body, tt.want)
			}
		})
	}
}

// FuzzDecodeRequest feeds arbitrary targets and bodies to the handler:
// every answer must be a well-formed AWS JSON success or error.
func FuzzDecodeRequest(f *testing.F) {
	srv, err := New(Options{MaxLongPoll: time.Millisecond})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Close() })
	if err := srv.CreateQueue("q", nil); err != nil {
		f.Fatal(err)
	}
	if err := srv.CreateQueue("q.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}); err != nil {
		f.Fatal(err)
	}
	q := `"QueueUrl":"http://h/000000000000/q"`
	seeds := []struct{ action, body string }{
		{"SendMessage", `{` + q + `,"MessageBody":"hi","MessageAttributes":{"a":{"DataType":"Number","StringValue":"1"},"b":{"DataType":"Binary","BinaryValue":"AAE="}}}`},
		{"SendMessage", `{"QueueUrl":"http://h/000000000000/q.fifo","MessageBody":"hi","MessageGroupId":"g"}`},
		{"SendMessageBatch", `{` + q + `,"Entries":[{"Id":"a","MessageBody":"x"},{"Id":"b","MessageBody":"y","DelaySeconds":3}]}`},
		{"ReceiveMessage", `{` + q + `,"MaxNumberOfMessages":10,"WaitTimeSeconds":1,"MessageSystemAttributeNames":["All"],"MessageAttributeNames":["All"]}`},
		{"DeleteMessage", `{` + q + `,"ReceiptHandle":"` + receipt{1, newMsgID(), 1}.String() + `"}`},
		{"DeleteMessageBatch", `{` + q + `,"Entries":[{"Id":"a","ReceiptHandle":"x"}]}`},
		{"ChangeMessageVisibility", `{` + q + `,"ReceiptHandle":"x","VisibilityTimeout":5}`},
		{"ChangeMessageVisibilityBatch", `{` + q + `,"Entries":[{"Id":"a","ReceiptHandle":"x","VisibilityTimeout":0}]}`},
		{"CreateQueue", `{"QueueName":"n","Attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:q\",\"maxReceiveCount\":1}"},"tags":{"a":"b"}}`},
		{"SetQueueAttributes", `{` + q + `,"Attributes":{"VisibilityTimeout":"0"}}`},
		{"GetQueueAttributes", `{` + q + `,"AttributeNames":["All"]}`},
		{"ListQueues", `{"MaxResults":1,"NextToken":"cQ"}`},
		{"GetQueueUrl", `{"QueueName":"q"}`},
		{"PurgeQueue", `{` + q + `}`},
		{"TagQueue", `{` + q + `,"Tags":{"k":"v"}}`},
		{"ListDeadLetterSourceQueues", `{` + q + `}`},
		{"DeleteQueue", `{"QueueUrl":"http://h/000000000000/n"}`},
		{"Nope", `{"a":"\ud800\udc00\u00e9"}`},
		{"SendMessage", "\xff\xfe"},
	}
	for _, s := range seeds {
		f.Add("AmazonSQS."+s.action, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, target string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9324/", bytes.NewReader(body))
		req.Header.Set("Content-Type", jsonType)
		req.Header["X-Amz-Target"] = []string{target}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		var doc map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
			t.Fatalf("%s %q: response %q is not a JSON object: %v", target, body, w.Body, err)
		}
		if w.Code == http.StatusOK {
			if _, isErr := doc["__type"]; isErr {
				t.Fatalf("success with an error body: %s", w.Body)
			}
			return
		}
		typ, _ := doc["__type"].(string)
		msg, _ := doc["message"].(string)
		if typ == "" || msg == "" || w.Header().Get("x-amzn-query-error") == "" || w.Code < 400 {
			t.Fatalf("%s %q: malformed error %d %s (query error %q)", target, body, w.Code, w.Body, w.Header().Get("x-amzn-query-error"))
		}
	})
}
