//go:build unix

package durable

import (
	"errors"
	"os"
	"syscall"
)

// flock takes an exclusive, non-blocking flock on f.
func flock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}
