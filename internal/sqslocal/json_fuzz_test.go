package sqslocal

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// The hand-written reader and writer are fuzzed against encoding/json:
// what the reader accepts is valid JSON and decodes to what
// encoding/json decodes (where AWS's rules and encoding/json's agree, see
// comparable), and what the writer writes is valid JSON that decodes to
// what encoding/json writes of the same response.

// FuzzJSONReader decodes arbitrary bodies as the requests of the hot path.
func FuzzJSONReader(f *testing.F) {
	receive, sendBatch, deleteBatch := sdkBodies(f)
	for _, seed := range [][]byte{receive, sendBatch, deleteBatch, nil, []byte(" "), []byte("null"), []byte(`{"QueueUrl":null}`),
		[]byte(`{"Entries":[{"Id":"a","MessageBody":"\ud83d\ude80 \ud800 \u00e9\"","DelaySeconds":-0,"MessageAttributes":{"b":{"DataType":"Binary","BinaryValue":"AAEC"}}}]}`),
		[]byte(`{"queueurl":"x"}`), []byte(`{"Entries":[null]}`), []byte(`{"MaxNumberOfMessages":1e1}`), []byte(`{"AttributeNames":["All"],"x":[[{}]]}`),
		[]byte("{\"QueueUrl\":\"\xff\"}"), []byte(`{"QueueUrl":"a"} x`), []byte(`{"QueueUrl":"a","QueueUrl":"b"}`)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		agree(t, body, func() fieldDecoder { return &sendBatchInput{} })
		agree(t, body, func() fieldDecoder { return &receiveInput{} })
		agree(t, body, func() fieldDecoder { return &ackBatchInput{} })
	})
}

// agree decodes body with the reader and with encoding/json into two
// values of one input type and compares the outcomes.
func agree(t *testing.T, body []byte, input func() fieldDecoder) {
	hand, std := input(), input()
	herr := decode(body, hand)
	if len(bytes.Trim(body, " \t\r\n")) == 0 { // JSON white space only
		if herr != nil {
			t.Fatalf("empty body refused: %v", herr)
		}
		return // an empty body is {} to AWS, invalid to encoding/json
	}
	if herr == nil && !json.Valid(body) {
		t.Fatalf("reader accepted invalid JSON %q as %+v", body, hand)
	}
	if !comparable(body) {
		return
	}
	serr := json.Unmarshal(body, std)
	if (herr == nil) != (serr == nil) {
		t.Fatalf("%T from %q: reader error %v, encoding/json error %v", hand, body, herr, serr)
	}
	if herr == nil && !reflect.DeepEqual(normalize(reflect.ValueOf(hand)), normalize(reflect.ValueOf(std))) {
		t.Fatalf("%T from %q:\nreader        %+v\nencoding/json %+v", hand, body, hand, std)
	}
}

// inputFields are the member names of the request shapes fuzzed.
var inputFields = []string{"QueueUrl", "Entries", "Id", "MessageBody", "DelaySeconds", "MessageAttributes",
	"MessageSystemAttributes", "MessageDeduplicationId", "MessageGroupId", "DataType", "StringValue", "BinaryValue",
	"StringListValues", "BinaryListValues", "AttributeNames", "MessageSystemAttributeNames", "MessageAttributeNames",
	"MaxNumberOfMessages", "VisibilityTimeout", "WaitTimeSeconds", "ReceiveRequestAttemptId", "ReceiptHandle"}

// comparable reports whether body is valid JSON on which AWS's rules, as
// the reader follows them, and encoding/json's give the same outcome. They
// differ, on purpose, where body has: a member name matching a field but
// for case (AWS's names are case-sensitive, encoding/json's are not); a
// member twice in one object; null as an array element or as the value of
// a map member (an error or no entry to AWS, a zero entry to
// encoding/json); null as the document; nesting deeper than the reader's
// limit.
func comparable(body []byte) bool {
	if !json.Valid(body) || bytes.Equal(bytes.Trim(body, " \t\r\n"), []byte("null")) {
		return false
	}
	type container struct {
		object bool
		isMap  bool
		keys   map[string]bool
		key    string // the member whose value comes next
		expect bool   // a key was read and its value not yet
	}
	var stack []*container
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return false
		}
		var top *container
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		// A key of an object, or a value?
		if top != nil && top.object && !top.expect {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				return false
			}
			top.keys[k] = true
			for _, f := range inputFields {
				if k != f && strings.EqualFold(k, f) {
					return false
				}
			}
			top.key, top.expect = k, true
			continue
		}
		if top != nil {
			top.expect = false
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				isMap := top != nil && top.object && (top.key == "MessageAttributes" || top.key == "MessageSystemAttributes")
				stack = append(stack, &container{object: true, isMap: isMap, keys: map[string]bool{}})
			case '[':
				stack = append(stack, &container{})
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
			if len(stack) > maxJSONDepth-4 {
				return false
			}
		case nil:
			if top != nil && (!top.object || top.isMap) {
				return false
			}
		}
	}
}

