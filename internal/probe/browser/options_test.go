package browser

import (
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string // substring of the error; "" for valid
	}{
		{"zero value", Options{}, ""},
		{"negative concurrency", Options{Concurrency: -1}, "concurrency must not be negative"},
		{"too much concurrency", Options{Concurrency: 100}, "want at most 64"},
		{"negative recycle", Options{RecycleAfterChecks: -1, RecycleAfterBytes: -1}, "recycle after bytes"},
		{"tiny screenshot cap", Options{MaxScreenshotBytes: 100}, "want at least 4096"},
		{"negative timeout", Options{StepTimeout: -time.Second}, "step timeout must not be negative"},
		{"flag without dashes", Options{Flags: []string{"lang=de"}}, `flag 1 "lang=de"`},
		{"good flag", Options{Flags: []string{"--lang=de", "--force-dark-mode"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	d := Options{SpareTabs: -1}.withDefaults()
	if d.Concurrency != DefaultConcurrency || d.SpareTabs != 0 || d.RecycleAfterBytes != DefaultRecycleAfterBytes || d.Env == nil {
		t.Errorf("defaults: %+v", d)
	}
	if d := (Options{Concurrency: 3}).withDefaults(); d.SpareTabs != 3 {
		t.Errorf("spare tabs default to the concurrency: got %d", d.SpareTabs)
	}
}
