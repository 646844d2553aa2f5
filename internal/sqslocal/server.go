package sqslocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Server. The zero value is an in-memory endpoint for
// account 000000000000 in us-east-1.
type Options struct {
	// DataDir, when set, makes the server durable: state is journaled there
	// and replayed by New. Empty keeps everything in memory.
	DataDir string
	// AccountID is the account in queue URLs and ARNs (default
	// 000000000000).
	AccountID string
	// Region is the region in queue ARNs (default us-east-1).
	Region string
	// BaseURL, when set, is the scheme and host of returned queue URLs
	// (e.g. http://sqs.local:9324); otherwise the request's Host is used.
	BaseURL string
	// Now is the clock for every SQS time rule (delays, visibility,
	// retention, deduplication, purge); default time.Now. Long-poll waits
	// always run on real timers.
	Now func() time.Time
	// Faults to inject from the start; see SetFaults.
	Faults Faults
	// Logger receives events (replay, snapshot, internal errors); default
	// discards them.
	Logger *slog.Logger
	// MaxLongPoll caps how long a receive waits, whatever its
	// WaitTimeSeconds (default 20 s, the SQS maximum).
	MaxLongPoll time.Duration
	// SnapshotMinBytes is how large the journal must grow before it is
	// compacted into a snapshot (default 64 MiB); compaction also waits
	// until the journal is 4 times the live state.
	SnapshotMinBytes int64
}

// Validate reports the first invalid option.
func (o *Options) Validate() error {
	if o.AccountID != "" && (len(o.AccountID) != 12 || strings.Trim(o.AccountID, "0123456789") != "") {
		return fmt.Errorf("account id %q: want 12 digits", o.AccountID)
	}
	if strings.ContainsAny(o.Region, ":/ ") {
		return fmt.Errorf("region %q: not a region name", o.Region)
	}
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("base URL %q: want http(s)://host[:port]", o.BaseURL)
		}
	}
	if o.MaxLongPoll < 0 || o.SnapshotMinBytes < 0 {
		return errors.New("MaxLongPoll and SnapshotMinBytes must not be negative")
	}
	return o.Faults.validate()
}

// Server is an SQS-compatible endpoint speaking the AWS JSON 1.0 protocol.
// It is an http.Handler; mount it at the root of a listener.
type Server struct {
	account     string
	region      string
	base        string
	now         func() time.Time
	log         *slog.Logger
	maxLongPoll time.Duration
	faults      faultInjector

	// mu guards queues and deleted; it is held for reading by every
	// action while it touches state (never while a receive waits), and
	// for writing to add or remove queues and to snapshot.
	mu      sync.RWMutex
	queues  map[string]*queue
	deleted map[string]int64 // queue name -> unix ns of its deletion
	closed  bool

	wal *persister // nil in memory

	polling atomic.Int64 // receives waiting in a long poll, for tests

	done      chan struct{} // closed by Close: long polls return
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup // goroutines owned by the server
}

// New returns a server; with opts.DataDir it opens and replays the journal
// there (holding the directory's lock until Close).
func New(opts Options) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("sqslocal options: %w", err)
	}
	s := &Server{
		account:     opts.AccountID,
		region:      opts.Region,
		base:        strings.TrimSuffix(opts.BaseURL, "/"),
		now:         opts.Now,
		log:         opts.Logger,
		maxLongPoll: opts.MaxLongPoll,
		queues:      map[string]*queue{},
		deleted:     map[string]int64{},
		done:        make(chan struct{}),
	}
	if s.account == "" {
		s.account = "000000000000"
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxLongPoll == 0 {
		s.maxLongPoll = maxWait * time.Second
	}
	s.faults.set(opts.Faults)
	if opts.DataDir != "" {
		if err := s.openDurable(opts.DataDir, opts.SnapshotMinBytes); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Close makes waiting receives return (empty), refuses further requests
// with ServiceUnavailable, and flushes and closes the journal. It is
// idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.wg.Wait()
		s.mu.Lock()
		s.closed = true
		if s.wal != nil {
			s.closeErr = s.wal.close()
		}
		s.mu.Unlock()
	})
	return s.closeErr
}

func (s *Server) nowNS() int64 { return s.now().UnixNano() }

// call is one request being served.
type call struct {
	ctx    context.Context
	r      *http.Request
	body   []byte
	out    *jsonWriter
	sender string
	// afterWrite, when set, learns whether the response reached the client
	// (as far as the server can tell): receives release what they claimed
	// when it did not.
	afterWrite func(delivered bool)
}

type action func(s *Server, c *call) *apiError

// actions maps X-Amz-Target operation names to their handlers.
var actions = map[string]action{
	"CreateQueue":                  (*Server).createQueue,
	"GetQueueUrl":                  (*Server).getQueueURL,
	"ListQueues":                   (*Server).listQueues,
	"DeleteQueue":                  (*Server).deleteQueue,
	"GetQueueAttributes":           (*Server).getQueueAttributes,
	"SetQueueAttributes":           (*Server).setQueueAttributes,
	"PurgeQueue":                   (*Server).purgeQueue,
	"TagQueue":                     (*Server).tagQueue,
	"UntagQueue":                   (*Server).untagQueue,
	"ListQueueTags":                (*Server).listQueueTags,
	"ListDeadLetterSourceQueues":   (*Server).listDeadLetterSourceQueues,
	"SendMessage":                  (*Server).sendMessage,
	"SendMessageBatch":             (*Server).sendMessageBatch,
	"ReceiveMessage":               (*Server).receiveMessage,
	"DeleteMessage":                (*Server).deleteMessage,
	"DeleteMessageBatch":           (*Server).deleteMessageBatch,
	"ChangeMessageVisibility":      (*Server).changeMessageVisibility,
	"ChangeMessageVisibilityBatch": (*Server).changeMessageVisibilityBatch,
	"AddPermission":                unsupported("AddPermission"),
	"RemovePermission":             unsupported("RemovePermission"),
	"StartMessageMoveTask":         unsupported("StartMessageMoveTask"),
	"CancelMessageMoveTask":        unsupported("CancelMessageMoveTask"),
	"ListMessageMoveTasks":         unsupported("ListMessageMoveTasks"),
}

