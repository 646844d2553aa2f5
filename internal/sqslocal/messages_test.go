package sqslocal

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// refAttributesMD5 is an independent implementation of the digest SQS
// documents for message attributes, to check the server's against.
func refAttributesMD5(attrs map[string]types.MessageAttributeValue) string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	put := func(b []byte) {
		_ = binary.Write(&buf, binary.BigEndian, int32(len(b)))
		buf.Write(b)
	}
	for _, n := range names {
		v := attrs[n]
		put([]byte(n))
		put([]byte(aws.ToString(v.DataType)))
		if v.BinaryValue != nil {
			buf.WriteByte(2)
			put(v.BinaryValue)
		} else {
			buf.WriteByte(1)
			put([]byte(aws.ToString(v.StringValue)))
		}
	}
	sum := md5.Sum(buf.Bytes())
	return hex.EncodeToString(sum[:])
}

func strAttr(typ, v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String(typ), StringValue: aws.String(v)}
}

func TestSendReceiveDeleteWithAttributes(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	attrs := map[string]types.MessageAttributeValue{
		"schema":   strAttr("String", "checkfleet.job/v1"),
		"attempt":  strAttr("Number", "3"),
		"count":    strAttr("Number.int", "-12.5e3"),
		"payload":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 255}},
		"trace.id": strAttr("String.uuid", "b7a8"),
		"unicode":  strAttr("String", "日本語 ✓"),
	}
	body := "{\"check\":\"api\",\"tab\":\"\t\",\"emoji\":\"🚀\"}\n"
	out, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String(body), MessageAttributes: attrs,
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{
			"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-5759e988-bd862e3fe1be46a994272793")}}})
	if err != nil {
		t.Fatal(err) // the SDK has verified MD5OfMessageBody
	}
	if got, want := aws.ToString(out.MD5OfMessageAttributes), refAttributesMD5(attrs); got != want {
		t.Errorf("MD5OfMessageAttributes = %s, want %s", got, want)
	}
	if out.MD5OfMessageSystemAttributes == nil || out.SequenceNumber != nil {
		t.Errorf("MD5OfMessageSystemAttributes %v, SequenceNumber %v", out.MD5OfMessageSystemAttributes, out.SequenceNumber)
	}

	msgs := e.receive(u, 10)
	if len(msgs) != 1 {
		t.Fatalf("received %d messages", len(msgs))
	}
	m := msgs[0]
	if aws.ToString(m.Body) != body || aws.ToString(m.MessageId) != aws.ToString(out.MessageId) {
		t.Errorf("message = %q %s", aws.ToString(m.Body), aws.ToString(m.MessageId))
	}
	if aws.ToString(m.MD5OfMessageAttributes) != refAttributesMD5(attrs) || len(m.MessageAttributes) != len(attrs) {
		t.Errorf("attributes %v md5 %s", m.MessageAttributes, aws.ToString(m.MD5OfMessageAttributes))
	}
	for name, want := range attrs {
		got := m.MessageAttributes[name]
		if aws.ToString(got.DataType) != aws.ToString(want.DataType) || aws.ToString(got.StringValue) != aws.ToString(want.StringValue) || !bytes.Equal(got.BinaryValue, want.BinaryValue) {
			t.Errorf("attribute %s = %+v, want %+v", name, got, want)
		}
	}
	sys := m.Attributes
	if sys["AWSTraceHeader"] != "Root=1-5759e988-bd862e3fe1be46a994272793" || sys["SenderId"] != "AKIDTEST" || sys["ApproximateReceiveCount"] != "1" {
		t.Errorf("system attributes = %v", sys)
	}
	now := fmt.Sprint(e.clock.Now().UnixMilli())
	if sys["SentTimestamp"] != now || sys["ApproximateFirstReceiveTimestamp"] != now {
		t.Errorf("timestamps = %v, want %s", sys, now)
	}
	e.deleteMessage(u, m)
	e.clock.Advance(time.Hour)
	if msgs := e.receive(u, 10); len(msgs) != 0 {
		t.Fatalf("deleted message came back: %v", bodies(msgs))
	}
}

