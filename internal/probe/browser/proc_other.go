//go:build !linux

package browser

import (
	"errors"
	"os/exec"
	"time"
)

// errUnsupported is why New fails off Linux: the prober tracks Chromium's
// processes through /proc and process groups.
var errUnsupported = errors.New("browser checks run on Linux only")

type procGroup struct{ leader int }

type procInfo struct {
	pid, ppid, pgrp int
	state           byte
	comm            string
}

func newProcGroup(int, string) *procGroup    { return &procGroup{} }
func configureCmd(*exec.Cmd)                 {}
func becomeSubreaper() error                 { return errUnsupported }
func (*procGroup) members() []procInfo       { return nil }
func (*procGroup) memory() int64             { return 0 }
func (*procGroup) kill()                     {}
func (*procGroup) reap(time.Time) []procInfo { return nil }
func (*procGroup) setLeader(int)             {}
func (*procGroup) release()                  {}
