package sqslocal

// Request decoding: each input type names its members. Member names are
// the SDK's (note CreateQueue's lower-case "tags").

// fieldDecoder is an input type that decodes its members one by one.
type fieldDecoder interface {
	field(r *jsonReader, key []byte)
}

// decode reads a request body into in.
func decode(body []byte, in fieldDecoder) *apiError {
	r := jsonReader{b: body}
	return r.document(func(key []byte) { in.field(&r, key) })
}

func (in *createQueueInput) field(r *jsonReader, key []byte) {
	switch string(key) {
	case "QueueName":
		in.QueueName, _ = r.str()
	case "Attributes":
		in.Attributes = r.strMap()
	case "tags":
		in.Tags = r.strMap()
	default:
		r.skip()
	}
}

func (in *queueURLInput) field(r *jsonReader, key []byte) {
	if string(key) == "QueueUrl" {
		in.QueueUrl, _ = r.str()
		return
	}
	r.skip()
}

func (in *getQueueURLInput) field(r *jsonReader, key []byte) {
	switch string(key) {
	case "QueueName":
		in.QueueName, _ = r.str()
	case "QueueOwnerAWSAccountId":
		in.QueueOwnerAWSAccountId, _ = r.str()
	default:
		r.skip()
	}
}

func (in *listQueuesInput) field(r *jsonReader, key []byte) {
	switch string(key) {
	case "QueueNamePrefix":
		in.QueueNamePrefix, _ = r.str()
	case "MaxResults":
		in.MaxResults = r.intPtr()
	case "NextToken":
		in.NextToken, _ = r.str()
	case "QueueUrl":
		in.QueueUrl, _ = r.str()
	default:
		r.skip()
	}
}

func (in *getQueueAttributesInput) field(r *jsonReader, key []byte) {
	switch string(key) {
	case "QueueUrl":
		in.QueueUrl, _ = r.str()
	case "AttributeNames":
		in.AttributeNames = r.strList()
	default:
		r.skip()
	}
}

func (in *setQueueAttributesInput) field(r *jsonReader, key []byte) {
	switch string(key) {
	case "QueueUrl":
		in.QueueUrl, _ = r.str()
	case "Attributes":
		in.Attributes = r.strMap()
	default:
		r.skip()
	}
}

func (in *tagQueueInput) field(r *jsonReader, key []byte) {
	switch string(key) {
	case "QueueUrl":
		in.QueueUrl, _ = r.str()
	case "Tags":
		in.Tags = r.strMap()
	case "TagKeys":
		in.TagKeys = r.strList()
	default:
		r.skip()
	}
}

func (in *sendInput) field(r *jsonReader, key []byte) {
	switch string(key) {
	case "Id":
		in.Id, _ = r.str()
	case "QueueUrl":
		in.QueueUrl, _ = r.str()
	case "MessageBody":
		in.MessageBody = r.strPtr()
	case "DelaySeconds":
		in.DelaySeconds = r.intPtr()
	case "MessageAttributes":
		in.MessageAttributes = decodeAttributeValues(r)
	case "MessageSystemAttributes":
		in.MessageSystemAttributes = decodeAttributeValues(r)
	case "MessageDeduplicationId":
		in.MessageDeduplicationId = r.strPtr()
	case "MessageGroupId":
		in.MessageGroupId = r.strPtr()
	default:
		r.skip()
	}
}

func decodeAttributeValues(r *jsonReader) map[string]attributeValueInput {
	var out map[string]attributeValueInput
	r.object(func(key []byte) {
		var v attributeValueInput
		if r.null() {
			return
		}
		r.object(func(k []byte) { v.field(r, k) })
		if out == nil {
			out = map[string]attributeValueInput{}
		}
		out[string(key)] = v
	})
	return out
}

func (in *attributeValueInput) field(r *jsonReader, key []byte) {
	switch string(key) {
	case "DataType":
		in.DataType = r.strPtr()
	case "StringValue":
		in.StringValue = r.strPtr()
	case "BinaryValue":
		in.BinaryValue = r.blob()
	case "StringListValues":
		in.StringListValues = r.strList()
	case "BinaryListValues":
		r.array(func() { in.BinaryListValues = append(in.BinaryListValues, r.blob()) })
	default:
		r.skip()
	}
}

func (in *sendBatchInput) field(r *jsonReader, key []byte) {
	switch string(key) {
	case "QueueUrl":
		in.QueueUrl, _ = r.str()
	case "Entries":
		r.array(func() {
			var e sendInput
			if r.null() {
				r.fail("null batch entry")
				return
			}
			r.object(func(k []byte) { e.field(r, k) })
			in.Entries = append(in.Entries, e)
		})
	default:
		r.skip()
	}
}

func (in *receiveInput) field(r *jsonReader, key []byte) {
	switch string(key) {
	case "QueueUrl":
		in.QueueUrl, _ = r.str()
	case "AttributeNames":
		in.AttributeNames = r.strList()
	case "MessageSystemAttributeNames":
		in.MessageSystemAttributeNames = r.strList()
	case "MessageAttributeNames":
		in.MessageAttributeNames = r.strList()
	case "MaxNumberOfMessages":
		in.MaxNumberOfMessages = r.intPtr()
	case "VisibilityTimeout":
		in.VisibilityTimeout = r.intPtr()
	case "WaitTimeSeconds":
		in.WaitTimeSeconds = r.intPtr()
	case "ReceiveRequestAttemptId":
		in.ReceiveRequestAttemptId = r.strPtr()
	default:
		r.skip()
	}
}

func (in *ackInput) field(r *jsonReader, key []byte) {
	switch string(key) {
	case "Id":
		in.Id, _ = r.str()
	case "QueueUrl":
		in.QueueUrl, _ = r.str()
	case "ReceiptHandle":
		in.ReceiptHandle, _ = r.str()
	case "VisibilityTimeout":
		in.VisibilityTimeout = r.intPtr()
	default:
		r.skip()
	}
}

func (in *ackBatchInput) field(r *jsonReader, key []byte) {
	switch string(key) {
	case "QueueUrl":
		in.QueueUrl, _ = r.str()
	case "Entries":
		r.array(func() {
			var e ackInput
			if r.null() {
				r.fail("null batch entry")
				return
			}
			r.object(func(k []byte) { e.field(r, k) })
			in.Entries = append(in.Entries, e)
		})
	default:
		r.skip()
	}
}
