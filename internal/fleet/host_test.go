package fleet

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// readyHost is a host of ring with n ready slots on img, heartbeating at t0.
func readyHost(id string, ring Ring, img Image, n int) Host {
	h := Host{ID: id, Ring: ring, Locations: []string{"eu-west-1"}, RegisteredAt: t0, LastHeartbeat: t0,
		State: HostState{JobSchemas: []int{1, 2}}}
	for i := range n {
		h.State.Slots = append(h.State.Slots, SlotState{Slot: i, Image: img, WorkerVersion: img.Tag, Ready: true})
	}
	return h
}

func TestLost(t *testing.T) {
	h := readyHost("h1", Production, v1, 2)
	tests := []struct {
		name      string
		last      time.Time
		now       time.Time
		lostAfter time.Duration
		want      bool
	}{
		{name: "just heartbeat", last: t0, now: t0, lostAfter: time.Minute},
		{name: "at the limit", last: t0, now: t0.Add(time.Minute), lostAfter: time.Minute},
		{name: "past the limit", last: t0, now: t0.Add(time.Minute + time.Nanosecond), lostAfter: time.Minute, want: true},
		{name: "never heartbeat", now: t0, lostAfter: time.Minute, want: true},
		{name: "heartbeat from the future (skew)", last: t0.Add(time.Minute), now: t0, lostAfter: time.Second},
		{name: "default within", last: t0, now: t0.Add(DefaultLostAfter), lostAfter: 0},
		{name: "default past", last: t0, now: t0.Add(DefaultLostAfter + time.Second), lostAfter: -1, want: true},
	}
	for _, tt := range tests {
		h.LastHeartbeat = tt.last
		if got := h.Lost(tt.now, tt.lostAfter); got != tt.want {
			t.Errorf("%s: Lost = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestHealthy(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(h *Host)
		wantWhy string
	}{
		{name: "ready", mutate: func(*Host) {}},
		{name: "never heartbeat", mutate: func(h *Host) { h.LastHeartbeat = time.Time{} }, wantWhy: "never sent a heartbeat"},
		{name: "lost", mutate: func(h *Host) { h.LastHeartbeat = t0.Add(-2 * time.Minute) }, wantWhy: "lost: last heartbeat 2m0s ago"},
		{name: "upgrading", mutate: func(h *Host) {
			h.State.Upgrading = true
			h.State.Progress = UpgradeProgress{To: v2, Done: 1, Total: 3}
		}, wantWhy: "upgrading to v2 (sha256:2222) (1 of 3 slots done)"},
		{name: "a failed upgrade rolled back", mutate: func(h *Host) { h.State.Progress = UpgradeProgress{To: v2, Total: 3, Failed: "slot 0 never ready"} }},
		{name: "no slots", mutate: func(h *Host) { h.State.Slots = nil }, wantWhy: "no slots"},
		{name: "not ready", mutate: func(h *Host) { h.State.Slots[1].Ready, h.State.Slots[2].Ready = false, false },
			wantWhy: "2 of 3 slots not ready (1, 2)"},
		{name: "crash loop", mutate: func(h *Host) { h.State.Slots[2].Ready, h.State.Slots[2].CrashLoop = false, true },
			wantWhy: "crash-looping slots 2"},
	}
	for _, tt := range tests {
		h := readyHost("h1", Production, v1, 3)
		tt.mutate(&h)
		ok, why := h.Healthy(t0, time.Minute)
		if ok != (tt.wantWhy == "") || why != tt.wantWhy {
			t.Errorf("%s: Healthy = %v, %q; want %v, %q", tt.name, ok, why, tt.wantWhy == "", tt.wantWhy)
		}
	}
}

func TestHostValidate(t *testing.T) {
	if err := readyHost("ip-10-0-1-7.eu-west-1.compute.internal", Production, v1, 1).Validate(); err != nil {
		t.Errorf("a good host: %v", err)
	}
	tests := []struct {
		name    string
		mutate  func(h *Host)
		wantErr string
	}{
		{"no id", func(h *Host) { h.ID = "" }, "no id"},
		{"space", func(h *Host) { h.ID = "a b" }, "printable characters, no spaces"},
		{"slash", func(h *Host) { h.ID = "a/b" }, "no spaces or '/'"},
		{"control", func(h *Host) { h.ID = "a\x00" }, "printable"},
		{"too long", func(h *Host) { h.ID = strings.Repeat("a", 254) }, "longer than 253 bytes"},
		{"ring", func(h *Host) { h.Ring = "prod" }, `unknown ring "prod"`},
		{"label key", func(h *Host) { h.Labels = map[string]string{"": "x"} }, "a label has no key"},
		{"empty location", func(h *Host) { h.Locations = []string{"eu", ""} }, "locations[1] is empty"},
		{"repeated location", func(h *Host) { h.Locations = []string{"eu", "us", "eu"} }, `location "eu" is given twice`},
	}
	for _, tt := range tests {
		h := readyHost("h1", Production, v1, 1)
		tt.mutate(&h)
		if err := h.Validate(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestHostStateValidate(t *testing.T) {
	if err := readyHost("h", Dev, v1, 3).State.Validate(); err != nil {
		t.Errorf("a good state: %v", err)
	}
	tests := []struct {
		name    string
		state   HostState
		wantErr string
	}{
		{"negative slot", HostState{Slots: []SlotState{{Slot: -1}}}, "slot index -1 is negative"},
		{"repeated slot", HostState{Slots: []SlotState{{Slot: 0}, {Slot: 1}, {Slot: 0}}}, "slots[2]: slot 0 is given twice"},
		{"progress", HostState{Progress: UpgradeProgress{Done: 3, Total: 2}}, "3 of 2 slots does not add up"},
		{"schema 0", HostState{JobSchemas: []int{1, 0}}, "job_schemas[1]: version 0 is not positive"},
		{"schema twice", HostState{JobSchemas: []int{2, 1, 2}}, "version 2 is given twice"},
	}
	for _, tt := range tests {
		if err := tt.state.Validate(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestRunsAndImages(t *testing.T) {
	h := readyHost("h", Production, v1, 3)
	if !h.State.Runs(v1) || !h.State.Runs(Image{Tag: "v1"}) || h.State.Runs(v2) {
		t.Errorf("a host on v1: Runs(v1) %v, Runs(tag v1) %v, Runs(v2) %v", h.State.Runs(v1), h.State.Runs(Image{Tag: "v1"}), h.State.Runs(v2))
	}
	h.State.Slots[1].Image = v2
	if h.State.Runs(v1) || h.State.Runs(v2) {
		t.Error("a host half on v2 runs one of them")
	}
	if got := h.State.Images(); !slices.Equal(got, []Image{v1, v2}) {
		t.Errorf("Images = %v, want [v1 v2]", got)
	}
	h.State.Slots[1].Image = v1
	h.State.Slots[0].Ready = false
	if h.State.Runs(v1) {
		t.Error("a host with a slot not ready runs v1")
	}
	h.State.Slots[0].Ready = true
	h.State.Upgrading = true
	if h.State.Runs(v1) {
		t.Error("an upgrading host runs v1")
	}
	if (HostState{}).Runs(v1) {
		t.Error("a host without slots runs v1")
	}
	if !h.Serves("eu-west-1") || h.Serves("us-east-1") {
		t.Error("Serves")
	}
}
