package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

// alertTests are the cases of store.Alerts.
var alertTests = []struct {
	name string
	fn   func(*testing.T, store.Store)
}{
	{"NotificationRoundTrip", testNotificationRoundTrip},
	{"RecordNotificationsIsIdempotent", testRecordIdempotent},
	{"RecordNotificationsRefusesInvalidWhole", testRecordInvalid},
	{"DueDeliveriesOrderAndClaim", testDueOrderAndClaim},
	{"DeliveryBackoffAndDelivered", testDeliveryBackoff},
	{"DeliveryGivenUp", testDeliveryGivenUp},
	{"DeliveryWaitsForItsIncidentsEarlierOnes", testDeliveryWaitsForEarlier},
	{"DueDeliveriesConcurrently", testDueConcurrently},
	{"AnnouncedKeys", testAnnouncedKeys},
	{"NotificationsQuery", testNotificationsQuery},
	{"Incidents", testIncidents},
	{"IncidentsRefuseInvalidWhole", testIncidentsInvalid},
	{"Maintenance", testMaintenance},
	{"PruneAlerts", testPruneAlerts},
}

// hold is how long the suite's DueDeliveries claim.
const hold = 2 * time.Minute

// incidentOf returns the id of an incident, as package alert builds it.
func incidentOf(checkID, scope string, track alert.Track, since time.Time) string {
	return checkID + "/" + scope + "/" + string(track) + "/" + strconv.FormatInt(since.UnixMilli(), 10)
}

// note is a notification of kind about check checkID's incident (the whole
// check, track down) that began at since, decided at at.
func note(checkID string, since time.Time, kind alert.Kind, seq int, at time.Time) alert.Notification {
	id := incidentOf(checkID, alert.CheckScope, alert.TrackDown, since)
	key := id + "/" + string(kind)
	if kind == alert.KindReminder {
		key += "/" + strconv.Itoa(seq)
	}
	n := alert.Notification{
		Key: key, IncidentID: id, Kind: kind, Track: alert.TrackDown, CheckID: checkID, CheckName: "Check " + checkID,
		Scope: alert.CheckScope, Seq: seq, At: at, Since: since, Locations: []string{"eu-west-1", "us-east-1"},
		Status: check.StatusFailed, Error: "expected status 200, got 503", RunID: "run-" + key,
	}
	if kind == alert.KindRecovery {
		n.Down, n.Status, n.Error, n.Locations = at.Sub(since), check.StatusPassed, "", nil
	}
	return n
}

// asStored is n as the store returns it: times in UTC to the microsecond.
func asStored(n alert.Notification) alert.Notification {
	micro := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.UTC().Truncate(time.Microsecond)
	}
	n.At, n.Since, n.CertNotAfter = micro(n.At), micro(n.Since), micro(n.CertNotAfter)
	return n
}

func record(t *testing.T, s store.Store, ns []alert.Notification, channels []string, now time.Time) int {
	t.Helper()
	added, err := s.RecordNotifications(ctx, ns, channels, now)
	if err != nil {
		t.Fatalf("RecordNotifications: %v", err)
	}
	return added
}

func due(t *testing.T, s store.Store, now time.Time, limit int) []store.DueDelivery {
	t.Helper()
	ds, err := s.DueDeliveries(ctx, now, hold, limit)
	if err != nil {
		t.Fatalf("DueDeliveries: %v", err)
	}
	return ds
}

// names lists deliveries as key@channel.
func names(ds []store.DueDelivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Key + "@" + d.Channel
	}
	return out
}

func notifications(t *testing.T, s store.Store, q store.NotificationQuery) []store.NotificationRecord {
	t.Helper()
	rs, err := s.Notifications(ctx, q)
	if err != nil {
		t.Fatalf("Notifications: %v", err)
	}
	return rs
}

