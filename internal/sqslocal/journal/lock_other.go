//go:build !unix

package journal

import (
	"errors"
	"fmt"
	"os"
)

// lockDir is not implemented off Unix: without a lock two processes could
// interleave writes, so the journal refuses to open.
func lockDir(dir string) (*os.File, error) {
	return nil, fmt.Errorf("lock journal %s: %w", dir, errors.ErrUnsupported)
}
