package web

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

// paramError is a query parameter the API cannot use; it becomes a 400.
type paramError struct {
	Param  string
	Reason string
}

func (e *paramError) Error() string {
	return fmt.Sprintf("query parameter %q: %s", e.Param, e.Reason)
}

// maxPageSize is the largest page of results a request may ask for; the
// store caps it there too.
const maxPageSize = 500

// maxRollupSpan is the widest window of hourly rollups one request returns.
const maxRollupSpan = 93 * 24 * time.Hour

// query reads the parameters of one request, refusing any it does not know
// and any given twice, so a misspelt filter is an error rather than a
// silently unfiltered answer.
type query struct {
	values url.Values
}

func newQuery(raw url.Values, known ...string) (query, error) {
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(known, name) {
			return query{}, &paramError{name, "unknown parameter; this endpoint takes " + strings.Join(known, ", ")}
		}
		if len(raw[name]) > 1 {
			return query{}, &paramError{name, fmt.Sprintf("given %d times; give it once", len(raw[name]))}
		}
	}
	return query{raw}, nil
}

// time reads an RFC 3339 time; absent is the zero time.
func (q query) time(name string) (time.Time, error) {
	v := q.values.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, &paramError{name, fmt.Sprintf("%q is not an RFC 3339 time (like 2006-01-02T15:04:05Z)", v)}
	}
	return t, nil
}

// window reads from and to, requiring from before to when both are given.
func (q query) window() (from, to time.Time, err error) {
	if from, err = q.time("from"); err != nil {
		return
	}
	if to, err = q.time("to"); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		err = &paramError{"to", fmt.Sprintf("%s is not after from (%s)", q.values.Get("to"), q.values.Get("from"))}
	}
	return
}

// resultQuery reads the filters and paging of a results listing.
func resultQuery(raw url.Values, checkID string) (store.ResultQuery, error) {
	q, err := newQuery(raw, "from", "to", "location", "status", "limit", "cursor")
	if err != nil {
		return store.ResultQuery{}, err
	}
	rq := store.ResultQuery{CheckID: checkID}
	if rq.From, rq.To, err = q.window(); err != nil {
		return store.ResultQuery{}, err
	}
	if loc := q.values.Get("location"); loc != "" {
		if !check.ValidLocation(loc) {
			return store.ResultQuery{}, &paramError{"location", fmt.Sprintf("%q is not a location name (lower-case letters, digits and '-')", loc)}
		}
		rq.Location = loc
	}
	if st := q.values.Get("status"); st != "" {
		if !check.Status(st).Valid() {
			return store.ResultQuery{}, &paramError{"status", fmt.Sprintf("%q is not a status; want one of %s", st, statusList())}
		}
		rq.Status = check.Status(st)
	}
	if l := q.values.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxPageSize {
			return store.ResultQuery{}, &paramError{"limit", fmt.Sprintf("%q is not an integer from 1 to %d", l, maxPageSize)}
		}
		rq.Limit = n
	}
	if c := q.values.Get("cursor"); c != "" {
		if rq.Cursor, err = decodeCursor(rq, c); err != nil {
			return store.ResultQuery{}, err
		}
	}
	return rq, nil
}

// The API's cursor wraps the store's with a digest of the filters it was
// issued for, so a cursor that was cut short, or reused with other filters
// (which would page through the wrong results without a word), is a 400
// naming the cursor rather than a store error or a silently wrong page. It
// is not a secret: it only catches mistakes.

// encodeCursor wraps the store's cursor next for the filters of q.
func encodeCursor(q store.ResultQuery, next string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(next)) + "." + cursorDigest(q, next)
}

// decodeCursor returns the store's cursor inside c, checking it was issued
// for the filters of q.
func decodeCursor(q store.ResultQuery, c string) (string, error) {
	body, digest, ok := strings.Cut(c, ".")
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if !ok || err != nil || len(raw) == 0 {
		return "", &paramError{"cursor", "not a cursor this endpoint returned (copy next_cursor whole)"}
	}
	if digest != cursorDigest(q, string(raw)) {
		return "", &paramError{"cursor", "issued for other filters; page with the from, to, location and status it was issued with"}
	}
	return string(raw), nil
}

func cursorDigest(q store.ResultQuery, next string) string {
	h := sha256.New()
	for _, part := range []string{q.CheckID, q.Location, string(q.Status), stamp(q.From), stamp(q.To), next} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// rollupWindow reads from and to of a rollups request: by default the 24
// hours up to now, at most maxRollupSpan wide.
func rollupWindow(raw url.Values, now time.Time) (from, to time.Time, err error) {
	q, err := newQuery(raw, "from", "to")
	if err != nil {
		return
	}
	if from, to, err = q.window(); err != nil {
		return
	}
	switch {
	case to.IsZero() && from.IsZero():
		to = now
		from = to.Add(-24 * time.Hour)
	case to.IsZero():
		to = now
		if !from.Before(to) {
			return from, to, &paramError{"from", fmt.Sprintf("%s is not before now", q.values.Get("from"))}
		}
	case from.IsZero():
		from = to.Add(-24 * time.Hour)
	}
	if to.Sub(from) > maxRollupSpan {
		return from, to, &paramError{"from", fmt.Sprintf("from and to are %s apart; at most %d days are served", to.Sub(from), maxRollupSpan/(24*time.Hour))}
	}
	return from.UTC(), to.UTC(), nil
}

func statusList() string {
	var names []string
	for _, s := range check.Statuses() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}
