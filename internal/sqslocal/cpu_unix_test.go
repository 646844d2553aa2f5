//go:build unix

package sqslocal

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (user and system, all
// threads: the garbage collector's included). On a machine shared with
// other work it measures what a benchmark costs better than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
