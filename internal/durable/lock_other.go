//go:build !unix

package durable

import (
	"errors"
	"os"
)

// flock is not implemented off Unix: without it two processes could share
// a directory meant for one, so LockDir refuses.
func flock(*os.File) error { return errors.ErrUnsupported }
