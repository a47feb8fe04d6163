# qcc — see README.md. `make run` starts qccd in the foreground in front of a
# local fake Anthropic API; `make test` runs every test under the race detector.

GO      ?= go
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(DESTDIR)$(PREFIX)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/qcc-dev/qcc/internal/buildinfo.version=$(VERSION)
BIN     := bin

.PHONY: all build run test lint install clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/qccd ./cmd/qcc ./cmd/fakeanthropic

# Runs qccd in the foreground with packaging/examples/demo.toml, behind which
# two fake Anthropic upstreams run on loopback: no network and no key needed.
run: build
	@./scripts/demo.sh $(BIN)

test:
	$(GO) test -race -count=1 -timeout 15m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

install: build
	install -d $(BINDIR)
	install -m 0755 $(BIN)/qccd $(BIN)/qcc $(BINDIR)/

clean:
	rm -rf $(BIN)

# Performance and resilience evidence; see docs/performance.md.
.PHONY: bench soak chaos fuzz

# Compares qccd with nginx and the upstream itself on loopback and prints
# one table; installs Debian's nginx when it is missing. BENCHFLAGS adds
# qccbench flags, e.g. BENCHFLAGS='-rounds 3 -profile /tmp/prof'.
bench: build
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; }
	$(GO) build -o $(BIN)/ ./cmd/qccbench
	$(BIN)/qccbench -qccd $(BIN)/qccd $(BENCHFLAGS)

# Ten minutes of mixed load with a reload every 10 s, sampling qccd's RSS,
# threads and open fds; SOAK=2m for a short one.
SOAK ?= 10m
soak: build
	$(GO) build -o $(BIN)/ ./cmd/qccbench
	$(BIN)/qccbench -qccd $(BIN)/qccd -soak $(SOAK)

# The chaos suite at full size: 2,000 requests against three fake
# upstreams, two failing at random (make test runs a small one).
CHAOS ?= 2000
chaos:
	$(GO) test -race -count=1 -v -run TestChaos ./internal/chaos -chaos.requests $(CHAOS)

# Runs every fuzz target for FUZZTIME each; a crasher lands in the
# package's testdata/fuzz and from then on runs as a regression test.
FUZZTIME ?= 30s
FUZZ_TARGETS := internal/config:FuzzParse internal/proxy:FuzzHeaderPolicy \
	internal/sse:FuzzBoundary internal/sse:FuzzTracker internal/affinity:FuzzKey
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$pkg; \
	done
