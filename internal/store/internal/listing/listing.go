// Package listing is how both SQL stores page through ListResults: the
// validated store.ResultQuery and the opaque cursor where a page ended.
package listing

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/row"
)

// The page sizes of ListResults.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Query is a validated store.ResultQuery.
type Query struct {
	CheckID  string
	Location string
	Status   string
	// From and To bound finished_at (From <= finished_at < To) at
	// microsecond precision; zero does not bound.
	From, To time.Time
	// Limit is the page size, 1 to MaxLimit.
	Limit int
	// After is where the previous page ended; nil starts at the newest.
	After *Cursor
}

// ParseQuery validates q. What is wrong is an error wrapping
// store.ErrInvalid.
func ParseQuery(q store.ResultQuery) (Query, error) {
	out := Query{
		CheckID: q.CheckID, Location: q.Location, Status: string(q.Status),
		From: row.Micro(q.From), To: row.Micro(q.To), Limit: q.Limit,
	}
	switch {
	case q.Status != "" && !q.Status.Valid():
		return Query{}, invalidf("status %q is not one of %v", q.Status, check.Statuses())
	case q.Limit < 0:
		return Query{}, invalidf("limit %d is negative", q.Limit)
	case q.Limit == 0:
		out.Limit = DefaultLimit
	case q.Limit > MaxLimit:
		out.Limit = MaxLimit
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return Query{}, invalidf("to %s is before from %s", q.To.UTC().Format(time.RFC3339Nano), q.From.UTC().Format(time.RFC3339Nano))
	}
	if q.Cursor != "" {
		c, err := ParseCursor(q.Cursor)
		if err != nil {
			return Query{}, err
		}
		out.After = &c
	}
	return out, nil
}

// Cursor is the position of the last result of a page: results after it
// (older, or as old with a smaller run id) come next.
type Cursor struct {
	// FinishedAt is the stored finished_at, at microsecond precision.
	FinishedAt time.Time
	RunID      string
}

// String encodes c opaquely for ResultQuery.Cursor.
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte("r1:" + strconv.FormatInt(row.Micros(c.FinishedAt), 10) + ":" + c.RunID))
}

// ParseCursor reads a cursor made by Cursor.String.
func ParseCursor(s string) (Cursor, error) {
	bad := invalidf("cursor %q was not returned by ListResults", s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	rest, ok := strings.CutPrefix(string(raw), "r1:")
	if !ok {
		return Cursor{}, bad
	}
	us, runID, ok := strings.Cut(rest, ":")
	if !ok || runID == "" {
		return Cursor{}, bad
	}
	n, err := strconv.ParseInt(us, 10, 64)
	if err != nil {
		return Cursor{}, bad
	}
	return Cursor{FinishedAt: row.FromMicros(n), RunID: runID}, nil
}

// invalidf returns an error wrapping store.ErrInvalid that says what is
// wrong.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", store.ErrInvalid, fmt.Sprintf(format, args...))
}
