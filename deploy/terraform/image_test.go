package terraform_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/checkfleet/checkfleet/internal/testenv"
)

// userDataTestImage is Debian bookworm minbase with curl and CA
// certificates: what the user data finds on a Debian AMI, less systemd,
// Docker and the network (the test stubs those).
const userDataTestImage = "checkfleet-userdata-test:bookworm"

// userDataImage returns the image the user data runs in, building it the
// first time with docker/base-image.sh (debootstrap + docker import, as the
// images' base is built) when that script is there, else with debootstrap
// directly.
func userDataImage(t *testing.T) string {
	t.Helper()
	_, err := exec.LookPath("docker")
	testenv.Require(t, err, "apt-get install docker.io")
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		testenv.SkipOrFail(t, "the Docker Engine does not answer (%v: %s): start dockerd", err, out)
	}
	if exec.Command("docker", "image", "inspect", userDataTestImage).Run() == nil {
		return userDataTestImage
	}
	_, err = exec.LookPath("debootstrap")
	testenv.Require(t, err, "apt-get install debootstrap (builds "+userDataTestImage+")")
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "building %s needs debootstrap as root", userDataTestImage)
	}
	script := filepath.Join("..", "..", "docker", "base-image.sh")
	var cmd *exec.Cmd
	if _, err := os.Stat(script); err == nil {
		cmd = exec.Command("bash", script)
		cmd.Env = append(os.Environ(), "BASE_IMAGE="+userDataTestImage, "PULL_IMAGE=", "INCLUDE=ca-certificates,curl")
	} else if errors.Is(err, os.ErrNotExist) {
		cmd = exec.Command("bash", "-euo", "pipefail", "-c", `root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=ca-certificates,curl bookworm "$root" http://deb.debian.org/debian >/dev/null
tar --numeric-owner -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$1" >/dev/null`, "build", userDataTestImage)
	} else {
		t.Fatal(err)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", userDataTestImage, err, out)
	}
	return userDataTestImage
}
