package check

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateTimeout(t *testing.T) {
	tests := []struct {
		name  string
		check func() Check
		edit  func(*Check)
		field string // "" when valid
	}{
		{"api at its bound", apiCheck, func(c *Check) { c.Timeout = MaxAPITimeout }, ""},
		{"api above its bound", apiCheck, func(c *Check) { c.Timeout = MaxAPITimeout + time.Millisecond }, "timeout"},
		{"api a browser check long", apiCheck, func(c *Check) { c.Timeout = MaxBrowserTimeout }, "timeout"},
		{"browser at its bound", browserCheck, func(c *Check) { c.Timeout = MaxBrowserTimeout }, ""},
		{"browser above its bound", browserCheck, func(c *Check) { c.Timeout = 10 * time.Minute }, "timeout"},
		{"browser step wait above the bound", browserCheck, func(c *Check) { c.Browser.Steps[6].Timeout = time.Hour }, "browser.steps[6].timeout"},
		{"browser sleep above the bound", browserCheck, func(c *Check) { c.Browser.Steps[13].Duration = 5 * time.Minute }, "browser.steps[13].duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.check()
			tt.edit(&c)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate() = %v: a job may carry any positive timeout", err)
			}
			err := c.ValidateTimeout()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("ValidateTimeout() = %v, want nil", err)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) || len(verr.Problems) != 1 || verr.Problems[0].Field != tt.field ||
				!strings.Contains(verr.Problems[0].Message, "must be at most") {
				t.Fatalf("ValidateTimeout() = %v, want one problem on %s", err, tt.field)
			}
			if err := c.ValidateDefinition(); err == nil || !strings.Contains(err.Error(), tt.field+": must be at most") {
				t.Errorf("ValidateDefinition() = %v, want the problem on %s", err, tt.field)
			}
		})
	}
}

func TestMaxTimeoutIsTheLongestOfAnyType(t *testing.T) {
	for _, typ := range Types() {
		if MaxTimeoutOf(typ) > MaxTimeout {
			t.Errorf("MaxTimeoutOf(%s) = %v exceeds MaxTimeout %v", typ, MaxTimeoutOf(typ), MaxTimeout)
		}
	}
}
