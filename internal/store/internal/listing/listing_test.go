package listing

import (
	"errors"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/store"
)

func TestCursor(t *testing.T) {
	c := Cursor{FinishedAt: time.Date(2031, 3, 14, 9, 0, 0, 123456000, time.UTC), RunID: "run:with:colons"}
	got, err := ParseCursor(c.String())
	if err != nil || !got.FinishedAt.Equal(c.FinishedAt) || got.RunID != c.RunID {
		t.Errorf("ParseCursor(String()) = %+v, %v; want %+v", got, err, c)
	}
	for _, bad := range []string{"", "x", c.String()[:5], "cjE6MTIz", "cjE6eDpy"} {
		if _, err := ParseCursor(bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ParseCursor(%q): err = %v, want ErrInvalid", bad, err)
		}
	}
}

func FuzzParseCursor(f *testing.F) {
	f.Add(Cursor{FinishedAt: time.Unix(1, 0), RunID: "r"}.String())
	f.Add("cjE6MTIz")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("ParseCursor(%q): %v is not ErrInvalid", s, err)
			}
			return
		}
		again, err := ParseCursor(c.String())
		if err != nil || !again.FinishedAt.Equal(c.FinishedAt) || again.RunID != c.RunID {
			t.Fatalf("cursor %+v does not round-trip: %+v, %v", c, again, err)
		}
	})
}
