# qcc — see README.md. `make run` starts qccd in the foreground in front of a
# local fake Anthropic API; `make test` runs every test under the race detector
# and the data path once more without it.

GO      ?= go
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(DESTDIR)$(PREFIX)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/qcc-dev/qcc/internal/buildinfo.version=$(VERSION)
BIN     := bin

# Where `make install` puts things. The units name $(PREFIX)/bin/qccd and
# $(SYSCONFDIR)/qcc/clusters.toml, so they are rewritten to match.
OS          ?= $(shell uname -s)
ifeq ($(OS),Darwin)
SYSCONFDIR  ?= $(PREFIX)/etc
else
SYSCONFDIR  ?= /etc
endif
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DATADIR     ?= $(PREFIX)/share/qcc

# `make package`: .deb and .rpm in $(DIST). Untagged builds get version
# 0.0.0~git.COMMIT, which sorts below any release.
DIST        ?= dist
PKG_ARCH    ?= $(shell $(GO) env GOARCH)
PKG_VERSION ?= $(shell git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//; s/-/./g' | grep . || echo "0.0.0~git.$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)")
NFPM        ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

.PHONY: all build run test lint install package clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/qccd ./cmd/qcc ./cmd/fakeanthropic

# Runs qccd in the foreground with packaging/examples/demo.toml, behind which
# two fake Anthropic upstreams run on loopback: no network and no key needed.
run: build
	@./scripts/demo.sh $(BIN)

# internal/sockio makes raw system calls only in builds without the race
# detector, so the packages whose connections it runs are tested once more
# that way.
test:
	$(GO) test -race -count=1 -timeout 15m ./...
	$(GO) test -count=1 -timeout 5m ./internal/sockio ./internal/downstream ./internal/upstream ./internal/proxy ./internal/daemon ./internal/chaos

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

install: build
	install -d $(BINDIR)
	install -m 0755 $(BIN)/qccd $(BIN)/qcc $(BINDIR)/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 man/qcc.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/qccd.8 $(DESTDIR)$(MANDIR)/man8/
	@./packaging/install.sh '$(OS)' '$(DESTDIR)' '$(PREFIX)' '$(SYSCONFDIR)' '$(UNITDIR)' '$(SYSUSERSDIR)' '$(DATADIR)'

# Builds the Linux binaries and man pages into $(DIST)/stage and packs them
# with nfpm (packaging/nfpm.yaml), fetched and built by the Go toolchain.
package:
	rm -rf $(DIST)/stage && mkdir -p $(DIST)/stage/bin $(DIST)/stage/man
	CGO_ENABLED=0 GOOS=linux GOARCH=$(PKG_ARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/stage/bin/ ./cmd/qccd ./cmd/qcc
	gzip -9n -c man/qccd.8 > $(DIST)/stage/man/qccd.8.gz
	gzip -9n -c man/qcc.1 > $(DIST)/stage/man/qcc.1.gz
	for p in deb rpm; do \
		QCC_STAGE='$(abspath $(DIST)/stage)' QCC_VERSION='$(PKG_VERSION)' QCC_ARCH='$(PKG_ARCH)' \
			$(NFPM) pkg --config packaging/nfpm.yaml --packager $$p --target $(DIST)/ || exit 1; \
	done

clean:
	rm -rf $(BIN) $(DIST)

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
# The budget is a count of executions, not a duration: with a duration,
# Go 1.26's fuzz coordinator can report its own -fuzztime deadline as a
# failure ("context deadline exceeded", no crasher; go.dev/issue/75804,
# fixed in Go 1.27). A count never arms that deadline.
FUZZTIME ?= 500000x
FUZZ_TARGETS := internal/config:FuzzParse internal/proxy:FuzzHeaderPolicy \
	internal/sse:FuzzBoundary internal/sse:FuzzTracker internal/sse:FuzzUsage \
	internal/affinity:FuzzKey
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$pkg; \
	done
