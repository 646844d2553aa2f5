package web

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/checkfleet/checkfleet/internal/check"
)

// fmtDuration renders a duration for people: "0 ms", "87 ms", "1.24 s",
// "2.5 s", "12.3 s", "20 s", "2m5s".
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0 ms"
	case d < time.Millisecond:
		return "<1 ms"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < 10*time.Second:
		return trimZeros(fmt.Sprintf("%.2f", d.Seconds())) + " s"
	case d < time.Minute:
		return trimZeros(fmt.Sprintf("%.1f", d.Seconds())) + " s"
	}
	return shortDuration(d.Round(time.Second))
}

// trimZeros drops the trailing zeros of a decimal, and its point if
// nothing is left after it.
func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// scheduleText says when a check runs: "every 30s", "every 5m", "cron
// */15 * * * * (Europe/Berlin)".
func scheduleText(s check.Schedule) string {
	if s.Every != 0 {
		return "every " + shortDuration(s.Every)
	}
	return s.String()
}

// shortDuration is d.String() without trailing zero units: "5m", "1h30m".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// fmtTime renders an instant in UTC to the second.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// fmtHour renders the start of an hour: "14:00 UTC".
func fmtHour(t time.Time) string { return t.UTC().Format("15:04 UTC") }

// fmtAgo renders how long before now t was: "just now", "42 s ago",
// "5 min ago", "3 h ago", "2 d ago".
func fmtAgo(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d d ago", int(d.Hours()/24))
}

// fmtPercent renders an uptime ratio, rounded down so that a window with a
// failure never shows 100%.
func fmtPercent(ratio float64) string {
	if ratio >= 1 {
		return "100%"
	}
	return fmt.Sprintf("%.2f%%", math.Floor(ratio*10000)/100)
}

// uptimeClass grades an uptime ratio: good from 99.9%, fair from 99%,
// poor below, none without runs.
func uptimeClass(u uptimeWindow) string {
	ratio, ok := u.Ratio()
	switch {
	case !ok:
		return "none"
	case ratio >= 0.999:
		return "good"
	case ratio >= 0.99:
		return "fair"
	}
	return "poor"
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