func TestReceiveSelectsAttributes(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	attrs := map[string]types.MessageAttributeValue{
		"trace.id": strAttr("String", "1"), "trace.span": strAttr("String", "2"), "tracer": strAttr("String", "3"), "schema": strAttr("String", "4"),
	}
	tests := []struct {
		names []string
		want  []string
	}{
		{nil, nil},
		{[]string{"All"}, []string{"schema", "trace.id", "trace.span", "tracer"}},
		{[]string{".*"}, []string{"schema", "trace.id", "trace.span", "tracer"}},
		{[]string{"trace.*"}, []string{"trace.id", "trace.span"}},
		{[]string{"schema", "tracer", "missing"}, []string{"schema", "tracer"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.names, ","), func(t *testing.T) {
			if _, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("x"), MessageAttributes: attrs}); err != nil {
				t.Fatal(err)
			}
			out, err := e.sqs.ReceiveMessage(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: u2p(u), MessageAttributeNames: tt.names})
			if err != nil || len(out.Messages) != 1 {
				t.Fatalf("receive: %v %v", out, err)
			}
			m := out.Messages[0]
			var got []string
			sub := map[string]types.MessageAttributeValue{}
			for n, v := range m.MessageAttributes {
				got = append(got, n)
				sub[n] = v
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("attributes %v, want %v", got, tt.want)
			}
			if len(sub) > 0 && aws.ToString(m.MD5OfMessageAttributes) != refAttributesMD5(sub) {
				t.Errorf("MD5 of the returned subset = %s, want %s", aws.ToString(m.MD5OfMessageAttributes), refAttributesMD5(sub))
			}
			if len(sub) == 0 && m.MD5OfMessageAttributes != nil {
				t.Errorf("MD5OfMessageAttributes without attributes")
			}
			if len(m.Attributes) != 0 {
				t.Errorf("system attributes not asked for: %v", m.Attributes)
			}
			e.deleteMessage(u, m)
		})
	}
}

func TestReceiveSystemAttributeNames(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	e.send(u, "x")
	out, err := e.sqs.ReceiveMessage(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: u2p(u), VisibilityTimeout: 1,
		//lint:ignore SA1019 older clients still send the deprecated AttributeNames
		AttributeNames:              []types.QueueAttributeName{"ApproximateReceiveCount"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameSentTimestamp}})
	if err != nil || len(out.Messages) != 1 {
		t.Fatal(out, err)
	}
	if a := out.Messages[0].Attributes; len(a) != 2 || a["ApproximateReceiveCount"] != "1" || a["SentTimestamp"] == "" {
		t.Errorf("attributes = %v", a)
	}
	_, err = e.sqs.ReceiveMessage(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: u2p(u), MessageSystemAttributeNames: []types.MessageSystemAttributeName{"Colour"}})
	wantAPIError[*types.InvalidAttributeName](t, err, "InvalidAttributeName")
}

func TestMessageAttributeValidation(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	eleven := map[string]types.MessageAttributeValue{}
	for i := range 11 {
		eleven[fmt.Sprint("a", i)] = strAttr("String", "v")
	}
	tests := map[string]map[string]types.MessageAttributeValue{
		"eleven attributes":      eleven,
		"reserved prefix AWS.":   {"AWS.x": strAttr("String", "v")},
		"reserved prefix amazon": {"amazon.x": strAttr("String", "v")},
		"leading period":         {".x": strAttr("String", "v")},
		"double period":          {"a..b": strAttr("String", "v")},
		"bad character":          {"a b": strAttr("String", "v")},
		"257-character name":     {strings.Repeat("n", 257): strAttr("String", "v")},
		"unknown type":           {"a": strAttr("Text", "v")},
		"empty string value":     {"a": strAttr("String", "")},
		"string without value":   {"a": {DataType: aws.String("String"), BinaryValue: []byte{1}}},
		"binary without value":   {"a": {DataType: aws.String("Binary"), StringValue: aws.String("v")}},
		"not a number":           {"a": strAttr("Number", "12abc")},
		"too precise a number":   {"a": strAttr("Number", "1"+strings.Repeat("0", 38)+"1")},
		"hex float":              {"a": strAttr("Number", "0x1p3")},
		"invalid characters":     {"a": strAttr("String", "bell\a")},
		"list values":            {"a": {DataType: aws.String("String"), StringValue: aws.String("v"), StringListValues: []string{"x"}}},
	}
	for name, attrs := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("x"), MessageAttributes: attrs})
			wantGenericError(t, err, "InvalidParameterValue")
		})
	}
	if n := e.attributes(u)["ApproximateNumberOfMessages"]; n != "0" {
		t.Fatalf("rejected sends stored %s messages", n)
	}
	ten := map[string]types.MessageAttributeValue{}
	for i := range 10 {
		ten[fmt.Sprint("a", i)] = strAttr("Number", fmt.Sprint(i*1000, ".5"))
	}
	if _, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("x"), MessageAttributes: ten}); err != nil {
		t.Fatalf("ten attributes: %v", err)
	}
	_, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("x"),
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{"Other": {DataType: aws.String("String"), StringValue: aws.String("v")}}})
	wantGenericError(t, err, "InvalidParameterValue")
}

