package queue

import (
	"errors"

	"github.com/aws/smithy-go"
)

// refusalCodes are the SQS error codes of a message refused for what it is:
// characters outside SQS's set, too large, a bad attribute. Sending the
// same message again cannot succeed; the queue itself is fine.
var refusalCodes = map[string]bool{
	"InvalidMessageContents": true,
	"InvalidParameterValue":  true,
	"InvalidAttributeName":   true,
	"InvalidAttributeValue":  true,
	"MessageTooLong":         true,
}

// Refused reports whether err, from Send or SendBatch, says SQS refused the
// message itself (a sender fault in its body, size or attributes) rather
// than failing to take it (throttling, an outage, a missing queue, no
// permission). It returns SQS's code and message, "InvalidMessageContents:
// Invalid binary character ...". A refused message is never retried as is.
func Refused(err error) (reason string, ok bool) {
	if entry, isEntry := errors.AsType[*EntryError](err); isEntry {
		if entry.SenderFault && refusalCodes[entry.Code] {
			return entry.Error(), true
		}
		return "", false
	}
	api, isAPI := errors.AsType[smithy.APIError](err)
	if !isAPI || api.ErrorFault() == smithy.FaultServer || !refusalCodes[api.ErrorCode()] {
		return "", false
	}
	return api.ErrorCode() + ": " + api.ErrorMessage(), true
}