// deliveryOf returns the delivery of key on channel as Notifications has it.
func deliveryOf(t *testing.T, s store.Store, key, channel string) store.Delivery {
	t.Helper()
	for _, r := range notifications(t, s, store.NotificationQuery{Limit: 500}) {
		if r.Notification.Key != key {
			continue
		}
		for _, d := range r.Deliveries {
			if d.Channel == channel {
				return d
			}
		}
	}
	t.Fatalf("no delivery of %s on %s", key, channel)
	return store.Delivery{}
}

func sameDelivery(t *testing.T, what string, got, want store.Delivery) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testNotificationRoundTrip(t *testing.T, s store.Store) {
	since := base.Add(123456789).In(cest)
	n := note("home", since, alert.KindTrigger, 0, since.Add(3*time.Minute+987654321))
	n.Flapping = true
	n.Error = "expected body to contain \"ok\", got \"\x00\""
	cert := note("tls", since, alert.KindReminder, 2, since.Add(time.Hour))
	cert.Track, cert.CertNotAfter = alert.TrackCert, base.Add(30*24*time.Hour+999).In(cest)
	rec := note("api", since, alert.KindRecovery, 0, since.Add(2*time.Hour+1))
	rec.Withdrawn = true
	rec.Locations = []string{}
	now := base.Add(4*time.Hour + 1234567).In(cest)
	if added := record(t, s, []alert.Notification{n, cert, rec}, []string{"webhook", "slack"}, now); added != 6 {
		t.Errorf("RecordNotifications of 3 on 2 channels added %d, want 6", added)
	}

	recorded := base.Add(4*time.Hour + 1234*time.Microsecond)
	pending := func(key, channel string) store.Delivery {
		return store.Delivery{Key: key, Channel: channel, Status: store.DeliveryPending, NextAttemptAt: recorded, CreatedAt: recorded}
	}
	got := notifications(t, s, store.NotificationQuery{})
	if len(got) != 3 {
		t.Fatalf("Notifications returned %d, want 3", len(got))
	}
	for i, want := range []alert.Notification{rec, cert, n} { // newest recorded first
		want = asStored(want)
		if want.Kind == alert.KindRecovery {
			want.Locations = nil
		}
		if !reflect.DeepEqual(got[i].Notification, want) {
			t.Errorf("Notifications[%d]:\n got %+v\nwant %+v", i, got[i].Notification, want)
		}
		if !got[i].RecordedAt.Equal(recorded) || got[i].RecordedAt.Location() != time.UTC {
			t.Errorf("Notifications[%d].RecordedAt = %v, want %v in UTC", i, got[i].RecordedAt, recorded)
		}
		wantDs := []store.Delivery{pending(want.Key, "slack"), pending(want.Key, "webhook")}
		if !reflect.DeepEqual(got[i].Deliveries, wantDs) {
			t.Errorf("Notifications[%d].Deliveries:\n got %+v\nwant %+v", i, got[i].Deliveries, wantDs)
		}
	}

	ds := due(t, s, now, 10)
	if len(ds) != 6 {
		t.Fatalf("DueDeliveries returned %q, want the 6 deliveries", names(ds))
	}
	if want := asStored(n); !reflect.DeepEqual(ds[0].Notification, want) {
		t.Errorf("DueDeliveries[0].Notification:\n got %+v\nwant %+v", ds[0].Notification, want)
	}
	claimed := pending(n.Key, "slack")
	claimed.NextAttemptAt = recorded.Add(hold)
	sameDelivery(t, "DueDeliveries[0] (claimed)", ds[0].Delivery, claimed)
}

