package supervisorapi

import "github.com/checkfleet/checkfleet/internal/runtime"

// UpgradeOptions are the settings of one upgrade or rollback.
type UpgradeOptions struct {
	// MaxSurge is how many slots may run an extra (new) instance at once.
	MaxSurge int `json:"max_surge"`
	// MaxUnavailable is how many slots may be without a ready instance at once.
	MaxUnavailable int `json:"max_unavailable"`
	// ReadyTimeout bounds the wait for a new instance's /readyz.
	ReadyTimeout Duration `json:"ready_timeout"`
	// DrainTimeout bounds an old instance's drain before SIGKILL.
	DrainTimeout Duration `json:"drain_timeout"`
}

// UpgradeRequest asks for an upgrade to Tag (or to ImageID), or (Rollback)
// a return to the previous image.
type UpgradeRequest struct {
	// Tag is resolved once, under the pull policy, to the image id every slot gets.
	Tag string `json:"tag,omitempty"`
	// ImageID pins the image: the host's current or previous image when it
	// is that id (no tag needed), else what Tag must resolve to here; a tag
	// that resolves to another id fails and changes nothing. The fleet
	// upgrades by id, so every host runs the same bits.
	ImageID runtime.ImageID `json:"image_id,omitempty"`
	// Rollback returns to the image the host ran before the last upgrade.
	Rollback bool `json:"rollback,omitempty"`
	UpgradeOptions
}
