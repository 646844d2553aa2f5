//go:build !unix

package sqslocal

import "time"

// processCPU is not measured off Unix.
func processCPU() time.Duration { return 0 }
