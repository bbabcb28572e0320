# The two commands of the README: `make run` and `make test`.
GO        ?= go
DATA      ?= ./data
LISTEN    ?= 127.0.0.1:8080
TESTFLAGS ?= -race -count=1 -timeout 25m
# Stamped into `openwrt-ppa version`, so a bug report names the build.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS   ?= -X main.version=$(VERSION) -X main.commit=$(COMMIT)
STANDIN   ?= openwrt-ppa/sdk-standin:latest
# The service's image (`make image`); never `latest`, so a cluster's IfNotPresent pull policy uses the imported one.
IMAGE     ?= openwrt-ppa/openwrt-ppa:$(VERSION)
# controller-gen makes the deepcopy code of api/ and the CRD manifests of the chart; run, not
# required in go.mod, so the service does not depend on it. api/v1alpha1's test reads this line.
CONTROLLER_GEN_VERSION ?= v0.23.0
CONTROLLER_GEN ?= $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
CRD_DIR   ?= charts/openwrt-ppa/crds

export TESTCONTAINERS_RYUK_DISABLED = true

.PHONY: all build run test bench lint fuzz sdk-standin image generate clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/openwrt-ppa ./cmd/openwrt-ppa

# Starts the whole service on the embedded default (SQLite in $(DATA)); no other server needed.
run: build
	./bin/openwrt-ppa serve --data $(DATA) --listen $(LISTEN)

# Every test (-count=1: Docker, Redis or a browser may have changed under a cached pass), including those that need a Docker engine, redis-server, signify-openbsd or
# chromium: they skip loudly when a part is missing, and fail instead when CI is set.
test: lint
	$(GO) test $(TESTFLAGS) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files -o --exclude-standard '*.go' 2>/dev/null)); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# A short run of every fuzz target (go test allows one target per run).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime 20s -fuzzminimizetime 5s $$pkg || exit 1; \
	  done; \
	done

# The SDK stand-in image (a test fixture, not an SDK) for `openwrt-ppa build --image $(STANDIN)`.
sdk-standin:
	$(GO) run ./internal/testenv/cmd/standin -tag $(STANDIN)

# The service's image from the static binary on an empty base (Dockerfile), with the local Docker
# engine and no network: load it into a cluster with `docker save $(IMAGE) | ctr -n k8s.io images import -`.
image:
	rm -rf bin/image && mkdir -p bin/image/tmp && chmod 1777 bin/image/tmp
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' -o bin/image/openwrt-ppa ./cmd/openwrt-ppa
	cp /etc/ssl/certs/ca-certificates.crt bin/image/
	docker build --network none -t $(IMAGE) -f Dockerfile bin/image

# The generated code and manifests of the custom resources (committed; a test fails when stale).
generate:
	$(CONTROLLER_GEN) object paths=./api/...
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:dir=$(CRD_DIR)

clean:
	rm -rf bin
