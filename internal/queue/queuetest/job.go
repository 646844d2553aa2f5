package queuetest

import (
	"context"
	"net/http"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
)

// SendAPIJob sends q a checkfleet.job/v2 of run id run: an API check
// checkID at location that GETs url, scheduled now, with a 10 s timeout.
func SendAPIJob(ctx context.Context, q *queue.Queue, run, checkID, location, url string) error {
	j := message.Job{RunID: run, CheckID: checkID, Location: location, Attempt: 1, ScheduledAt: time.Now().UTC(),
		Check: check.Check{ID: checkID, Type: check.TypeAPI, Timeout: 10 * time.Second,
			API: &check.APISpec{Method: http.MethodGet, URL: url}}}
	body, err := message.EncodeJob(j, message.V2)
	if err != nil {
		return err
	}
	_, err = q.Send(ctx, queue.Outgoing{Body: body, Attributes: map[string]string{message.SchemaAttribute: message.JobV2}})
	return err
}
