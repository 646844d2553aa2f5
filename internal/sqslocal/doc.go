// Package sqslocal is an embedded Amazon SQS endpoint: the local default
// for `scheduler dev` and for the tests of every SQS client in checkfleet.
// Code tested against it through aws-sdk-go-v2 should work against AWS
// unchanged, so it follows SQS's documented behaviour closely and is tested
// through the real SDK over real HTTP.
//
// # Protocol
//
// Only the AWS JSON 1.0 protocol that current SDKs speak: POST / with
// X-Amz-Target: AmazonSQS.<Action> and Content-Type
// application/x-amz-json-1.0. Errors are JSON bodies {"__type", "message"}
// with the HTTP status of the SQS model and the x-amzn-query-error header
// ("<legacy code>;Sender"), so the SDK returns its typed errors
// (types.QueueDoesNotExist, ...) and ErrorCode() is the legacy code
// (AWS.SimpleQueueService.NonExistentQueue, ...), as it is with AWS.
// Errors the model does not declare use AWS's generic shapes:
// InvalidParameterValue, MissingParameter, SerializationException (malformed
// JSON or wrong types), UnknownOperationException (unknown action, missing
// target, wrong content type or method), RequestEntityTooLarge (a body over
// 4 MiB), InternalFailure and ServiceUnavailable. Signatures are accepted
// without checking; the access key id of a SigV4 signature becomes the
// messages' SenderId. Queue URLs are <scheme>://<Host of the request, or
// Options.BaseURL>/<account>/<name>; a queue is found by the URL's path, so
// a URL works under any host name.
//
// # Supported
//
// CreateQueue (idempotent with identical attributes, QueueNameExists
// otherwise, QueueDeletedRecently for 60 s after DeleteQueue), GetQueueUrl,
// ListQueues (prefix, MaxResults, NextToken), DeleteQueue,
// GetQueueAttributes, SetQueueAttributes, PurgeQueue (PurgeQueueInProgress
// within 60 s), TagQueue, UntagQueue, ListQueueTags,
// ListDeadLetterSourceQueues, SendMessage, SendMessageBatch, ReceiveMessage,
// DeleteMessage, DeleteMessageBatch, ChangeMessageVisibility,
// ChangeMessageVisibilityBatch; with visibility timeouts (queue default and
// per receive, the 12-hour cap counted from the current receive), long
// polling (woken per queue as soon as a message is receivable), delays,
// retention, MaximumMessageSize (body plus attributes), the message body
// character set, message attributes (String, Number, Binary and custom
// types) and their MD5 digests, system attributes (including AWSTraceHeader
// and DeadLetterQueueSourceArn), batch rules and per-entry failures,
// redrive to a dead-letter queue on the receive that would exceed
// maxReceiveCount (RedriveAllowPolicy is enforced when a RedrivePolicy is
// set), and FIFO queues: group order, one group in flight at a time,
// five-minute deduplication by id or content (queue or messageGroup scope),
// increasing 20-digit sequence numbers.
//
// # JSON
//
// Requests are read and responses written by a hand-written reader and
// writer (jsonreader.go, jsonwriter.go, decode.go), not encoding/json. They
// earn their place on the throughput benchmark's hot path, where this
// endpoint shares two cores with the worker it feeds. BenchmarkJSON compares
// them with encoding/json on the same structs, the requests as
// aws-sdk-go-v2 writes them and job bodies of 1.5 KB of JSON (CPU time per
// operation, garbage collection included, median of 5, on the 2-core AMD
// EPYC VM of the README's figures, Go 1.26):
//
//	                                       hand-written         encoding/json
//	decode SendMessageBatch, 10 x 1.5 KB   131 us, 108 allocs   270 us, 136 allocs   2.1x
//	decode ReceiveMessage                  1.7 us,  11 allocs   5.6 us,  15 allocs   3.3x
//	decode DeleteMessageBatch, 10          6.4 us,  18 allocs    24 us,  24 allocs   3.8x
//	encode ReceiveMessage, 10 x 1.5 KB      57 us,  10 allocs   104 us, 132 allocs   1.8x
//	encode SendMessageBatch result, 10     4.9 us,   1 alloc    7.0 us,   2 allocs   1.4x
//
// A check costs the endpoint a tenth of each batch on the jobs and the
// results queues: about 40 us of JSON against 80 us with encoding/json, so
// encoding/json would take another 4% of the two cores at 2,000 checks/s
// (6 to 9% more than the endpoint and the harness spend per check).
// The reader also follows AWS where encoding/json does not: member names are
// case-sensitive, a null batch entry or string list element is an error, and a
// SerializationException gives the offset of what is malformed.
//
// FuzzJSONReader, FuzzJSONWriter and FuzzJSONString (`make fuzz`) hold
// them to encoding/json: what the reader accepts is valid JSON and decodes
// to what encoding/json decodes, except where AWS's rules above differ;
// what the writer writes decodes to what encoding/json writes of the same
// response. The writer reads a string eight bytes at a time without
// package unsafe (the compiler neither copies nor allocates for those
// bytes, and the figures did not change when unsafe went).
//
// Time rules run on Options.Now, so tests move a fake clock instead of
// waiting; long-poll waits use real timers.
//
// # Durability
//
// With Options.DataDir every change is journaled (package journal, group
// commit): an acknowledged send, delete, purge or queue change survives
// kill -9; receives and visibility changes are written without waiting, so
// a crash can at worst make a message visible early. The deduplication
// window survives restarts. The journal is compacted into a snapshot when
// it outgrows the live state.
//
// # Differences from AWS
//
//   - Deleting with a receipt handle of an earlier receive (the message was
//     received again since) succeeds but does not delete, as SQS documents;
//     AWS standard queues sometimes delete anyway. ChangeMessageVisibility
//     with such a handle, or on a message not in flight, is
//     MessageNotInflight; on a deleted message it is InvalidParameterValue.
//   - A receive whose client has gone claims nothing; if its response
//     cannot be written (as far as the server can tell) the messages are
//     released with their receive count restored. AWS would keep them in
//     flight until the visibility timeout.
//   - ReceiveRequestAttemptId is validated and otherwise ignored: a retried
//     FIFO receive gets new messages or receipt handles, not the same ones.
//   - Approximate counts are exact. Messages of a FIFO group behind an
//     in-flight message count as visible.
//   - Messages moved to a dead-letter queue keep their id and SentTimestamp
//     (retention is counted from the original send, as for standard queues
//     on AWS, also for FIFO) and are visible at once.
//   - MessageGroupId is accepted on standard queues (as for AWS's fair
//     queues) and returned as an attribute; it does not affect delivery.
//   - Not supported (UnsupportedOperation): AddPermission,
//     RemovePermission and the message move tasks. Policy and KMS
//     attributes are stored and returned but not enforced; there are no
//     throughput or in-flight limits (OverLimit is never returned).
//   - Faults (Options.Faults, SetFaults) inject latency, throttling
//     (RequestThrottled, HTTP 403, which the SDK retries) and server
//     errors (500 InternalFailure, 503 ServiceUnavailable) for testing
//     clients; a failed request changes no state.
package sqslocal
