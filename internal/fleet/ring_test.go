package fleet

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRing(t *testing.T) {
	tests := []struct {
		in      string
		want    Ring
		wantErr string
	}{
		{in: "dev", want: Dev},
		{in: "canary", want: Canary},
		{in: "production", want: Production},
		{in: "", wantErr: "no ring given (want dev, canary or production)"},
		{in: "prod", wantErr: `unknown ring "prod" (want dev, canary or production)`},
		{in: "Production", wantErr: `unknown ring "Production"`},
		{in: " dev", wantErr: `unknown ring " dev"`},
	}
	for _, tt := range tests {
		got, err := ParseRing(tt.in)
		if tt.wantErr == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseRing(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			continue
		}
		if !errors.Is(err, ErrUnknownRing) || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseRing(%q): err = %v, want ErrUnknownRing saying %q", tt.in, err, tt.wantErr)
		}
		if got != "" {
			t.Errorf("ParseRing(%q) = %q with an error, want \"\"", tt.in, got)
		}
	}
}

func TestRequiresMessage(t *testing.T) {
	for r, want := range map[Ring]bool{Dev: false, Canary: true, Production: true} {
		if got := r.RequiresMessage(); got != want {
			t.Errorf("%s.RequiresMessage() = %v, want %v", r, got, want)
		}
	}
}