func testRecordIdempotent(t *testing.T, s store.Store) {
	since := base.Add(-10 * time.Minute)
	trigger := note("home", since, alert.KindTrigger, 0, base)
	if added := record(t, s, []alert.Notification{trigger}, []string{"slack", "webhook"}, base); added != 2 {
		t.Errorf("first record added %d deliveries, want 2", added)
	}
	// Decided again (a restart, a redelivered result, another scheduler),
	// with a different payload: the first stays, nothing is added.
	again := trigger
	again.Error, again.RunID = "decided again", "run-again"
	for i := range 3 {
		if added := record(t, s, []alert.Notification{again, again}, []string{"webhook", "slack", "slack"}, base.Add(time.Duration(i+1)*time.Minute)); added != 0 {
			t.Errorf("recording it again added %d deliveries, want 0", added)
		}
	}
	// A channel added since: a delivery for it alone.
	if added := record(t, s, []alert.Notification{again}, []string{"email", "slack", "webhook"}, base.Add(time.Hour)); added != 1 {
		t.Errorf("recording it with a new channel added %d, want 1", added)
	}
	// No channels at all: recorded, nothing to deliver.
	silent := note("quiet", since, alert.KindTrigger, 0, base)
	if added := record(t, s, []alert.Notification{silent}, nil, base); added != 0 {
		t.Errorf("recording without channels added %d deliveries, want 0", added)
	}
	if added := record(t, s, nil, []string{"slack"}, base); added != 0 {
		t.Errorf("recording nothing added %d", added)
	}

	got := notifications(t, s, store.NotificationQuery{})
	if len(got) != 2 {
		t.Fatalf("Notifications returned %d records, want 2", len(got))
	}
	if got[0].Notification.Key != silent.Key || got[0].Deliveries != nil {
		t.Errorf("newest record is %s with deliveries %+v, want %s with none", got[0].Notification.Key, got[0].Deliveries, silent.Key)
	}
	if want := asStored(trigger); !reflect.DeepEqual(got[1].Notification, want) {
		t.Errorf("the payload recorded first is not kept:\n got %+v\nwant %+v", got[1].Notification, want)
	}
	var chans []string
	for _, d := range got[1].Deliveries {
		chans = append(chans, d.Channel)
		if want := base.Truncate(time.Microsecond); d.Channel != "email" && !d.CreatedAt.Equal(want) {
			t.Errorf("delivery on %s created %v, want %v (the first record)", d.Channel, d.CreatedAt, want)
		}
	}
	if want := []string{"email", "slack", "webhook"}; !slices.Equal(chans, want) {
		t.Errorf("deliveries on %q, want %q", chans, want)
	}
	if ds := due(t, s, base.Add(time.Hour), 10); len(ds) != 3 {
		t.Errorf("due: %q, want one delivery per channel", names(ds))
	}
}

func testRecordInvalid(t *testing.T, s store.Store) {
	good := note("home", base, alert.KindTrigger, 0, base)
	for name, tc := range map[string]struct {
		mod      func(*alert.Notification)
		channels []string
		now      time.Time
	}{
		"no key":        {mod: func(n *alert.Notification) { n.Key = "" }},
		"no incident":   {mod: func(n *alert.Notification) { n.IncidentID = "" }},
		"no check":      {mod: func(n *alert.Notification) { n.CheckID = "" }},
		"unknown kind":  {mod: func(n *alert.Notification) { n.Kind = "escalation" }},
		"no time":       {mod: func(n *alert.Notification) { n.At = time.Time{} }},
		"empty channel": {channels: []string{"slack", ""}},
		"no now":        {now: time.Time{}},
	} {
		bad := note("other", base, alert.KindTrigger, 0, base)
		if tc.mod != nil {
			tc.mod(&bad)
		}
		channels, now := tc.channels, tc.now
		if channels == nil {
			channels = []string{"slack"}
		}
		if now.IsZero() && name != "no now" {
			now = base
		}
		if _, err := s.RecordNotifications(ctx, []alert.Notification{good, bad}, channels, now); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if got := notifications(t, s, store.NotificationQuery{}); len(got) != 0 {
		t.Errorf("refused batches wrote %d notifications", len(got))
	}
	if keys, err := s.AnnouncedKeys(ctx, "home", beforeAll); err != nil || len(keys) != 0 {
		t.Errorf("AnnouncedKeys after refused batches = %q, %v", keys, err)
	}
	for name, args := range map[string]struct {
		now   time.Time
		hold  time.Duration
		limit int
	}{"no time": {time.Time{}, hold, 1}, "no hold": {base, 0, 1}, "no limit": {base, hold, 0}} {
		if _, err := s.DueDeliveries(ctx, args.now, args.hold, args.limit); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("DueDeliveries with %s: err = %v, want ErrInvalid", name, err)
		}
	}
}