func TestMessageBodyValidation(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	small := e.createQueue("small", map[string]string{"MaximumMessageSize": "1024"})
	for _, body := range []string{"nul\x00", "bell\a", "\x1f", "\uFFFE", "\uFFFF"} {
		_, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String(body)})
		wantAPIError[*types.InvalidMessageContents](t, err, "InvalidMessageContents")
	}
	for _, body := range []string{"\t\n\r", " ~", "\u00e9\ud7ff\ue000\ufffd", "\U00010000\U0010FFFF"} {
		if _, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String(body)}); err != nil {
			t.Errorf("body %q: %v", body, err)
		}
	}
	_, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("")})
	wantGenericError(t, err, "MissingParameter")

	if _, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String(strings.Repeat("x", 1<<20))}); err != nil {
		t.Errorf("1 MiB body: %v", err)
	}
	_, err = e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String(strings.Repeat("x", 1<<20+1))})
	wantGenericError(t, err, "InvalidParameterValue")
	// MaximumMessageSize counts attributes too.
	_, err = e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(small), MessageBody: aws.String(strings.Repeat("x", 1000)),
		MessageAttributes: map[string]types.MessageAttributeValue{"name": strAttr("String", strings.Repeat("v", 20))}})
	wantGenericError(t, err, "InvalidParameterValue")
	if _, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(small), MessageBody: aws.String(strings.Repeat("x", 1000)),
		MessageAttributes: map[string]types.MessageAttributeValue{"name": strAttr("String", strings.Repeat("v", 14))}}); err != nil {
		t.Errorf("message of exactly 1024 bytes: %v", err)
	}
}

func TestVisibilityTimeout(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", map[string]string{"VisibilityTimeout": "20"})
	e.send(u, "job")
	first := e.receive(u, 1)
	if len(first) != 1 || len(e.receive(u, 1)) != 0 {
		t.Fatal("message visible while in flight")
	}
	e.clock.Advance(19 * time.Second)
	if len(e.receive(u, 1)) != 0 {
		t.Fatal("message visible before the queue's 20 s")
	}
	e.clock.Advance(time.Second)
	second := e.receive(u, 1)
	if len(second) != 1 || second[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("second receive: %v", second)
	}
	if aws.ToString(second[0].ReceiptHandle) == aws.ToString(first[0].ReceiptHandle) {
		t.Error("a new receive must get a new receipt handle")
	}
	if second[0].Attributes["ApproximateFirstReceiveTimestamp"] != first[0].Attributes["ApproximateFirstReceiveTimestamp"] {
		t.Error("ApproximateFirstReceiveTimestamp changed")
	}

	// A per-receive VisibilityTimeout overrides the queue's.
	e.clock.Advance(20 * time.Second)
	out, err := e.sqs.ReceiveMessage(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: u2p(u), VisibilityTimeout: 100})
	if err != nil || len(out.Messages) != 1 {
		t.Fatal(out, err)
	}
	e.clock.Advance(99 * time.Second)
	if len(e.receive(u, 1)) != 0 {
		t.Fatal("visible before the receive's 100 s")
	}
	e.clock.Advance(time.Second)
	if len(e.receive(u, 1)) != 1 {
		t.Fatal("not visible after the receive's 100 s")
	}
}

