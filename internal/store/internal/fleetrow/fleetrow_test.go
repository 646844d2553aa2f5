package fleetrow

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store"
)

func TestToken(t *testing.T) {
	stored := HashToken("s3cret")
	if want := sha256.Sum256([]byte("s3cret")); hex.EncodeToString(stored) != hex.EncodeToString(want[:]) {
		t.Errorf("HashToken = %x, want the SHA-256 %x", stored, want)
	}
	for _, tc := range []struct {
		stored []byte
		token  string
		want   bool
	}{
		{stored, "s3cret", true},
		{stored, "s3cre", false},
		{stored, "s3cret ", false},
		{stored, "", false},
		{nil, "s3cret", false},
		{nil, "", false},
		{make([]byte, sha256.Size), "", false},
	} {
		if got := TokenMatches(tc.stored, tc.token); got != tc.want {
			t.Errorf("TokenMatches(%x, %q) = %v, want %v", tc.stored, tc.token, got, tc.want)
		}
	}
}

// TestStoredJSON pins what the JSON columns hold: a field renamed in
// package fleet must not change what is stored.
func TestStoredJSON(t *testing.T) {
	state := fleet.HostState{
		Slots:      []fleet.SlotState{{Slot: 0, Image: fleet.Image{Tag: "v1", ID: "sha256:1"}, WorkerVersion: "1.4.0", Ready: true, CrashLoop: true, Restarts: 4}},
		Upgrading:  true,
		Progress:   fleet.UpgradeProgress{To: fleet.Image{Tag: "v2", ID: "sha256:2"}, Done: 1, Total: 2, Failed: "x"},
		JobSchemas: []int{1, 2},
	}
	b, err := EncodeState(state)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"slots":[{"slot":0,"tag":"v1","image_id":"sha256:1","worker_version":"1.4.0","ready":true,"crash_loop":true,"restarts":4}],` +
		`"upgrading":true,"progress":{"to_tag":"v2","to_image_id":"sha256:2","done":1,"total":2,"failed":"x"},"job_schemas":[1,2]}`
	if string(b) != want {
		t.Errorf("EncodeState =\n %s\nwant %s", b, want)
	}
	at := time.Date(2031, 3, 14, 9, 0, 0, 1234567, time.UTC)
	b, err = EncodeOutcomes([]fleet.HostOutcome{{HostID: "h1", Result: fleet.HostFailed, Image: fleet.Image{Tag: "v2", ID: "sha256:2"}, Reason: "r", At: at}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"host_id":"h1","result":"failed","tag":"v2","image_id":"sha256:2","reason":"r","at_us":1931245200001234}]`; string(b) != want {
		t.Errorf("EncodeOutcomes =\n %s\nwant %s", b, want)
	}
	if b, _ := EncodeOutcomes(nil); string(b) != "[]" {
		t.Errorf("EncodeOutcomes(nil) = %s, want []", b)
	}
	h, err := EncodeHost(fleet.Host{ID: "h"})
	if err != nil || string(h.Labels) != "{}" || string(h.Locations) != "[]" {
		t.Errorf("EncodeHost of a bare host = %s %s, %v", h.Labels, h.Locations, err)
	}
}

func TestLimit(t *testing.T) {
	for in, want := range map[int]int{0: 50, 1: 1, 499: 499, 500: 500, 501: 500} {
		if got, err := Limit(in); err != nil || got != want {
			t.Errorf("Limit(%d) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := Limit(-1); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Limit(-1): err = %v, want ErrInvalid", err)
	}
}