// normalize makes a decoded value comparable with reflect.DeepEqual: an
// empty slice or map is nil, whichever decoder made it.
func normalize(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return normalize(v.Elem())
	case reflect.Struct:
		out := make([]any, v.NumField())
		for i := range out {
			out[i] = normalize(v.Field(i))
		}
		return out
	case reflect.Slice:
		if v.Len() == 0 {
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return string(v.Bytes())
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = normalize(v.Index(i))
		}
		return out
	case reflect.Map:
		if v.Len() == 0 {
			return nil
		}
		out := map[string]any{}
		for it := v.MapRange(); it.Next(); {
			out[it.Key().String()] = normalize(it.Value())
		}
		return out
	}
	return v.Interface()
}

// FuzzJSONWriter renders ReceiveMessage responses of arbitrary content and
// compares them with encoding/json's rendering of the same response.
func FuzzJSONWriter(f *testing.F) {
	f.Add(jobBody, "schema", "checkfleet.job/v2", []byte{0, 1, 2})
	f.Add("", "", "", []byte(nil))
	f.Add("\x00\x1f\"\\\u2028<>&\xff\xe2\x82 🚀 \ufffd", "n\xc3", "v\t\n", []byte("\xff"))
	f.Fuzz(func(t *testing.T, body, name, value string, bin []byte) {
		attrs := []messageAttribute{{name: name, dataType: "String", str: value}, {name: name + "~bin", dataType: "Binary", bin: bin}}
		m := &message{idStr: "id", body: body, md5Body: "md5", attrs: attrs, md5Attrs: "md5attrs", senderID: name, sentAt: 1e18}
		got := []received{{m: m, receiveCount: 3, firstReceive: 2e18, handle: value}}
		sys := sysReceiveCount | sysSentTimestamp
		w := getJSONWriter()
		defer putJSONWriter(w)
		(&Server{}).writeReceived(&call{out: w}, got, sys, []string{"All"})
		if !json.Valid(w.b) {
			t.Fatalf("invalid JSON written: %q", w.b)
		}
		std, err := json.Marshal(stdReceived(got, sys))
		if err != nil {
			t.Fatal(err)
		}
		var fromHand, fromStd stdReceiveOutput
		if err := json.Unmarshal(w.b, &fromHand); err != nil {
			t.Fatalf("%q: %v", w.b, err)
		}
		if err := json.Unmarshal(std, &fromStd); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(normalize(reflect.ValueOf(fromHand)), normalize(reflect.ValueOf(fromStd))) {
			t.Fatalf("writer      %s\nencoding/json %s", w.b, std)
		}
	})
}

// FuzzJSONString compares the escaping and unescaping of one string with
// encoding/json's.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", jobBody, "\x00\x1f\"\\/\u2028\u2029<>&", "\xff\xe2\x82\xc0\xaf", "🚀\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		std, _ := json.Marshal(s)
		var want string
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		enc := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil || got != want {
			t.Fatalf("%q written as %s, read back by encoding/json as %q (%v), want %q", s, enc, got, err, want)
		}
		for _, in := range [][]byte{std, enc} {
			r := jsonReader{b: in}
			if got, ok := r.str(); !ok || r.err != nil || got != want || r.i != len(in) {
				t.Fatalf("reader read %s as %q (%v), want %q", in, got, r.err, want)
			}
		}
		// Raw bytes, escaped or not, are what encoding/json reads too.
		raw := append(append([]byte{'"'}, s...), '"')
		var stdRaw string
		stdErr := json.Unmarshal(raw, &stdRaw)
		r := jsonReader{b: raw}
		handRaw, _ := r.str()
		if (stdErr == nil) != (r.err == nil && r.i == len(raw)) || (stdErr == nil && handRaw != stdRaw) {
			t.Fatalf("%q: reader %q (%v, at %d), encoding/json %q (%v)", raw, handRaw, r.err, r.i, stdRaw, stdErr)
		}
	})
}
