package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// The health server's /info says the job versions this build decodes, as
// the supervisor reads them for its heartbeat.
func TestInfoListsTheJobSchemasDecoded(t *testing.T) {
	rec := httptest.NewRecorder()
	serveInfo(rec, httptest.NewRequest(http.MethodGet, supervisorapi.WorkerInfoPath, nil))
	var info supervisorapi.WorkerInfo
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("answer %d %q: %v", rec.Code, rec.Body.String(), err)
	}
	var want []int
	for _, v := range message.Supported(message.KindJob) {
		want = append(want, int(v))
	}
	if !slices.Equal(info.JobSchemas, want) || info.Version == "" {
		t.Errorf("info %+v, want job schemas %v and a version", info, want)
	}
}
