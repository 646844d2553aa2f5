package row

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/store"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		values []int64
		p      float64
		want   float64
	}{
		{nil, 0.5, 0},
		{[]int64{7}, 0.95, 7},
		{[]int64{100, 200, 300, 400}, 0.5, 250},
		{[]int64{100, 200, 300, 400}, 0.95, 385},
		{[]int64{1, 2, 3, 4, 5}, 0.5, 3},
		{[]int64{10, 20}, 0, 10},
		{[]int64{10, 20}, 1, 20},
	}
	for _, tt := range tests {
		if got := Millis(Percentile(tt.values, tt.p)); got != Millis(tt.want) {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tt.values, tt.p, got, Millis(tt.want))
		}
	}
}

func TestRawSpans(t *testing.T) {
	h := func(n int) time.Time { return time.Date(2031, 1, 1, n, 0, 0, 0, time.UTC) }
	tests := []struct {
		from, to time.Time
		clean    []time.Time
		want     string
	}{
		{h(1), h(5), nil, "[1:00-5:00]"},
		{h(1), h(5), []time.Time{h(3), h(1)}, "[2:00-3:00 4:00-5:00]"},
		{h(1), h(5), []time.Time{h(1), h(2), h(3), h(4)}, "[]"},
		{h(1).Add(30 * time.Minute), h(5), []time.Time{h(1), h(2)}, "[1:30-2:00 3:00-5:00]"},
		{h(1), h(3), []time.Time{h(0), h(3), h(7)}, "[1:00-3:00]"},
		{h(4), h(2), nil, "[]"},
	}
	for _, tt := range tests {
		var got []string
		for _, s := range RawSpans(tt.from, tt.to, tt.clean) {
			got = append(got, s.From.Format("15:04")[1:]+"-"+s.To.Format("15:04")[1:])
		}
		if fmt.Sprint(got) != tt.want {
			t.Errorf("RawSpans(%v, %v, %v) = %v, want %v", tt.from, tt.to, tt.clean, got, tt.want)
		}
	}
}

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

func TestPlanMaintain(t *testing.T) {
	h := func(n int) time.Time { return time.Date(2031, 1, 1, n, 0, 0, 0, time.UTC) }
	// Raw results from 2:10; hours 3 and 5 already rolled up; now 8:20.
	p, err := PlanMaintain(h(8).Add(20*time.Minute), h(6).Add(40*time.Minute), h(1), Beginning, h(2).Add(10*time.Minute), []time.Time{h(3), h(5)})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(p.Roll); got != fmt.Sprint([]Span{{h(2), h(3)}, {h(4), h(5)}, {h(6), h(8)}}) {
		t.Errorf("Roll = %v", got)
	}
	if p.Hours() != 4 || !p.Horizon.Equal(h(6)) || !p.RollupBefore.Equal(h(1)) {
		t.Errorf("plan = %d hours, horizon %v, rollups before %v; want 4, 6:00, 1:00", p.Hours(), p.Horizon, p.RollupBefore)
	}
	if m, ok := p.Mark(Span{h(4), h(7)}); !ok || !m.From.Equal(h(6)) {
		t.Errorf("Mark(4:00-7:00) = %v, %v; want 6:00-7:00", m, ok)
	}
	if _, ok := p.Mark(Span{h(2), h(3)}); ok {
		t.Errorf("Mark of hours about to be pruned marks them")
	}
	// The horizon never moves back.
	p, err = PlanMaintain(h(8), h(4), h(1), h(6), time.Time{}, nil)
	if err != nil || !p.Horizon.Equal(h(6)) || len(p.Roll) != 0 {
		t.Errorf("plan with an earlier rawBefore = %+v, %v", p, err)
	}
}
