package fleet

import (
	"strings"
	"testing"
	"time"
)

func goodRollout() Rollout {
	return Rollout{
		ID: "r-1", Ring: Production, Kind: KindDeploy, Who: "alice", From: v1, To: v2, Percent: 10,
		Message: "v2: faster DNS", StartedAt: t0, Outcome: Running,
	}
}

func TestRolloutValidate(t *testing.T) {
	if err := goodRollout().Validate(); err != nil {
		t.Errorf("a good rollout: %v", err)
	}
	done := goodRollout().Finish(RolledBack, "error rate 100.0% against 0.0%", t0.Add(time.Minute))
	done = done.Record(HostOutcome{HostID: "h1", Result: HostUpgraded, Image: v2, At: t0})
	if err := done.Validate(); err != nil {
		t.Errorf("a rolled back rollout: %v", err)
	}
	dev := goodRollout()
	dev.Ring, dev.Message = Dev, ""
	if err := dev.Validate(); err != nil {
		t.Errorf("a deploy to dev without a message: %v", err)
	}
	rb := goodRollout()
	rb.Kind, rb.Message = KindRollback, ""
	if err := rb.Validate(); err != nil {
		t.Errorf("a rollback without a message: %v", err)
	}
	tests := []struct {
		name    string
		mutate  func(r *Rollout)
		wantErr string
	}{
		{"no id", func(r *Rollout) { r.ID = "" }, "no id"},
		{"ring", func(r *Rollout) { r.Ring = "prod" }, `unknown ring "prod"`},
		{"kind", func(r *Rollout) { r.Kind = "push" }, `unknown kind "push"`},
		{"who", func(r *Rollout) { r.Who = "" }, "who started it"},
		{"to", func(r *Rollout) { r.To = Image{} }, "has no tag"},
		{"percent", func(r *Rollout) { r.Percent = 0 }, "percent 0"},
		{"message", func(r *Rollout) { r.Message = "" }, "a deploy to ring production needs a message"},
		{"start", func(r *Rollout) { r.StartedAt = time.Time{} }, "no start time"},
		{"outcome", func(r *Rollout) { r.Outcome = "done" }, `unknown outcome "done"`},
		{"running with an end", func(r *Rollout) { r.EndedAt = t0 }, "running, yet it has an end time"},
		{"ended without an end", func(r *Rollout) { r.Outcome = Succeeded }, "succeeded, yet it has no end time"},
		{"ended before it started", func(r *Rollout) { *r = r.Finish(Succeeded, "", t0.Add(-time.Second)) }, "ended (2031-03-14T08:59:59Z) before it started"},
		{"failed without a reason", func(r *Rollout) { *r = r.Finish(Failed, "", t0) }, "failed, yet no reason"},
		{"host without id", func(r *Rollout) { r.Hosts = []HostOutcome{{Result: HostLost}} }, "hosts[0] has no host id"},
		{"host result", func(r *Rollout) { r.Hosts = []HostOutcome{{HostID: "h", Result: "ok"}} }, `unknown result "ok"`},
		{"host twice", func(r *Rollout) {
			r.Hosts = []HostOutcome{{HostID: "h", Result: HostLost}, {HostID: "h", Result: HostUpgraded}}
		}, "host h has two outcomes"},
	}
	for _, tt := range tests {
		r := goodRollout()
		tt.mutate(&r)
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestRolloutRecord(t *testing.T) {
	r := goodRollout()
	a := r.Record(HostOutcome{HostID: "h1", Result: HostFailed, Reason: "never ready"})
	b := a.Record(HostOutcome{HostID: "h2", Result: HostUpgraded})
	c := b.Record(HostOutcome{HostID: "h1", Result: HostUpgraded})
	if len(r.Hosts) != 0 || len(a.Hosts) != 1 || a.Hosts[0].Result != HostFailed {
		t.Errorf("Record changed its receiver: %+v, %+v", r.Hosts, a.Hosts)
	}
	if len(c.Hosts) != 2 || c.Hosts[0].HostID != "h1" || c.Hosts[0].Result != HostUpgraded || c.Hosts[1].HostID != "h2" {
		t.Errorf("Record = %+v", c.Hosts)
	}
	if b.Hosts[0].Result != HostFailed {
		t.Errorf("Record replaced the outcome of an earlier copy: %+v", b.Hosts)
	}
}

func TestOutcome(t *testing.T) {
	for o, done := range map[Outcome]bool{Running: false, Paused: false, Succeeded: true, Failed: true, RolledBack: true} {
		if !o.Valid() || o.Done() != done {
			t.Errorf("%s: Valid %v, Done %v", o, o.Valid(), o.Done())
		}
	}
	if Outcome("ok").Valid() || HostResult("ok").Valid() {
		t.Error("unknown values are valid")
	}
}
