# checkfleet — see README.md. `make run` and `make test` are the two commands
# a newcomer needs; the rest are for people working on the code.

GO          ?= go
BIN         := bin
BINARIES    := scheduler worker supervisor
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X github.com/checkfleet/checkfleet/internal/buildinfo.Version=$(VERSION)
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages with benchmarks that `make bench` runs, and how long each runs.
BENCH_PKGS  ?= ./...
BENCHTIME   ?= 3s
FUZZTIME    ?= 30s

.PHONY: all build run test unit lint bench fuzz chaos clean base-image images

all: build

## build: the three binaries into bin/
build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(BINARIES))

## run: everything locally on embedded defaults (scheduler dev)
run: build
	$(BIN)/scheduler dev

## test: lint, then unit and integration tests with the race detector
test: lint
	$(GO) test -race -count=1 -timeout 25m ./...

## unit: the tests without lint, for a quick loop
unit:
	$(GO) test -count=1 ./...

## lint: gofmt, go vet, staticcheck
lint:
	@out="$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt: these files need formatting:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

## bench: the figures (throughput, latency), with the machine they ran on;
## one package at a time (-p 1), so no benchmark shares the 2 cores with another
bench:
	@echo "machine: $$(uname -srm); $$(nproc) cores: $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); $$(awk '/MemTotal/ {printf "%.0f GiB", $$2/1048576}' /proc/meminfo); $$($(GO) version | cut -d' ' -f3)"
	$(GO) test -p 1 -run '^$$' -bench . -skip '^BenchmarkWorkerProcess$$' -benchtime $(BENCHTIME) $(BENCH_PKGS)
	@echo "== worker throughput: 20,000 API checks per run, three runs, the worker's defaults, results counted by run id"
	$(GO) test -run '^$$' -bench '^BenchmarkWorkerProcess$$' -benchtime 20000x -count 3 -timeout 30m ./cmd/worker/

## fuzz: each fuzz target for FUZZTIME (seeds alone run in `make test`)
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

## chaos: the chaos suite for CHAOS_DURATION (default 20m; `make test` and CI run
## 3m): faults at random while checks run, then every run judged by run id.
## CHECKFLEET_CHAOS_SEED=N replays a run's faults; CHECKFLEET_CHAOS_RUNTIME=process
## runs the workers as processes instead of on Docker
CHAOS_DURATION ?= 20m
chaos:
	CHECKFLEET_CHAOS_DURATION=$(CHAOS_DURATION) $(GO) test -count=1 -v -run '^TestChaos$$' -timeout 60m ./internal/chaos/

## base-image: the Debian bookworm base of the images, checkfleet-base:bookworm
## (pulled, or built with debootstrap + docker import where no registry
## answers; nothing to do when present). See docker/README.md
base-image:
	docker/base-image.sh

## images: checkfleet-worker, checkfleet-supervisor and checkfleet-scheduler
## tagged TAG (default VERSION): the binaries built here, each image assembled
## around its binary on the local base (no registry needed)
TAG ?= $(VERSION)
images:
	TAG='$(TAG)' VERSION='$(VERSION)' GO='$(GO)' docker/images.sh

## screenshot: the status, check and result pages with demo data as PNG files in var/screenshots (needs chromium)
.PHONY: screenshot
screenshot:
	$(GO) run ./internal/web/cmd/screenshot -out var/screenshots

clean:
	rm -rf $(BIN)

## terraform-check: deploy/terraform's checks (fmt, tflint, HCL invariants,
## the user data in a container); `terraform fmt -recursive deploy/terraform` fixes formatting
.PHONY: terraform-check
terraform-check:
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(GO) test -count=1 ./deploy/terraform/
