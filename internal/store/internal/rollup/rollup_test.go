package rollup

import (
	"fmt"
	"testing"
	"time"
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
