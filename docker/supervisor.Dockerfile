# The checkfleet supervisor image: the static supervisor binary on Debian
# bookworm with CA certificates, tini as PID 1 and a non-root user. It
# manages the host's worker containers through the Docker socket, so it runs
# with the socket mounted, its group added, and the host's network (it asks
# every worker's health port on the host's loopback):
#
#   docker run -d --name checkfleet-supervisor --network host \
#     -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -v /var/lib/checkfleet:/var/lib/checkfleet -v /run/checkfleet:/run/checkfleet \
#     --env-file /etc/checkfleet/supervisor.env --stop-timeout 360 checkfleet-supervisor:v1.4.2
#
# (deploy/systemd runs the same binary outside a container.) Build as
# docker/worker.Dockerfile says: `make images TAG=...` here, or from the
# repository root where a registry answers:
#
#   docker build -f docker/supervisor.Dockerfile --build-arg BASE=debian:bookworm-slim \
#     --build-arg VERSION=v1.4.2 -t checkfleet-supervisor:v1.4.2 .
ARG BASE=checkfleet-base:bookworm
ARG GO_IMAGE=golang:1.26-bookworm

FROM ${BASE} AS runtime
# CA certificates for AWS and webhooks over TLS, tini as PID 1; the local
# base has both already (no download), debian:bookworm-slim has neither.
RUN (dpkg -s ca-certificates tini >/dev/null 2>&1 || { apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates tini \
      && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; }) \
 && useradd --system --uid 65532 --user-group --home-dir /var/lib/checkfleet --no-create-home \
      --shell /usr/sbin/nologin checkfleet \
 && install -d -o 65532 -g 65532 -m 0700 /var/lib/checkfleet \
 && install -d -o 65532 -g 65532 -m 0750 /run/checkfleet

LABEL org.opencontainers.image.title="checkfleet-supervisor" \
      org.opencontainers.image.description="checkfleet supervisor: keeps a host's worker containers running and upgrades them" \
      org.opencontainers.image.source="https://github.com/checkfleet/checkfleet"
ENV CHECKFLEET_STATE_DIR=/var/lib/checkfleet \
    CHECKFLEET_SOCKET=/run/checkfleet/supervisor.sock \
    CHECKFLEET_RUNTIME=docker
USER 65532:65532
# Healthy while the agent answers on its control socket (every slot need
# not be ready: an upgrade or a crashing worker is not the supervisor's ill
# health; `supervisor status --wait-ready` is the readiness gate).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/supervisor", "status"]
# SIGTERM drains every worker (up to --drain-timeout): give `docker stop`
# a --stop-timeout above it.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/supervisor"]
CMD ["run"]

# prebuilt: the binary from the build context (make images), the version
# stamped (only these steps run for a new version: the rest is cached).
FROM runtime AS prebuilt
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.version="${VERSION}" org.opencontainers.image.revision="${REVISION}"
COPY supervisor /usr/local/bin/supervisor

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-X github.com/checkfleet/checkfleet/internal/buildinfo.Version=${VERSION}" \
      -o /out/supervisor ./cmd/supervisor

FROM runtime
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.version="${VERSION}" org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/supervisor /usr/local/bin/supervisor
