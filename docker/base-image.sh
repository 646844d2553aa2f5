#!/usr/bin/env bash
# base-image.sh: make the Debian bookworm base the checkfleet images build on
# (BASE_IMAGE, default checkfleet-base:bookworm) present in the local engine.
#
#   1. present already: nothing to do (delete it with `docker rmi` to rebuild);
#   2. else pull PULL_IMAGE (default debian:bookworm-slim) and tag it;
#   3. else (no registry answers, as on our test machines and in CI) build it
#      with `debootstrap --variant=minbase` from the Debian mirror and
#      `docker import` the tree.
#
# The debootstrap tree also holds ca-certificates and tini (INCLUDE), which
# every image needs; the Dockerfiles apt-get install what they need in any
# case, so either kind of base works. debootstrap needs root. Concurrent runs (parallel
# test packages) wait for each other on a lock, and the second finds the image.
#
# Settings (environment): BASE_IMAGE, PULL_IMAGE (empty: do not try to pull),
# DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR, INCLUDE (comma-separated packages).
set -euo pipefail

BASE_IMAGE=${BASE_IMAGE:-checkfleet-base:bookworm}
PULL_IMAGE=${PULL_IMAGE-debian:bookworm-slim}
SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
INCLUDE=${INCLUDE:-ca-certificates,tini}
LOCK=${TMPDIR:-/tmp}/checkfleet-base-image.lock

log() { printf 'base-image: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

present() { docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; }

command -v docker >/dev/null || die "the docker CLI is missing (apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "the Docker Engine does not answer (start it, or set DOCKER_HOST)"

exec 9>"$LOCK"
flock 9
if present; then
	log "$BASE_IMAGE is present"
	exit 0
fi

if [ -n "$PULL_IMAGE" ] && docker pull -q "$PULL_IMAGE" >/dev/null 2>&1; then
	docker tag "$PULL_IMAGE" "$BASE_IMAGE"
	log "$BASE_IMAGE is $PULL_IMAGE, pulled"
	exit 0
fi
log "${PULL_IMAGE:-no image} cannot be pulled; building $BASE_IMAGE with debootstrap from $DEBIAN_MIRROR"

command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
[ "$(id -u)" = 0 ] || die "debootstrap needs root: run as root (sudo make base-image)"

root=$(mktemp -d "${TMPDIR:-/tmp}/checkfleet-base.XXXXXX")
trap 'rm -rf "$root"' EXIT
start=$(date +%s)
if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$root" "$DEBIAN_MIRROR" >"$root.log" 2>&1; then
	tail -n 30 "$root.log" >&2
	rm -f "$root.log"
	die "debootstrap $SUITE failed (log above)"
fi
rm -f "$root.log"

# What debian:bookworm-slim has: updates and security sources, no caches,
# no documentation kept by later installs.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
APT::Install-Recommends "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
EOF
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/tmp/*
: >"$root/etc/machine-id"

tar --numeric-owner -C "$root" -c . |
	docker import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["bash"]' \
		--change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase (debootstrap) for checkfleet\"" \
		--message "debootstrap --variant=minbase --include=$INCLUDE $SUITE" \
		- "$BASE_IMAGE" >/dev/null
log "$BASE_IMAGE built in $(($(date +%s) - start))s ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
