package sqslocal

import (
	"fmt"
	"net/http"
)

// apiError is an error answered to the client as an AWS JSON 1.0 error:
// a body {"__type": ..., "message": ...} and the x-amzn-query-error header
// carrying the legacy (query protocol) code, which the SDK reports from
// ErrorCode() because the SQS model is awsQueryCompatible.
type apiError struct {
	status int
	typ    string // the full shape id written as __type
	code   string // the query-compatible code of the x-amzn-query-error header
	server bool   // Receiver fault rather than Sender fault
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

// queryErrorHeader is the x-amzn-query-error value: "<code>;Sender".
func (e *apiError) queryErrorHeader() string {
	if e.server {
		return e.code + ";Receiver"
	}
	return e.code + ";Sender"
}

// errorKind describes one AWS error: the shape, the HTTP status and the
// query-compatible code, as the SQS Smithy model declares them.
type errorKind struct {
	status int
	typ    string
	code   string
	server bool
}

func (k errorKind) new(format string, args ...any) *apiError {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &apiError{status: k.status, typ: k.typ, code: k.code, server: k.server, msg: msg}
}

// Errors the SQS model declares (typed errors in aws-sdk-go-v2's types
// package). Status codes and query codes follow the model's httpError and
// awsQueryError traits.
var (
	kindQueueDoesNotExist            = sqsKind("QueueDoesNotExist", 400, "AWS.SimpleQueueService.NonExistentQueue")
	kindQueueNameExists              = sqsKind("QueueNameExists", 400, "QueueAlreadyExists")
	kindQueueDeletedRecently         = sqsKind("QueueDeletedRecently", 400, "AWS.SimpleQueueService.QueueDeletedRecently")
	kindReceiptHandleIsInvalid       = sqsKind("ReceiptHandleIsInvalid", 404, "ReceiptHandleIsInvalid")
	kindMessageNotInflight           = sqsKind("MessageNotInflight", 400, "AWS.SimpleQueueService.MessageNotInflight")
	kindPurgeQueueInProgress         = sqsKind("PurgeQueueInProgress", 403, "AWS.SimpleQueueService.PurgeQueueInProgress")
	kindTooManyEntriesInBatchRequest = sqsKind("TooManyEntriesInBatchRequest", 400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
	kindBatchEntryIdsNotDistinct     = sqsKind("BatchEntryIdsNotDistinct", 400, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
	kindEmptyBatchRequest            = sqsKind("EmptyBatchRequest", 400, "AWS.SimpleQueueService.EmptyBatchRequest")
	kindInvalidBatchEntryID          = sqsKind("InvalidBatchEntryId", 400, "AWS.SimpleQueueService.InvalidBatchEntryId")
	kindBatchRequestTooLong          = sqsKind("BatchRequestTooLong", 400, "AWS.SimpleQueueService.BatchRequestTooLong")
	kindInvalidAttributeName         = sqsKind("InvalidAttributeName", 400, "InvalidAttributeName")
	kindInvalidAttributeValue        = sqsKind("InvalidAttributeValue", 400, "InvalidAttributeValue")
	kindInvalidMessageContents       = sqsKind("InvalidMessageContents", 400, "InvalidMessageContents")
	kindInvalidAddress               = sqsKind("InvalidAddress", 404, "InvalidAddress")
	kindRequestThrottled             = sqsKind("RequestThrottled", 403, "RequestThrottled")
	kindUnsupportedOperation         = sqsKind("UnsupportedOperation", 400, "AWS.SimpleQueueService.UnsupportedOperation")
)

// Errors common to AWS services, which the SQS model does not declare: the
// SDK surfaces them as *smithy.GenericAPIError with ErrorCode() = the query
// code (InvalidParameterValue, MissingParameter, ...).
var (
	kindInvalidParameterValue = coralKind("InvalidParameterValueException", 400, "InvalidParameterValue")
	kindMissingParameter      = coralKind("MissingParameterException", 400, "MissingParameter")
	kindUnknownOperation      = coralKind("UnknownOperationException", 400, "InvalidAction")
	kindSerialization         = coralKind("SerializationException", 400, "SerializationException")
	kindRequestTooLarge       = coralKind("RequestEntityTooLargeException", http.StatusRequestEntityTooLarge, "RequestEntityTooLarge")
	kindInternalFailure       = errorKind{status: 500, typ: "com.amazon.coral.service#InternalFailure", code: "InternalFailure", server: true}
	kindServiceUnavailable    = errorKind{status: 503, typ: "com.amazon.coral.availability#ServiceUnavailableException", code: "ServiceUnavailable", server: true}
)

func sqsKind(name string, status int, code string) errorKind {
	return errorKind{status: status, typ: "com.amazonaws.sqs#" + name, code: code}
}

func coralKind(name string, status int, code string) errorKind {
	return errorKind{status: status, typ: "com.amazon.coral.service#" + name, code: code}
}

func errQueueDoesNotExist() *apiError {
	return kindQueueDoesNotExist.new("The specified queue does not exist.")
}

func errMissingParameter(name string) *apiError {
	return kindMissingParameter.new("The request must contain the parameter %s.", name)
}

func errInvalidParameter(name string, value any, reason string) *apiError {
	return kindInvalidParameterValue.new("Value %v for parameter %s is invalid. Reason: %s", value, name, reason)
}

func errReceiptHandleIsInvalid(handle string) *apiError {
	return kindReceiptHandleIsInvalid.new("The input receipt handle %q is not a valid receipt handle.", handle)
}

func errInternal(err error) *apiError {
	return kindInternalFailure.new("We encountered an internal error. Please try again. (%v)", err)
}
