package fleetapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
)

func TestClientErrorCarriesStatusMessageAndLock(t *testing.T) {
	since := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer op" {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(fleetapi.ErrorBody{Error: "the bearer token is not valid"})
			return
		}
		w.WriteHeader(http.StatusConflict)
		_ = json.NewEncoder(w).Encode(fleetapi.ErrorBody{Error: "ring canary is locked by ann", Lock: &fleetapi.Lock{Ring: "canary", ID: "r1", Holder: "ann", Since: since}})
	}))
	defer srv.Close()

	_, err := fleetapi.NewClient(srv.URL, "op", nil).Deploy(context.Background(), fleetapi.DeployRequest{Ring: "canary", Tag: "v2"})
	var e *fleetapi.Error
	if !errors.As(err, &e) || e.Status != http.StatusConflict || e.Lock == nil || e.Lock.Holder != "ann" {
		t.Fatalf("Deploy: %#v, want a 409 naming ann's lock", err)
	}
	if !errors.Is(err, fleet.ErrLocked) {
		t.Errorf("errors.Is(%v, fleet.ErrLocked) is false", err)
	}
	if want := "fleet deploy: 409 Conflict: ring canary is locked by ann"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}

	_, err = fleetapi.NewClient(srv.URL+"/", "wrong", nil).Status(context.Background())
	if !fleetapi.IsStatus(err, http.StatusUnauthorized) || errors.Is(err, fleet.ErrLocked) {
		t.Errorf("Status with a wrong token: %v, want a 401", err)
	}
}

func TestClientNoAnswer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, err := fleetapi.NewClient(srv.URL, "t", nil).Desired(context.Background(), "h1")
	var e *fleetapi.Error
	if !errors.As(err, &e) || e.Status != 0 || e.Err == nil {
		t.Fatalf("Desired against a closed server: %#v, want an *Error with status 0 and the transport's error", err)
	}
}

func TestConversionsRoundTrip(t *testing.T) {
	s := fleet.HostState{
		Slots:      []fleet.SlotState{{Slot: 0, Image: fleet.Image{Tag: "v1", ID: "sha256:1"}, WorkerVersion: "1.0", Ready: true}},
		Upgrading:  true,
		Progress:   fleet.UpgradeProgress{To: fleet.Image{Tag: "v2"}, Done: 1, Total: 5},
		JobSchemas: []int{1, 2},
	}
	b, err := json.Marshal(fleetapi.HostStateOf(s))
	if err != nil {
		t.Fatal(err)
	}
	var back fleetapi.HostState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	got := back.Fleet()
	if got.Slots[0] != s.Slots[0] || got.Progress != s.Progress || !got.Upgrading || len(got.JobSchemas) != 2 {
		t.Errorf("round trip: %+v, want %+v", got, s)
	}
}