// beforeAll is a time before anything the suite records.
var beforeAll = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func testDueOrderAndClaim(t *testing.T, s store.Store) {
	t0 := base
	a := note("a", t0.Add(-time.Hour), alert.KindTrigger, 0, t0)
	b := note("b", t0.Add(-time.Hour), alert.KindTrigger, 0, t0.Add(-time.Minute)) // decided earlier, recorded later
	c := note("c", t0, alert.KindTrigger, 0, t0.Add(time.Second))
	record(t, s, []alert.Notification{a}, []string{"webhook", "slack"}, t0)
	record(t, s, []alert.Notification{b}, []string{"slack"}, t0.Add(time.Second))
	record(t, s, []alert.Notification{c}, []string{"slack"}, t0.Add(2*time.Second))

	if ds := due(t, s, t0.Add(-time.Microsecond), 10); len(ds) != 0 {
		t.Errorf("due before they were recorded: %q", names(ds))
	}
	// Oldest recorded first, then by channel; c is not due yet.
	if got, want := names(due(t, s, t0.Add(time.Second), 2)), []string{a.Key + "@slack", a.Key + "@webhook"}; !slices.Equal(got, want) {
		t.Errorf("first page = %q, want %q", got, want)
	}
	if got, want := names(due(t, s, t0.Add(time.Second), 10)), []string{b.Key + "@slack"}; !slices.Equal(got, want) {
		t.Errorf("then = %q, want %q (the claimed ones are not due again)", got, want)
	}
	if got, want := names(due(t, s, t0.Add(hold-time.Microsecond), 10)), []string{c.Key + "@slack"}; !slices.Equal(got, want) {
		t.Errorf("before the claims end = %q, want %q", got, want)
	}
	// A sender that never reported: due again once its claim ends.
	if got, want := names(due(t, s, t0.Add(hold+time.Second), 10)), []string{a.Key + "@slack", a.Key + "@webhook", b.Key + "@slack"}; !slices.Equal(got, want) {
		t.Errorf("once the claims ended = %q, want %q", got, want)
	}
	d := deliveryOf(t, s, a.Key, "slack")
	if want := t0.Add(2*hold + time.Second); d.Status != store.DeliveryPending || d.Attempts != 0 || !d.NextAttemptAt.Equal(want) {
		t.Errorf("a claimed delivery: %+v, want pending, 0 attempts, claimed until %v", d, want)
	}
}

