package testenv

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// Profiled runs a binary's main logic inside its test binary (the tests
// that start the test binary as the real program), writing its CPU and
// allocation profiles to the files the environment variables
// PREFIX_CPUPROFILE and PREFIX_MEMPROFILE name, for looking into what a
// benchmark's process spends: go tool pprof X.test FILE. It returns main's
// exit status, or 2 when a profile cannot be started.
func Profiled(prefix string, main func() int) int {
	if path := os.Getenv(prefix + "_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cpu profile:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "cpu profile:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	if path := os.Getenv(prefix + "_MEMPROFILE"); path != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			f, err := os.Create(path)
			if err != nil {
				fmt.Fprintln(os.Stderr, "memory profile:", err)
				return
			}
			defer f.Close()
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				fmt.Fprintln(os.Stderr, "memory profile:", err)
			}
		}()
	}
	return main()
}
