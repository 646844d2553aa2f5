package web

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// While the store fails, the status page and /api/v1/status say so.
func TestStatusShowsStoreOutage(t *testing.T) {
	r := newRig(t, nil)
	if strings.Contains(text(r.do("GET", "/").Body.String()), "store is unavailable") {
		t.Fatal("banner shown while the store is up")
	}
	r.status.StoreError = "commit 10 results: dial unix /run/postgresql/.s.PGSQL.5432: connect: no such file or directory"
	r.status.StoreDownSince = fixedNow.Add(-3 * time.Minute)
	page := text(r.do("GET", "/").Body.String())
	if !strings.Contains(page, "Results are not being recorded: the store is unavailable") || !strings.Contains(page, r.status.StoreError) {
		t.Errorf("status page without the store banner:\n%s", page)
	}
	var got Status
	decode(t, r.do("GET", "/api/v1/status"), http.StatusOK, &got)
	if got.StoreError != r.status.StoreError || !got.StoreDownSince.Equal(r.status.StoreDownSince) {
		t.Errorf("API status %+v", got)
	}
}