func testDeliveryBackoff(t *testing.T, s store.Store) {
	n := note("home", base.Add(-time.Hour), alert.KindTrigger, 0, base)
	record(t, s, []alert.Notification{n}, []string{"slack", "webhook"}, base)
	due(t, s, base, 10)

	retryAt := base.Add(30*time.Second + 1500).In(cest)
	if err := s.MarkFailed(ctx, n.Key, "slack", 1, retryAt, "send to channel \"slack\": 503 Service Unavailable (retryable)"); err != nil {
		t.Fatalf("MarkFailed: %v", err)
	}
	failed := store.Delivery{Key: n.Key, Channel: "slack", Status: store.DeliveryFailed, Attempts: 1,
		NextAttemptAt: base.Add(30*time.Second + time.Microsecond), LastError: "send to channel \"slack\": 503 Service Unavailable (retryable)",
		CreatedAt: base}
	sameDelivery(t, "after a failed attempt", deliveryOf(t, s, n.Key, "slack"), failed)
	// A retried call, or a sender whose claim ended, reporting the same
	// attempt: ignored.
	if err := s.MarkFailed(ctx, n.Key, "slack", 1, base.Add(time.Hour), "late report"); err != nil {
		t.Fatalf("MarkFailed again: %v", err)
	}
	sameDelivery(t, "the same attempt reported twice", deliveryOf(t, s, n.Key, "slack"), failed)

	if ds := due(t, s, base.Add(30*time.Second), 10); len(ds) != 0 {
		t.Errorf("due before its next attempt: %q", names(ds))
	}
	ds := due(t, s, base.Add(30*time.Second+time.Microsecond), 10)
	if got, want := names(ds), []string{n.Key + "@slack"}; !slices.Equal(got, want) {
		t.Fatalf("at its next attempt: %q, want %q", got, want)
	}
	if ds[0].Attempts != 1 || ds[0].Status != store.DeliveryFailed {
		t.Errorf("due delivery says %d attempts, %s; want 1, failed", ds[0].Attempts, ds[0].Status)
	}
	long := strings.Repeat("é", store.MaxErrorLen)
	if err := s.MarkFailed(ctx, n.Key, "slack", 2, base.Add(2*time.Minute), long); err != nil {
		t.Fatalf("MarkFailed 2: %v", err)
	}
	if d := deliveryOf(t, s, n.Key, "slack"); len(d.LastError) > store.MaxErrorLen || !strings.HasPrefix(long, d.LastError) || len(d.LastError) < store.MaxErrorLen-1 {
		t.Errorf("a long error is kept as %d bytes, want it cut to %d at a character", len(d.LastError), store.MaxErrorLen)
	}

	sentAt := base.Add(2*time.Minute + 7).In(cest)
	if err := s.MarkDelivered(ctx, n.Key, "slack", sentAt); err != nil {
		t.Fatalf("MarkDelivered: %v", err)
	}
	d := deliveryOf(t, s, n.Key, "slack")
	if d.Status != store.DeliverySent || d.Attempts != 3 || !d.SentAt.Equal(base.Add(2*time.Minute)) || d.SentAt.Location() != time.UTC {
		t.Errorf("after delivery: %+v, want sent after 3 attempts at %v UTC", d, base.Add(2*time.Minute))
	}
	// Reports after it was sent change nothing.
	if err := s.MarkDelivered(ctx, n.Key, "slack", base.Add(time.Hour)); err != nil {
		t.Errorf("MarkDelivered again: %v", err)
	}
	if err := s.MarkFailed(ctx, n.Key, "slack", 4, base.Add(time.Hour), "late"); err != nil {
		t.Errorf("MarkFailed after sent: %v", err)
	}
	if err := s.GiveUp(ctx, n.Key, "slack", 4, base.Add(time.Hour), "late"); err != nil {
		t.Errorf("GiveUp after sent: %v", err)
	}
	sameDelivery(t, "reports after it was sent", deliveryOf(t, s, n.Key, "slack"), d)
	if ds := due(t, s, base.Add(24*time.Hour), 10); !slices.Equal(names(ds), []string{n.Key + "@webhook"}) {
		t.Errorf("due after slack was sent: %q, want webhook's alone", names(ds))
	}

	for name, err := range map[string]error{
		"MarkDelivered": s.MarkDelivered(ctx, n.Key, "email", base),
		"MarkFailed":    s.MarkFailed(ctx, "no/such/key", "slack", 1, base, "x"),
		"GiveUp":        s.GiveUp(ctx, n.Key, "pagerduty", 1, base, "x"),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s of an unknown delivery: err = %v, want ErrNotFound", name, err)
		}
	}
	for name, err := range map[string]error{
		"MarkDelivered without a time": s.MarkDelivered(ctx, n.Key, "webhook", time.Time{}),
		"MarkFailed of attempt 0":      s.MarkFailed(ctx, n.Key, "webhook", 0, base, "x"),
		"MarkFailed without next":      s.MarkFailed(ctx, n.Key, "webhook", 1, time.Time{}, "x"),
		"GiveUp without a channel":     s.GiveUp(ctx, n.Key, "", 1, base, "x"),
	} {
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func testDeliveryGivenUp(t *testing.T, s store.Store) {
	n := note("home", base.Add(-time.Hour), alert.KindTrigger, 0, base)
	record(t, s, []alert.Notification{n}, []string{"slack", "webhook"}, base)
	if err := s.MarkFailed(ctx, n.Key, "slack", 1, base.Add(time.Minute), "timeout"); err != nil {
		t.Fatal(err)
	}
	at := base.Add(10*time.Minute + 999).In(cest)
	if err := s.GiveUp(ctx, n.Key, "slack", 2, at, "401 Unauthorized (permanent)"); err != nil {
		t.Fatalf("GiveUp: %v", err)
	}
	want := store.Delivery{Key: n.Key, Channel: "slack", Status: store.DeliveryGivenUp, Attempts: 2,
		NextAttemptAt: base.Add(time.Minute), LastError: "401 Unauthorized (permanent)", CreatedAt: base,
		GivenUpAt: base.Add(10 * time.Minute)}
	sameDelivery(t, "given up", deliveryOf(t, s, n.Key, "slack"), want)
	if err := s.GiveUp(ctx, n.Key, "slack", 3, base.Add(time.Hour), "again"); err != nil {
		t.Errorf("GiveUp again: %v", err)
	}
	if err := s.MarkFailed(ctx, n.Key, "slack", 3, base.Add(time.Hour), "again"); err != nil {
		t.Errorf("MarkFailed after giving up: %v", err)
	}
	sameDelivery(t, "reports after giving up", deliveryOf(t, s, n.Key, "slack"), want)
	if ds := due(t, s, base.Add(24*time.Hour), 10); !slices.Equal(names(ds), []string{n.Key + "@webhook"}) {
		t.Errorf("due: %q, want webhook's alone", names(ds))
	}

	// Given up without an attempt (its channel was removed).
	if err := s.GiveUp(ctx, n.Key, "webhook", 0, base.Add(24*time.Hour), "channel webhook is no longer configured\x00"); err != nil {
		t.Fatalf("GiveUp without an attempt: %v", err)
	}
	if d := deliveryOf(t, s, n.Key, "webhook"); d.Status != store.DeliveryGivenUp || d.Attempts != 0 ||
		!strings.HasPrefix(d.LastError, "channel webhook is no longer configured") || strings.ContainsRune(d.LastError, 0) {
		t.Errorf("given up without trying: %+v", d)
	}

	// An attempt that did get through after all: marked sent.
	if err := s.MarkDelivered(ctx, n.Key, "slack", base.Add(11*time.Minute)); err != nil {
		t.Fatalf("MarkDelivered after giving up: %v", err)
	}
	if d := deliveryOf(t, s, n.Key, "slack"); d.Status != store.DeliverySent || !d.SentAt.Equal(base.Add(11*time.Minute)) {
		t.Errorf("delivered after giving up: %+v, want sent", d)
	}
}

func testDeliveryWaitsForEarlier(t *testing.T, s store.Store) {
	since := base.Add(-time.Hour)
	trigger := note("home", since, alert.KindTrigger, 0, base)
	reminder := note("home", since, alert.KindReminder, 1, base.Add(time.Minute))
	recovery := note("home", since, alert.KindRecovery, 0, base.Add(2*time.Minute))
	other := note("other", since, alert.KindTrigger, 0, base)
	record(t, s, []alert.Notification{trigger}, []string{"slack", "webhook"}, base)
	record(t, s, []alert.Notification{reminder, recovery, other}, []string{"slack", "webhook"}, base.Add(time.Second))

	// One delivery per incident and channel at a time, the earliest first;
	// other incidents do not wait.
	now := base.Add(2 * time.Second)
	if got, want := names(due(t, s, now, 10)), []string{trigger.Key + "@slack", trigger.Key + "@webhook", other.Key + "@slack", other.Key + "@webhook"}; !slices.Equal(got, want) {
		t.Errorf("due = %q, want %q", got, want)
	}
	if err := s.MarkDelivered(ctx, trigger.Key, "webhook", now); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, trigger.Key, "slack", 1, now.Add(time.Minute), "503"); err != nil {
		t.Fatal(err)
	}
	if got, want := names(due(t, s, now, 10)), []string{reminder.Key + "@webhook"}; !slices.Equal(got, want) {
		t.Errorf("after webhook got the trigger, due = %q, want %q", got, want)
	}
	if err := s.MarkDelivered(ctx, reminder.Key, "webhook", now); err != nil {
		t.Fatal(err)
	}
	if got, want := names(due(t, s, now, 10)), []string{recovery.Key + "@webhook"}; !slices.Equal(got, want) {
		t.Errorf("then = %q, want %q (slack still retries its trigger)", got, want)
	}
	later := now.Add(time.Minute)
	if got, want := names(due(t, s, later, 10)), []string{trigger.Key + "@slack"}; !slices.Equal(got, want) {
		t.Errorf("at slack's retry = %q, want %q", got, want)
	}
	if err := s.GiveUp(ctx, trigger.Key, "slack", 2, later, "503"); err != nil {
		t.Fatal(err)
	}
	if got, want := names(due(t, s, later, 10)), []string{reminder.Key + "@slack"}; !slices.Equal(got, want) {
		t.Errorf("after slack's trigger was given up = %q, want %q", got, want)
	}
}