func unsupported(name string) action {
	return func(*Server, *call) *apiError {
		return kindUnsupportedOperation.new("%s is not supported by sqslocal.", name)
	}
}

const (
	targetPrefix = "AmazonSQS."
	jsonType     = "application/x-amz-json-1.0"
	// maxRequestBytes bounds a request body: a batch may carry 1 MiB of
	// payload, which JSON escaping (\n, \", \\ double) and base64 (4/3)
	// inflate; 4 MiB covers any valid request.
	maxRequestBytes = 4 << 20
)

// ServeHTTP serves one AWS JSON 1.0 request: POST / with X-Amz-Target
// AmazonSQS.<Action>. Signatures are not checked.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header()["X-Amzn-Requestid"] = []string{newRequestID()}
	c := &call{ctx: r.Context(), r: r, out: getJSONWriter()}
	defer func() {
		putJSONWriter(c.out)
		putBody(c.body)
	}()
	if err := s.serve(c); err != nil {
		writeError(w, err)
		return
	}
	delivered := writeJSON(w, http.StatusOK, c.out.b, c.afterWrite != nil) && c.ctx.Err() == nil
	if c.afterWrite != nil {
		c.afterWrite(delivered)
	}
}

func (s *Server) serve(c *call) *apiError {
	r := c.r
	target := r.Header.Get("X-Amz-Target")
	name, ok := strings.CutPrefix(target, targetPrefix)
	act := actions[name]
	if !ok || act == nil {
		if target == "" {
			return kindUnknownOperation.new("Missing X-Amz-Target header: this endpoint speaks the AWS JSON 1.0 protocol only.")
		}
		return kindUnknownOperation.new("Unknown operation %s.", target)
	}
	if r.Method != http.MethodPost {
		return kindUnknownOperation.new("%s must be sent with POST, not %s.", name, r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != jsonType {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != jsonType {
			return kindUnknownOperation.new("Content-Type %q is not supported: use %s.", ct, jsonType)
		}
	}
	if err := s.faults.inject(c.ctx, s.done); err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	c.body = body
	c.sender = senderID(r, s.account)
	if err := act(s, c); err != nil {
		return err
	}
	if len(c.out.b) == 0 {
		c.out.b = append(c.out.b, "{}"...)
	}
	return nil
}

// bodyPool recycles request bodies. Nothing may keep a slice of a body
// after its request: decoding copies every string it keeps.
var bodyPool = sync.Pool{New: func() any { return new([]byte) }}

func putBody(b []byte) {
	if b != nil && cap(b) <= 1<<20 {
		b = b[:0]
		bodyPool.Put(&b)
	}
}

func readBody(r *http.Request) ([]byte, *apiError) {
	if r.ContentLength > maxRequestBytes {
		return nil, kindRequestTooLarge.new("The request body is larger than %d bytes.", maxRequestBytes)
	}
	buf := (*bodyPool.Get().(*[]byte))[:0]
	if n := int(r.ContentLength) + 1; r.ContentLength > 0 && cap(buf) < n {
		buf = make([]byte, 0, n)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > maxRequestBytes {
			putBody(buf)
			return nil, kindRequestTooLarge.new("The request body is larger than %d bytes.", maxRequestBytes)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			putBody(buf)
			return nil, kindSerialization.new("Reading the request body: %v", err)
		}
	}
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header()["X-Amzn-Query-Error"] = []string{e.queryErrorHeader()}
	jw := getJSONWriter()
	defer putJSONWriter(jw)
	jw.openObject()
	jw.field("__type", e.typ)
	jw.field("message", e.msg)
	jw.closeObject()
	writeJSON(w, e.status, jw.b, false)
}

// writeJSON writes a complete response; with flush it also pushes it to
// the connection and reports whether that worked.
func writeJSON(w http.ResponseWriter, status int, b []byte, flush bool) bool {
	h := w.Header()
	h["Content-Type"] = []string{jsonType}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	if _, err := w.Write(b); err != nil {
		return false
	}
	if flush {
		if err := http.NewResponseController(w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
	}
	return true
}

// senderID is the SenderId of messages a request sends: the access key id
// of its SigV4 signature, else the account id.
func senderID(r *http.Request, account string) string {
	auth := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return account
	}
	key, _, _ := strings.Cut(cred, "/")
	if key == "" || len(key) > 128 || !validMessageChars(key) {
		return account
	}
	return key
}

func newRequestID() string { return newMsgID().String() }

// begin takes the state lock for an action, failing once the server is
// closed. Callers must s.mu.RUnlock().
func (s *Server) begin() *apiError {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return kindServiceUnavailable.new("The server is shutting down.")
	}
	return nil
}

// beginExclusive takes the state lock for adding, removing or
// reconfiguring queues. Callers must s.mu.Unlock().
func (s *Server) beginExclusive() *apiError {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return kindServiceUnavailable.new("The server is shutting down.")
	}
	return nil
}

// lookup returns the queue a QueueUrl designates; s.mu must be held.
func (s *Server) lookup(queueURL string) (*queue, *apiError) {
	name, err := s.queueNameFromURL(queueURL)
	if err != nil {
		return nil, err
	}
	q := s.queues[name]
	if q == nil {
		return nil, errQueueDoesNotExist()
	}
	return q, nil
}
