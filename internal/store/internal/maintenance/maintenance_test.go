package maintenance

import (
	"fmt"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/store/internal/rollup"
)

func TestDecide(t *testing.T) {
	h := func(n int) time.Time { return time.Date(2031, 1, 1, n, 0, 0, 0, time.UTC) }
	// Raw results from 2:10; hours 3 and 5 already rolled up; now 8:20.
	p, err := Decide(h(8).Add(20*time.Minute), h(6).Add(40*time.Minute), h(1), rollup.Beginning, h(2).Add(10*time.Minute), []time.Time{h(3), h(5)})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(p.Roll); got != fmt.Sprint([]rollup.Span{{From: h(2), To: h(3)}, {From: h(4), To: h(5)}, {From: h(6), To: h(8)}}) {
		t.Errorf("Roll = %v", got)
	}
	if p.Hours() != 4 || !p.Horizon.Equal(h(6)) || !p.RollupBefore.Equal(h(1)) {
		t.Errorf("plan = %d hours, horizon %v, rollups before %v; want 4, 6:00, 1:00", p.Hours(), p.Horizon, p.RollupBefore)
	}
	if m, ok := p.Mark(rollup.Span{From: h(4), To: h(7)}); !ok || !m.From.Equal(h(6)) {
		t.Errorf("Mark(4:00-7:00) = %v, %v; want 6:00-7:00", m, ok)
	}
	if _, ok := p.Mark(rollup.Span{From: h(2), To: h(3)}); ok {
		t.Errorf("Mark of hours about to be pruned marks them")
	}
	// The horizon never moves back.
	p, err = Decide(h(8), h(4), h(1), h(6), time.Time{}, nil)
	if err != nil || !p.Horizon.Equal(h(6)) || len(p.Roll) != 0 {
		t.Errorf("plan with an earlier rawBefore = %+v, %v", p, err)
	}
}
