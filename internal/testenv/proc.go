package testenv

import (
	"net"
	"testing"
	"time"

	"github.com/prometheus/procfs"
)

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// ProcStatus reads /proc/PID/status (its memory figures in bytes), for
// benchmarks that measure another process.
func ProcStatus(tb testing.TB, pid int) procfs.ProcStatus {
	tb.Helper()
	p, err := procfs.NewProc(pid)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := p.NewStatus()
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// ProcCPU reads the user+system CPU time of a process from /proc/PID/stat.
func ProcCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	p, err := procfs.NewProc(pid)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := p.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	return time.Duration(st.CPUTime() * float64(time.Second))
}
