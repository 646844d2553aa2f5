# The checkfleet worker image: the static worker binary on Debian bookworm
# with Chromium and the fonts pages need, tini as PID 1, a non-root user.
#
# Where a registry answers (BuildKit: docker buildx build), from the
# repository root, the binary built in a Go stage:
#
#   docker build -f docker/worker.Dockerfile --build-arg BASE=debian:bookworm-slim \
#     --build-arg VERSION=v1.4.2 --build-arg REVISION=$(git rev-parse HEAD) -t checkfleet-worker:v1.4.2 .
#
# Where none does (this machine, CI): `make images TAG=v1.4.2` builds the
# binary with the host's Go and assembles the image around it (--target
# prebuilt, the context a directory holding the binary as ./worker) on the
# base `make base-image` made. See docker/README.md.
#
# The supervisor runs it as `worker run` with a read-only root filesystem, a
# tmpfs on /tmp, user 65532, no-new-privileges, every capability dropped and
# the host's network; configuration arrives as CHECKFLEET_* variables.
ARG BASE=checkfleet-base:bookworm
ARG GO_IMAGE=golang:1.26-bookworm

# runtime: the base, the packages and everything a build does not change;
# `make images` keeps it tagged as the build cache, so a new version
# downloads nothing and builds in seconds.
FROM ${BASE} AS runtime
# chromium runs the browser checks (the worker finds it in PATH; it runs
# with --no-sandbox, see internal/probe/browser); the fonts render what
# pages show: Latin, Greek, Cyrillic (liberation: metric-compatible with
# Arial, Times, Courier), most other scripts (noto-core), Chinese, Japanese,
# Korean (noto-cjk) and emoji (noto-color-emoji). ca-certificates for API
# checks over TLS; tini as PID 1 reaps Chromium's orphans and forwards
# SIGTERM to the worker.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates tini chromium \
      fonts-liberation fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && useradd --system --uid 65532 --user-group --home-dir /tmp --no-create-home \
      --shell /usr/sbin/nologin checkfleet
LABEL org.opencontainers.image.title="checkfleet-worker" \
      org.opencontainers.image.description="checkfleet worker: API and browser checks from SQS" \
      org.opencontainers.image.source="https://github.com/checkfleet/checkfleet"
# HOME on the tmpfs: Chromium writes its profile and crash dumps there.
ENV HOME=/tmp
USER 65532:65532
# /readyz on the worker's health port (CHECKFLEET_HEALTH_LISTEN, set per
# slot by the supervisor), asked by the worker binary itself: no curl here.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/worker", "healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/worker"]
CMD ["run"]

# prebuilt: the binary from the build context (make images), the version
# stamped (only these steps run for a new version: the rest is cached).
FROM runtime AS prebuilt
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.version="${VERSION}" org.opencontainers.image.revision="${REVISION}"
COPY worker /usr/local/bin/worker

# build: the binary from source, where a Go image can be pulled.
FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-X github.com/checkfleet/checkfleet/internal/buildinfo.Version=${VERSION}" \
      -o /out/worker ./cmd/worker

FROM runtime
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.version="${VERSION}" org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/worker /usr/local/bin/worker