func TestChangeMessageVisibility(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	e.send(u, "job")
	m := e.receive(u, 1)[0]
	change := func(h *string, seconds int32) error {
		_, err := e.sqs.ChangeMessageVisibility(e.ctx(), &sqs.ChangeMessageVisibilityInput{QueueUrl: u2p(u), ReceiptHandle: h, VisibilityTimeout: seconds})
		return err
	}
	// Extend: still invisible after the original 30 s.
	if err := change(m.ReceiptHandle, 300); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(299 * time.Second)
	if len(e.receive(u, 1)) != 0 {
		t.Fatal("visible before the extended timeout")
	}
	// Release with 0: visible at once.
	if err := change(m.ReceiptHandle, 0); err != nil {
		t.Fatal(err)
	}
	if n := e.attributes(u)["ApproximateNumberOfMessages"]; n != "1" {
		t.Fatalf("released message not visible: %s", n)
	}
	wantAPIError[*types.MessageNotInflight](t, change(m.ReceiptHandle, 10), "AWS.SimpleQueueService.MessageNotInflight")

	m2 := e.receive(u, 1)[0]
	wantAPIError[*types.MessageNotInflight](t, change(m.ReceiptHandle, 10), "") // the first receive's handle is stale
	wantAPIError[*types.ReceiptHandleIsInvalid](t, change(aws.String("not-a-handle"), 10), "ReceiptHandleIsInvalid")
	wantGenericError(t, change(m2.ReceiptHandle, 43201), "InvalidParameterValue")

	// The 12 hours are counted from the receive.
	if err := change(m2.ReceiptHandle, 12*3600); err != nil {
		t.Fatalf("extend to 12 h: %v", err)
	}
	e.clock.Advance(6 * time.Hour)
	if err := change(m2.ReceiptHandle, 6*3600); err != nil {
		t.Fatalf("extend to exactly 12 h after the receive: %v", err)
	}
	wantGenericError(t, change(m2.ReceiptHandle, 6*3600+1), "InvalidParameterValue")

	e.deleteMessage(u, m2)
	wantGenericError(t, change(m2.ReceiptHandle, 10), "InvalidParameterValue")
}

func TestDeleteMessageReceiptHandles(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	other := e.createQueue("other", nil)
	e.send(u, "job")
	first := e.receive(u, 1)[0]

	// A handle whose visibility timeout ended still deletes while it is the
	// latest receive.
	e.clock.Advance(time.Minute)
	e.deleteMessage(u, first)
	e.clock.Advance(time.Minute)
	if len(e.receive(u, 1)) != 0 {
		t.Fatal("message not deleted by its latest handle after the timeout")
	}
	e.deleteMessage(u, first) // deleting again succeeds

	// An older handle, after the message was received again, succeeds
	// without deleting.
	e.send(u, "job2")
	old := e.receive(u, 1)[0]
	e.clock.Advance(time.Minute)
	current := e.receive(u, 1)[0]
	e.deleteMessage(u, old)
	if n := e.attributes(u)["ApproximateNumberOfMessagesNotVisible"]; n != "1" {
		t.Fatalf("stale handle deleted the message (in flight: %s)", n)
	}
	e.deleteMessage(u, current)
	if n := e.attributes(u)["ApproximateNumberOfMessagesNotVisible"]; n != "0" {
		t.Fatalf("current handle did not delete (in flight: %s)", n)
	}

	for _, h := range []string{"garbage", strings.Repeat("A", 52), (*current.ReceiptHandle)[:len(*current.ReceiptHandle)-4] + "AAAA"} {
		_, err := e.sqs.DeleteMessage(e.ctx(), &sqs.DeleteMessageInput{QueueUrl: u2p(u), ReceiptHandle: aws.String(h)})
		wantAPIError[*types.ReceiptHandleIsInvalid](t, err, "ReceiptHandleIsInvalid")
	}
	// A handle of another queue is not valid here.
	_, err := e.sqs.DeleteMessage(e.ctx(), &sqs.DeleteMessageInput{QueueUrl: u2p(other), ReceiptHandle: current.ReceiptHandle})
	wantAPIError[*types.ReceiptHandleIsInvalid](t, err, "ReceiptHandleIsInvalid")
}

