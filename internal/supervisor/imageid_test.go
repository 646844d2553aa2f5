package supervisor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// An upgrade pinned to an image id (as the fleet asks) goes to the host's
// previous image without a tag, to a tag only when it resolves to that id,
// and refuses anything else before changing a thing.
func TestUpgradeByImageID(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, dir, nil)
		r.start()
		r.waitFor("five ready on v1", time.Minute, func() bool { return r.settledOn(r.v1) })

		byID := func(tag string, id runtime.ImageID) api.UpgradeRequest {
			req := request(tag, 1, 0)
			req.ImageID = id
			return req
		}
		for name, tc := range map[string]struct {
			req  api.UpgradeRequest
			want string
		}{
			"a tag resolving to another id": {byID("v1", r.v2.ID), "not to the pinned"},
			"an unknown id without a tag":   {byID("", "sha256:feed"), "neither the host's image nor its previous one"},
		} {
			_, err := r.s.Upgrade(context.Background(), tc.req)
			if !errors.Is(err, runtime.ErrImageNotFound) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: error %v, want ErrImageNotFound saying %q", name, err, tc.want)
			}
		}
		if !r.settledOn(r.v1) {
			t.Fatal("a refused upgrade changed the host")
		}
		if res, _ := r.upgrade(byID("v2", r.v2.ID)); res.Summary.Result != api.ResultSucceeded {
			t.Fatalf("upgrade to v2 by tag and id: %+v", res.Summary)
		}
		if res, _ := r.upgrade(byID("", r.v1.ID)); res.Summary.Result != api.ResultSucceeded || !r.settledOn(r.v1) {
			t.Fatalf("upgrade back to the previous id without a tag: %+v", res.Summary)
		}
		r.stop()
	})
}
