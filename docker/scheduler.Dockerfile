# The checkfleet control plane image (`scheduler serve`): the static
# scheduler binary on Debian bookworm with CA certificates, tini as PID 1
# and a non-root user. It serves the status page, API and /metrics on
# :8080; its settings arrive as CHECKFLEET_* variables, e.g.
#
#   docker run -d -p 127.0.0.1:8080:8080 -v /etc/checkfleet:/etc/checkfleet:ro \
#     -e CHECKFLEET_CHECKS=/etc/checkfleet/checks.yaml -e CHECKFLEET_STORE=postgres://... \
#     -e CHECKFLEET_JOBS_QUEUE=eu-west-1=https://sqs... -e CHECKFLEET_RESULTS_QUEUE=https://sqs... \
#     -e AWS_REGION=eu-west-1 checkfleet-scheduler:v1.4.2
#
# (a SQLite store, the default, lives in /var/lib/checkfleet: mount a
# volume there). Build as docker/worker.Dockerfile says: `make images
# TAG=...` here, or from the repository root where a registry answers:
#
#   docker build -f docker/scheduler.Dockerfile --build-arg BASE=debian:bookworm-slim \
#     --build-arg VERSION=v1.4.2 -t checkfleet-scheduler:v1.4.2 .
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
 && install -d -o 65532 -g 65532 -m 0700 /var/lib/checkfleet

LABEL org.opencontainers.image.title="checkfleet-scheduler" \
      org.opencontainers.image.description="checkfleet control plane: schedules checks, records results, serves the status page and API" \
      org.opencontainers.image.source="https://github.com/checkfleet/checkfleet"
ENV CHECKFLEET_LISTEN=:8080
WORKDIR /var/lib/checkfleet
USER 65532:65532
EXPOSE 8080
# /readyz on CHECKFLEET_LISTEN, asked by the scheduler binary itself.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/scheduler", "healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/scheduler"]
CMD ["serve"]

# prebuilt: the binary from the build context (make images), the version
# stamped (only these steps run for a new version: the rest is cached).
FROM runtime AS prebuilt
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.version="${VERSION}" org.opencontainers.image.revision="${REVISION}"
COPY scheduler /usr/local/bin/scheduler

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-X github.com/checkfleet/checkfleet/internal/buildinfo.Version=${VERSION}" \
      -o /out/scheduler ./cmd/scheduler

FROM runtime
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.version="${VERSION}" org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/scheduler /usr/local/bin/scheduler
