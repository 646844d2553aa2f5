package schedule

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// RunID is the id of the scheduled run of checkID at location due at due.
// It is derived, not random, so that a run planned twice (by a scheduler
// that died after sending and before recording it) has one id, and ingest
// records it once.
func RunID(checkID, location string, due time.Time) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d", checkID, location, due.UnixNano())
	return "r" + hex.EncodeToString(h.Sum(nil)[:15])
}