func testDueConcurrently(t *testing.T, s store.Store) {
	ClaimOnce(t, s, s)
}

// ClaimOnce records deliveries through a, then has senders on a and b
// (two stores on one database, or the same store twice) claim them all
// at once: each delivery is claimed exactly once.
func ClaimOnce(t *testing.T, a, b store.Alerts) {
	const notes, channels, senders = 40, 3, 6
	var ns []alert.Notification
	for i := range notes {
		ns = append(ns, note(fmt.Sprintf("c%02d", i), base.Add(-time.Hour), alert.KindTrigger, 0, base))
	}
	if _, err := a.RecordNotifications(ctx, ns, []string{"email", "slack", "webhook"}, base); err != nil {
		t.Fatalf("RecordNotifications: %v", err)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed = map[string]int{}
		errs    []error
	)
	for i := range senders {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Go(func() {
			for {
				ds, err := st.DueDeliveries(ctx, base, hold, 7)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				for _, d := range ds {
					claimed[d.Key+"@"+d.Channel]++
				}
				mu.Unlock()
				if err != nil || len(ds) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if len(claimed) != notes*channels {
		t.Errorf("%d deliveries claimed, want %d", len(claimed), notes*channels)
	}
	for d, n := range claimed {
		if n != 1 {
			t.Errorf("%s claimed %d times", d, n)
		}
	}
}

func testAnnouncedKeys(t *testing.T, s store.Store) {
	old := base.Add(-48 * time.Hour)
	// An old incident still open: its trigger and reminder are announced
	// however old.
	openTrigger := note("home", old, alert.KindTrigger, 0, old)
	openReminder := note("home", old, alert.KindReminder, 1, old.Add(time.Hour))
	// An old incident that is over: left out before since.
	overTrigger := note("home", old.Add(2*time.Hour), alert.KindTrigger, 0, old.Add(2*time.Hour))
	overRecovery := note("home", old.Add(2*time.Hour), alert.KindRecovery, 0, old.Add(3*time.Hour))
	// Recent ones, over or not.
	recentTrigger := note("home", base, alert.KindTrigger, 0, base)
	recentRecovery := note("home", base, alert.KindRecovery, 0, base.Add(time.Minute))
	otherCheck := note("api", old, alert.KindTrigger, 0, old)
	record(t, s, []alert.Notification{openTrigger, overTrigger, otherCheck}, []string{"slack"}, old)
	record(t, s, []alert.Notification{openReminder, overRecovery}, nil, old.Add(3*time.Hour))
	record(t, s, []alert.Notification{recentTrigger, recentRecovery}, []string{"slack"}, base.Add(time.Minute))

	keys, err := s.AnnouncedKeys(ctx, "home", base.Add(-time.Hour).In(cest))
	if err != nil {
		t.Fatalf("AnnouncedKeys: %v", err)
	}
	want := []string{openTrigger.Key, openReminder.Key, recentTrigger.Key, recentRecovery.Key}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("AnnouncedKeys(home, an hour ago) =\n %q\nwant\n %q", keys, want)
	}
	keys, err = s.AnnouncedKeys(ctx, "home", beforeAll)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 6 {
		t.Errorf("AnnouncedKeys(home, ever) = %q, want all 6 of home", keys)
	}
	if keys, err := s.AnnouncedKeys(ctx, "nothing", beforeAll); err != nil || keys != nil {
		t.Errorf("AnnouncedKeys of a check without notifications = %q, %v; want nil", keys, err)
	}
}

// AnnouncedAfterReopen records notifications through a store open
// returns, closes it, and asks a second one (on the same database) for
// the announced keys: they are what an evaluator starting again needs.
func AnnouncedAfterReopen(t *testing.T, open func(t *testing.T) store.Store) {
	since := base.Add(-time.Hour)
	ns := []alert.Notification{
		note("home", since, alert.KindTrigger, 0, base),
		note("home", since, alert.KindReminder, 1, base.Add(10*time.Minute)),
	}
	s := open(t)
	record(t, s, ns, []string{"slack"}, base)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t)
	defer s.Close()
	keys, err := s.AnnouncedKeys(ctx, "home", base.Add(time.Hour))
	if err != nil {
		t.Fatalf("AnnouncedKeys after reopening: %v", err)
	}
	if want := slices.Sorted(slices.Values([]string{ns[0].Key, ns[1].Key})); !slices.Equal(keys, want) {
		t.Errorf("AnnouncedKeys after reopening = %q, want %q", keys, want)
	}
	if added := record(t, s, ns, []string{"slack"}, base.Add(time.Hour)); added != 0 {
		t.Errorf("recording them again after reopening added %d deliveries", added)
	}
	if got, want := names(due(t, s, base, 10)), []string{ns[0].Key + "@slack"}; !slices.Equal(got, want) {
		t.Errorf("due after reopening = %q, want %q", got, want)
	}
}

func testNotificationsQuery(t *testing.T, s store.Store) {
	var all []alert.Notification
	for i := range 7 {
		check := "a"
		if i%2 == 1 {
			check = "b"
		}
		n := note(check, base.Add(time.Duration(i)*time.Hour), alert.KindTrigger, 0, base.Add(time.Duration(i)*time.Hour))
		record(t, s, []alert.Notification{n}, []string{"webhook", "slack"}, base.Add(time.Duration(i)*time.Hour))
		all = append(all, n)
	}
	keys := func(rs []store.NotificationRecord) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Notification.Key)
		}
		return out
	}
	if got, want := keys(notifications(t, s, store.NotificationQuery{Limit: 3})), []string{all[6].Key, all[5].Key, all[4].Key}; !slices.Equal(got, want) {
		t.Errorf("Notifications limit 3 = %q, want %q", got, want)
	}
	if got, want := keys(notifications(t, s, store.NotificationQuery{CheckID: "b"})), []string{all[5].Key, all[3].Key, all[1].Key}; !slices.Equal(got, want) {
		t.Errorf("Notifications of b = %q, want %q", got, want)
	}
	if got := notifications(t, s, store.NotificationQuery{}); len(got) != 7 {
		t.Errorf("Notifications = %d records, want 7", len(got))
	}
	if _, err := s.Notifications(ctx, store.NotificationQuery{Limit: -1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Notifications with a negative limit: err = %v, want ErrInvalid", err)
	}
}