func TestDelaySeconds(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", map[string]string{"DelaySeconds": "10"})
	e.send(u, "queue delay")
	if _, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("message delay"), DelaySeconds: 60}); err != nil {
		t.Fatal(err)
	}
	if got := e.attributes(u)["ApproximateNumberOfMessagesDelayed"]; got != "2" {
		t.Fatalf("delayed = %s", got)
	}
	e.clock.Advance(10 * time.Second)
	got := e.receive(u, 10)
	if !slices.Equal(bodies(got), []string{"queue delay"}) {
		t.Fatalf("after 10 s: %v", bodies(got))
	}
	e.deleteMessage(u, got[0])
	e.clock.Advance(50 * time.Second)
	if got := bodies(e.receive(u, 10)); !slices.Equal(got, []string{"message delay"}) {
		t.Fatalf("after 60 s: %v", got)
	}
	_, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("x"), DelaySeconds: 901})
	wantGenericError(t, err, "InvalidParameterValue")
}

func TestRetentionPeriod(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", map[string]string{"MessageRetentionPeriod": "60"})
	e.send(u, "old")
	e.clock.Advance(30 * time.Second)
	e.send(u, "young")
	if got := bodies(e.receive(u, 1)); !slices.Equal(got, []string{"old"}) {
		t.Fatalf("received %v", got)
	}
	e.clock.Advance(30 * time.Second)
	// "old" expired although in flight; "young" has 30 s left.
	got := e.attributes(u)
	if got["ApproximateNumberOfMessages"] != "1" || got["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("after 60 s: %v", got)
	}
	e.clock.Advance(30 * time.Second)
	if got := bodies(e.receive(u, 10)); len(got) != 0 {
		t.Fatalf("expired messages received: %v", got)
	}
	if got := e.attributes(u); got["ApproximateNumberOfMessagesNotVisible"] != "0" || got["ApproximateNumberOfMessages"] != "0" {
		t.Fatalf("counts after expiry: %v", got)
	}
}

func TestReceiveParameters(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	for i := range 15 {
		e.send(u, fmt.Sprint(i))
	}
	if got := e.receive(u, 10); len(got) != 10 {
		t.Fatalf("MaxNumberOfMessages 10 gave %d", len(got))
	}
	out, err := e.sqs.ReceiveMessage(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: u2p(u)})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("default MaxNumberOfMessages gave %d, %v", len(out.Messages), err)
	}
	for name, in := range map[string]*sqs.ReceiveMessageInput{
		"MaxNumberOfMessages 11": {QueueUrl: u2p(u), MaxNumberOfMessages: 11},
		"MaxNumberOfMessages -1": {QueueUrl: u2p(u), MaxNumberOfMessages: -1},
		"WaitTimeSeconds 21":     {QueueUrl: u2p(u), WaitTimeSeconds: 21},
		"VisibilityTimeout -1":   {QueueUrl: u2p(u), VisibilityTimeout: -1},
		"VisibilityTimeout 12h+": {QueueUrl: u2p(u), VisibilityTimeout: 43201},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.sqs.ReceiveMessage(e.ctx(), in)
			wantGenericError(t, err, "InvalidParameterValue")
		})
	}
}

func TestStandardQueueRejectsDeduplicationID(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	_, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("d")})
	wantGenericError(t, err, "InvalidParameterValue")
	// MessageGroupId is accepted (fair queues) and returned.
	if _, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("x"), MessageGroupId: aws.String("tenant-1")}); err != nil {
		t.Fatal(err)
	}
	if m := e.receive(u, 1); len(m) != 1 || m[0].Attributes["MessageGroupId"] != "tenant-1" {
		t.Fatalf("received %v", m)
	}
}
