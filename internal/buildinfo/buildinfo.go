// Package buildinfo holds what a binary knows about its own build: the
// version stamped by the Makefile at link time, and what the Go toolchain
// recorded (VCS revision, Go version).
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Version is set at build time with
// -ldflags "-X github.com/checkfleet/checkfleet/internal/buildinfo.Version=v1.2.3".
// A binary built without it reports the VCS revision Go recorded, or "dev".
var Version = ""

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	GoVersion string `json:"go_version"`
}

// Read returns the running binary's build information.
func Read() Info {
	info := Info{Version: Version, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				info.Revision = s.Value
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
		if len(info.Revision) >= 12 {
			info.Version = "dev-" + info.Revision[:12]
		}
	}
	return info
}
