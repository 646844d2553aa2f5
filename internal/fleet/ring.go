package fleet

import (
	"errors"
	"fmt"
	"slices"
)

// Ring is a group of hosts that move to a release together.
type Ring string

// The rings, in the order a change travels through them.
const (
	// Dev is where a change is tried first, on hosts nobody depends on.
	Dev Ring = "dev"
	// Canary is a few production hosts that get a change before the rest.
	Canary Ring = "canary"
	// Production is every other host; it may move in partial waves.
	Production Ring = "production"
)

// ErrUnknownRing is wrapped by the error for a ring that is none of Rings.
var ErrUnknownRing = errors.New("unknown ring")

// Rings returns every ring, in the order a change travels through them.
func Rings() []Ring { return []Ring{Dev, Canary, Production} }

// ParseRing returns the ring named s, or an error wrapping ErrUnknownRing
// that names s and the rings there are.
func ParseRing(s string) (Ring, error) {
	r := Ring(s)
	if err := r.Validate(); err != nil {
		return "", err
	}
	return r, nil
}

// Validate returns nil for one of Rings, else an error wrapping
// ErrUnknownRing that names r and the rings there are.
func (r Ring) Validate() error {
	if slices.Contains(Rings(), r) {
		return nil
	}
	if r == "" {
		return fmt.Errorf("%w: no ring given (want dev, canary or production)", ErrUnknownRing)
	}
	return fmt.Errorf("%w %q (want dev, canary or production)", ErrUnknownRing, string(r))
}

// RequiresMessage reports whether a deploy to r must say why (canary and
// production: someone will read the history).
func (r Ring) RequiresMessage() bool { return r == Canary || r == Production }
