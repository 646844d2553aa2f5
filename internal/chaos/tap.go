package chaos

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/checkfleet/checkfleet/internal/message"
)

// Tap sits in front of the SQS endpoint and records, from the requests and
// their answers, every job and result message SQS accepted: which run ids
// were sent to the jobs queue (the scheduler's side of "scheduled") and
// how many results each run had sent (more than one: the run was executed
// again after a redelivery, which ingest must record once).
type Tap struct {
	next       http.Handler
	jobsURL    string
	resultsURL string

	mu      sync.Mutex
	jobs    map[string]SentJob // by run id, the first accepted send
	resends map[string]int     // job sends beyond the first, by run id
	results map[string]int     // accepted result sends by run id
}

// SentJob is a job SQS accepted.
type SentJob struct {
	CheckID     string
	ScheduledAt time.Time
	SentAt      time.Time
}

// NewTap wraps the endpoint next; Watch names the queues to watch.
func NewTap(next http.Handler) *Tap {
	return &Tap{next: next, jobs: map[string]SentJob{}, resends: map[string]int{}, results: map[string]int{}}
}

// Watch sets the URLs of the jobs and results queues.
func (tp *Tap) Watch(jobsURL, resultsURL string) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.jobsURL, tp.resultsURL = jobsURL, resultsURL
}

// ServeHTTP serves the request; sends are read on the way in and their
// answers on the way out.
func (tp *Tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if target != "AmazonSQS.SendMessage" && target != "AmazonSQS.SendMessageBatch" {
		tp.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	tp.next.ServeHTTP(rec, r)
	if rec.status != http.StatusOK {
		return // a failed request stored nothing
	}
	var req struct {
		QueueURL    string `json:"QueueUrl"`
		MessageBody string
		Entries     []struct{ ID, MessageBody string }
	}
	if json.Unmarshal(body, &req) != nil {
		return
	}
	tp.mu.Lock()
	jobs, results := req.QueueURL == tp.jobsURL, req.QueueURL == tp.resultsURL
	tp.mu.Unlock()
	if !jobs && !results {
		return
	}
	bodies := []string{req.MessageBody}
	if target == "AmazonSQS.SendMessageBatch" {
		var resp struct{ Successful []struct{ ID string } }
		if json.Unmarshal(rec.body.Bytes(), &resp) != nil {
			return
		}
		ok := map[string]bool{}
		for _, s := range resp.Successful {
			ok[s.ID] = true
		}
		bodies = nil
		for _, e := range req.Entries {
			if ok[e.ID] {
				bodies = append(bodies, e.MessageBody)
			}
		}
	}
	tp.record(jobs, bodies)
}

func (tp *Tap) record(jobs bool, bodies []string) {
	now := time.Now()
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for _, b := range bodies {
		if jobs {
			j, err := message.DecodeJob([]byte(b))
			if err != nil {
				continue // the suite's own poison
			}
			if _, ok := tp.jobs[j.RunID]; ok {
				tp.resends[j.RunID]++
				continue
			}
			tp.jobs[j.RunID] = SentJob{CheckID: j.CheckID, ScheduledAt: j.ScheduledAt, SentAt: now}
			continue
		}
		r, _, err := message.DecodeResult([]byte(b))
		if err != nil {
			continue
		}
		tp.results[r.RunID]++
	}
}

// Jobs returns the jobs SQS accepted by run id, and the number of job
// sends beyond the first per run id.
func (tp *Tap) Jobs() (map[string]SentJob, map[string]int) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	jobs := make(map[string]SentJob, len(tp.jobs))
	for k, v := range tp.jobs {
		jobs[k] = v
	}
	resends := make(map[string]int, len(tp.resends))
	for k, v := range tp.resends {
		resends[k] = v
	}
	return jobs, resends
}

// ResultSends returns the number of results SQS accepted per run id.
func (tp *Tap) ResultSends() map[string]int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	out := make(map[string]int, len(tp.results))
	for k, v := range tp.results {
		out[k] = v
	}
	return out
}

// recorder keeps the status and body of an answer while passing it on.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
