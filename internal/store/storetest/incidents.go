package storetest

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

func incidents(t *testing.T, s store.Store, q store.IncidentQuery) []alert.Incident {
	t.Helper()
	got, err := s.Incidents(ctx, q)
	if err != nil {
		t.Fatalf("Incidents(%+v): %v", q, err)
	}
	return got
}

func incidentIDs(is []alert.Incident) []string {
	var out []string
	for _, i := range is {
		out = append(out, i.ID)
	}
	return out
}

func testIncidents(t *testing.T, s store.Store) {
	since := base.Add(123456789).In(cest)
	home := alert.Incident{
		ID: incidentOf("home", alert.CheckScope, alert.TrackDown, since), CheckID: "home", Scope: alert.CheckScope,
		Track: alert.TrackDown, Since: since, Locations: []string{"eu-west-1", "us-east-1"}, Flapping: true,
		LastKind: alert.KindTrigger, LastAt: since.Add(time.Minute + 1),
	}
	apiSince := base.Add(time.Hour)
	api := alert.Incident{
		ID: incidentOf("api", "eu-west-1", alert.TrackCert, apiSince), CheckID: "api", Scope: "eu-west-1",
		Track: alert.TrackCert, Since: apiSince, Muted: true,
	}
	oldSince := base.Add(-time.Hour)
	old := alert.Incident{
		ID: incidentOf("home", alert.CheckScope, alert.TrackError, oldSince), CheckID: "home", Scope: alert.CheckScope,
		Track: alert.TrackError, Since: oldSince, Resolved: oldSince.Add(10 * time.Minute), LastKind: alert.KindRecovery,
		LastAt: oldSince.Add(10 * time.Minute),
	}
	if err := s.UpsertIncidents(ctx, []alert.Incident{home, api, old}); err != nil {
		t.Fatalf("UpsertIncidents: %v", err)
	}
	stored := func(in alert.Incident) alert.Incident {
		micro := func(t time.Time) time.Time {
			if t.IsZero() {
				return t
			}
			return t.UTC().Truncate(time.Microsecond)
		}
		in.Since, in.Resolved, in.LastAt = micro(in.Since), micro(in.Resolved), micro(in.LastAt)
		return in
	}
	got := incidents(t, s, store.IncidentQuery{})
	if want := []alert.Incident{stored(api), stored(home), stored(old)}; !reflect.DeepEqual(got, want) {
		t.Errorf("Incidents, newest first:\n got %+v\nwant %+v", got, want)
	}
	if got, want := incidentIDs(incidents(t, s, store.IncidentQuery{Open: true})), []string{api.ID, home.ID}; !slices.Equal(got, want) {
		t.Errorf("open incidents = %q, want %q", got, want)
	}
	if got, want := incidentIDs(incidents(t, s, store.IncidentQuery{CheckID: "home"})), []string{home.ID, old.ID}; !slices.Equal(got, want) {
		t.Errorf("incidents of home = %q, want %q", got, want)
	}
	if got, want := incidentIDs(incidents(t, s, store.IncidentQuery{Limit: 1})), []string{api.ID}; !slices.Equal(got, want) {
		t.Errorf("incidents limit 1 = %q, want %q", got, want)
	}

	// It resolves: replaced by id.
	home.Resolved, home.LastKind, home.LastAt, home.Locations = since.Add(time.Hour), alert.KindRecovery, since.Add(time.Hour), nil
	if err := s.UpsertIncidents(ctx, []alert.Incident{home}); err != nil {
		t.Fatalf("UpsertIncidents (resolved): %v", err)
	}
	if got, want := incidentIDs(incidents(t, s, store.IncidentQuery{Open: true, CheckID: "home"})), []string(nil); !slices.Equal(got, want) {
		t.Errorf("open incidents of home after it resolved = %q, want none", got)
	}
	if got := incidents(t, s, store.IncidentQuery{CheckID: "home", Limit: 1}); len(got) != 1 || !reflect.DeepEqual(got[0], stored(home)) {
		t.Errorf("resolved incident:\n got %+v\nwant %+v", got, stored(home))
	}
	if err := s.UpsertIncidents(ctx, nil); err != nil {
		t.Errorf("UpsertIncidents of none: %v", err)
	}
	if _, err := s.Incidents(ctx, store.IncidentQuery{Limit: -1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Incidents with a negative limit: err = %v, want ErrInvalid", err)
	}
}

func testIncidentsInvalid(t *testing.T, s store.Store) {
	good := alert.Incident{ID: "home/*/down/1", CheckID: "home", Scope: alert.CheckScope, Track: alert.TrackDown, Since: base}
	for name, mod := range map[string]func(*alert.Incident){
		"no id":              func(i *alert.Incident) { i.ID = "" },
		"no check":           func(i *alert.Incident) { i.CheckID = "" },
		"no track":           func(i *alert.Incident) { i.Track = "" },
		"no since":           func(i *alert.Incident) { i.Since = time.Time{} },
		"resolved before it": func(i *alert.Incident) { i.Resolved = i.Since.Add(-time.Second) },
	} {
		bad := good
		bad.ID = "other/*/down/1"
		mod(&bad)
		if err := s.UpsertIncidents(ctx, []alert.Incident{good, bad}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if got := incidents(t, s, store.IncidentQuery{}); len(got) != 0 {
		t.Errorf("refused upserts wrote %q", incidentIDs(got))
	}
}

func maintenance(t *testing.T, s store.Store) []alert.MaintenanceWindow {
	t.Helper()
	ws, err := s.Maintenance(ctx)
	if err != nil {
		t.Fatalf("Maintenance: %v", err)
	}
	return ws
}

// sameWindows compares windows by their exported fields.
func sameWindows(t *testing.T, what string, got, want []alert.MaintenanceWindow) {
	t.Helper()
	type fields struct {
		ID               string
		Start, End       time.Time
		Cron, Timezone   string
		Duration         time.Duration
		CheckIDs, Tags   []string
		StartUTC, EndUTC bool
	}
	f := func(ws []alert.MaintenanceWindow) []fields {
		var out []fields
		for _, w := range ws {
			out = append(out, fields{ID: w.ID, Start: w.Start, End: w.End, Cron: w.Cron, Timezone: w.Timezone, Duration: w.Duration,
				CheckIDs: w.CheckIDs, Tags: w.Tags, StartUTC: w.Start.Location() == time.UTC, EndUTC: w.End.Location() == time.UTC})
		}
		return out
	}
	if g, w := f(got), f(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func testMaintenance(t *testing.T, s store.Store) {
	oneOff := alert.MaintenanceWindow{ID: "db-upgrade", Start: base.Add(123456789).In(cest), End: base.Add(2*time.Hour + 1).In(cest),
		CheckIDs: []string{"home", "api"}}
	weekly := alert.MaintenanceWindow{ID: "backups", Cron: "0 3 * * SUN", Duration: 90*time.Minute + 1, Timezone: "Europe/Berlin",
		Tags: []string{"db"}}
	for _, w := range []alert.MaintenanceWindow{oneOff, weekly} {
		id, err := s.AddMaintenance(ctx, w)
		if err != nil || id != w.ID {
			t.Fatalf("AddMaintenance(%s) = %q, %v", w.ID, id, err)
		}
	}
	anon := alert.MaintenanceWindow{Start: base, End: base.Add(time.Hour), Tags: []string{"edge"}}
	anonID, err := s.AddMaintenance(ctx, anon)
	if err != nil || anonID == "" {
		t.Fatalf("AddMaintenance without an id = %q, %v; want a new id", anonID, err)
	}
	anon.ID = anonID

	wantOneOff := oneOff
	wantOneOff.Start, wantOneOff.End = base.Add(123456*time.Microsecond), base.Add(2*time.Hour)
	want := []alert.MaintenanceWindow{weekly, wantOneOff, anon}
	slices.SortFunc(want, func(a, b alert.MaintenanceWindow) int { return strings.Compare(a.ID, b.ID) })
	got := maintenance(t, s)
	sameWindows(t, "Maintenance", got, want)
	// Validated as they come back: a recurring window answers Active.
	for _, w := range got {
		if w.ID != "backups" {
			continue
		}
		sunday := time.Date(2031, time.March, 16, 3, 30, 0, 0, mustZone(t, "Europe/Berlin"))
		c := check.Check{ID: "orders", Tags: []string{"db"}}
		if !w.Active(c, sunday) || w.Active(c, sunday.Add(2*time.Hour)) {
			t.Errorf("the stored weekly window is not active on Sunday 03:30 Berlin, or still is at 05:30")
		}
	}

	if _, err := s.AddMaintenance(ctx, oneOff); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AddMaintenance of a known id: err = %v, want ErrConflict", err)
	}
	bad := oneOff
	bad.ID, bad.End = "backwards", bad.Start.Add(-time.Hour)
	if _, err := s.AddMaintenance(ctx, bad); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AddMaintenance of an invalid window: err = %v, want ErrInvalid", err)
	}
	if err := s.RemoveMaintenance(ctx, "db-upgrade"); err != nil {
		t.Fatalf("RemoveMaintenance: %v", err)
	}
	if err := s.RemoveMaintenance(ctx, "db-upgrade"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveMaintenance twice: err = %v, want ErrNotFound", err)
	}
	want = slices.DeleteFunc(want, func(w alert.MaintenanceWindow) bool { return w.ID == "db-upgrade" })
	sameWindows(t, "Maintenance after removing one", maintenance(t, s), want)
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s: %v", name, err)
	}
	return loc
}

func testPruneAlerts(t *testing.T, s store.Store) {
	old, before := base.Add(-72*time.Hour), base.Add(-24*time.Hour)
	send := func(n alert.Notification, channel string) {
		t.Helper()
		if err := s.MarkDelivered(ctx, n.Key, channel, n.At); err != nil {
			t.Fatal(err)
		}
	}
	// Over and delivered: pruned.
	overTrigger := note("a", old, alert.KindTrigger, 0, old)
	overRecovery := note("a", old, alert.KindRecovery, 0, old.Add(time.Hour))
	// Open: kept however old.
	openTrigger := note("b", old, alert.KindTrigger, 0, old)
	// Over, but the recovery's delivery on webhook is still pending: the
	// recovery is kept, the delivered trigger is not.
	pendingTrigger := note("c", old, alert.KindTrigger, 0, old)
	pendingRecovery := note("c", old, alert.KindRecovery, 0, old.Add(time.Hour))
	// Recorded resolved without a recovery notice (recovery off): pruned.
	quietTrigger := note("d", old, alert.KindTrigger, 0, old)
	// Recent: kept.
	recent := note("e", base, alert.KindTrigger, 0, base)
	record(t, s, []alert.Notification{overTrigger, openTrigger, pendingTrigger, quietTrigger}, []string{"slack"}, old)
	record(t, s, []alert.Notification{overRecovery, pendingRecovery}, []string{"slack", "webhook"}, old.Add(time.Hour))
	record(t, s, []alert.Notification{recent}, []string{"slack"}, base)
	for _, n := range []alert.Notification{overTrigger, openTrigger, pendingTrigger, quietTrigger, recent} {
		send(n, "slack")
	}
	send(overRecovery, "slack")
	if err := s.GiveUp(ctx, overRecovery.Key, "webhook", 5, old.Add(2*time.Hour), "timeout"); err != nil {
		t.Fatal(err)
	}
	send(pendingRecovery, "slack")

	resolvedOld := alert.Incident{ID: quietTrigger.IncidentID, CheckID: "d", Scope: alert.CheckScope, Track: alert.TrackDown,
		Since: old, Resolved: old.Add(time.Hour)}
	openOld := alert.Incident{ID: openTrigger.IncidentID, CheckID: "b", Scope: alert.CheckScope, Track: alert.TrackDown, Since: old}
	resolvedRecent := alert.Incident{ID: recent.IncidentID, CheckID: "e", Scope: alert.CheckScope, Track: alert.TrackDown,
		Since: old, Resolved: before}
	if err := s.UpsertIncidents(ctx, []alert.Incident{resolvedOld, openOld, resolvedRecent}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []alert.MaintenanceWindow{
		{ID: "ended", Start: old, End: before, CheckIDs: []string{"a"}},
		{ID: "ending", Start: old, End: before.Add(time.Microsecond), CheckIDs: []string{"a"}},
		{ID: "weekly", Cron: "0 3 * * SUN", Duration: time.Hour, CheckIDs: []string{"a"}},
	} {
		if _, err := s.AddMaintenance(ctx, w); err != nil {
			t.Fatal(err)
		}
	}

	got, err := s.PruneAlerts(ctx, before.In(cest))
	if err != nil {
		t.Fatalf("PruneAlerts: %v", err)
	}
	if want := (store.AlertsPruned{Notifications: 4, Deliveries: 5, Incidents: 1, Maintenance: 1}); got != want {
		t.Errorf("PruneAlerts = %+v, want %+v", got, want)
	}
	var left []string
	for _, r := range notifications(t, s, store.NotificationQuery{Limit: 500}) {
		left = append(left, r.Notification.Key)
	}
	slices.Sort(left)
	want := []string{openTrigger.Key, pendingRecovery.Key, recent.Key}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("notifications left:\n %q\nwant\n %q", left, want)
	}
	if keys, err := s.AnnouncedKeys(ctx, "b", base); err != nil || !slices.Equal(keys, []string{openTrigger.Key}) {
		t.Errorf("AnnouncedKeys of the open incident after pruning = %q, %v", keys, err)
	}
	if got, want := incidentIDs(incidents(t, s, store.IncidentQuery{})), []string{resolvedRecent.ID, openOld.ID}; !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("incidents left = %q, want %q", got, want)
	}
	var windows []string
	for _, w := range maintenance(t, s) {
		windows = append(windows, w.ID)
	}
	if want := []string{"ending", "weekly"}; !slices.Equal(windows, want) {
		t.Errorf("maintenance left = %q, want %q", windows, want)
	}
	if again, err := s.PruneAlerts(ctx, before); err != nil || again != (store.AlertsPruned{}) {
		t.Errorf("PruneAlerts again = %+v, %v; want nothing", again, err)
	}
	if _, err := s.PruneAlerts(ctx, time.Time{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("PruneAlerts without a time: err = %v, want ErrInvalid", err)
	}
}
