package schedule

import (
	"testing"
	"time"
)

func TestRunIDDerived(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	a := RunID("home", "eu-west-1", at)
	if a != RunID("home", "eu-west-1", at) {
		t.Error("run id is not a function of check, location and time")
	}
	for _, other := range []string{RunID("home", "us-east-1", at), RunID("home", "eu-west-1", at.Add(time.Millisecond)), RunID("homeeu", "-west-1", at)} {
		if other == a {
			t.Errorf("distinct runs share run id %s", a)
		}
	}
}
