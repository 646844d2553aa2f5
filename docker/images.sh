#!/usr/bin/env bash
# images.sh: build the checkfleet images (`make images TAG=...`) where no
# registry answers: the static binaries with the host's Go, then each image
# assembled around its binary (docker build --target prebuilt, the context a
# directory holding the binary alone) on the local base that base-image.sh
# makes. The multi-stage path (a Go build stage) needs a registry for its Go
# image; see docker/README.md.
#
#   TAG=v1.4.2 docker/images.sh            # checkfleet-{worker,supervisor,scheduler}:v1.4.2
#
# Settings (environment):
#   TAG       the images' tag (required)
#   VERSION   the version stamped into the binaries and labels (default TAG)
#   REVISION  the org.opencontainers.image.revision label (default: git HEAD)
#   IMAGES    which images (default "worker supervisor scheduler")
#   PREFIX    repository prefix (default checkfleet-: checkfleet-worker, ...)
#   BASE      the base image (default checkfleet-base:bookworm, made by
#             base-image.sh when it is missing)
#   LABELS    extra labels, space-separated k=v (tests mark their images)
#   GO        the go command (default go)
#
# Each image's runtime stage (base and packages: for the worker, Chromium
# and fonts) is also tagged PREFIX<name>-runtime:cache, so the layers the
# next build reuses survive the removal of every built image; a new version
# then builds in seconds and downloads nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${TAG:?TAG is required: TAG=v1.4.2 docker/images.sh}"
VERSION=${VERSION:-$TAG}
REVISION=${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
IMAGES=${IMAGES:-worker supervisor scheduler}
PREFIX=${PREFIX:-checkfleet-}
BASE=${BASE:-checkfleet-base:bookworm}
LABELS=${LABELS:-}
GO=${GO:-go}

log() { printf 'images: %s\n' "$*" >&2; }

BASE_IMAGE=$BASE docker/base-image.sh

ctx=$(mktemp -d "${TMPDIR:-/tmp}/checkfleet-images.XXXXXX")
trap 'rm -rf "$ctx"' EXIT

# build NAME ARGS...: docker build of docker/NAME.Dockerfile on the context
# $ctx/NAME, its output shown only when it fails (the legacy builder's
# deprecation notice otherwise repeats at every build).
build() {
	local name=$1
	shift
	if ! docker build --force-rm -f "docker/$name.Dockerfile" --build-arg BASE="$BASE" "$@" "$ctx/$name" >"$ctx/$name.log" 2>&1; then
		tail -n 40 "$ctx/$name.log" >&2
		log "docker build of docker/$name.Dockerfile failed (output above)"
		exit 1
	fi
}

label_args=()
for l in $LABELS; do
	label_args+=(--label "$l")
done

for name in $IMAGES; do
	[ -f "docker/$name.Dockerfile" ] || { log "no docker/$name.Dockerfile"; exit 1; }
	start=$(date +%s)
	mkdir -p "$ctx/$name"
	CGO_ENABLED=0 "$GO" build -trimpath \
		-ldflags "-X github.com/checkfleet/checkfleet/internal/buildinfo.Version=$VERSION" \
		-o "$ctx/$name/$name" "./cmd/$name"
	# The runtime stage first, tagged: the prebuilt build below finds
	# every layer of it in the cache.
	build "$name" --target runtime -t "$PREFIX$name-runtime:cache"
	build "$name" --build-arg VERSION="$VERSION" --build-arg REVISION="$REVISION" \
		"${label_args[@]}" --target prebuilt -t "$PREFIX$name:$TAG"
	log "$PREFIX$name:$TAG (version $VERSION) built in $(($(date +%s) - start))s"
done
