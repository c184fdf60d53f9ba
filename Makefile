# bpfload build, test and demo. Every Go build is static: CGO_ENABLED=0
# makes libcap's psx change capabilities on all threads through
# syscall.AllThreadsSyscall.
export CGO_ENABLED := 0

GO        ?= go
CLANG     ?= clang-19
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
BIN       := bin/bpfload
STATICCHECK_VERSION := v0.8.2

BPF_SRC := $(wildcard e2e/testdata/*.bpf.c examples/*/*.bpf.c bench/bpf/*.bpf.c)
BPF_OBJ := $(BPF_SRC:.c=.o)

FUZZ_TARGETS := FuzzManifest FuzzTrustPolicy FuzzSSHSignature FuzzSigstoreBundle
# A count, not a duration: with -fuzztime DURATION the fuzzing engine can
# fail with "context deadline exceeded" when time runs out mid-input.
FUZZTIME ?= 30000x

PREFIX  ?= /usr/local
DESTDIR ?=
# File capabilities for make install: permitted only (+p), never +e or setuid.
CAPS    ?= cap_bpf,cap_perfmon,cap_net_admin
IMAGE   ?= bpfload:$(VERSION)

.PHONY: all build bpf test unit e2e fuzz lint demo bench clean install uninstall image

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/bpfload

# eBPF objects are committed, so tests run where clang is absent; this
# rebuilds them (Debian: apt-get install clang-19 libbpf-dev) and updates
# the example manifests' digests.
bpf: $(BPF_OBJ)
	scripts/update-digests

%.bpf.o: %.bpf.c $(wildcard e2e/testdata/*.h)
	$(CLANG) -O2 -g -target bpf -I/usr/include/$(shell uname -m)-linux-gnu -Wall -Werror -c $< -o $@

# All tests: lint, unit tests, then the e2e tests, which run the built
# binary as root against the running kernel.
test: lint unit fuzz e2e

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /e2e)

e2e:
	$(GO) test -count=1 -v -timeout 20m ./e2e

# Each fuzz target for a few seconds; the committed corpus in
# policy/testdata/fuzz also runs as regression tests in `unit`.
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t for $(FUZZTIME)"; \
		$(GO) test ./policy -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

demo: build
	scripts/demo

# Benchmarks, as root: bpfload against a minimal cilium/ebpf loader and
# bpftool on three objects (ratios against baselines of the same run), then
# Go benchmarks of the parts bpfload owns. Needs bpftool (Debian: bpftool).
BENCH_RUNS ?= 7
bench:
	$(GO) run ./bench/harness -runs $(BENCH_RUNS)
	$(GO) test -run '^$$' -bench . -benchmem ./policy ./caps

# Installs the binary with file capabilities in the permitted set only:
# bpfload raises them itself, only as a signed manifest and the policy
# allow, and holds none afterwards.
install: build
	@case "$(CAPS)" in *[=+-]*) echo "CAPS lists names only, e.g. CAPS=cap_bpf,cap_perfmon; install adds +p itself"; exit 2;; esac
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/bpfload
	setcap $(CAPS)+p $(DESTDIR)$(PREFIX)/bin/bpfload
	getcap $(DESTDIR)$(PREFIX)/bin/bpfload

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/bpfload

# Builds deploy/Dockerfile where a container engine runs.
image:
	@if docker info >/dev/null 2>&1; then \
		docker build -f deploy/Dockerfile --build-arg VERSION=$(VERSION) -t $(IMAGE) . ; \
	else \
		echo "make image: no container engine answers here (docker info failed); nothing built"; exit 1; \
	fi

clean:
	rm -rf bin
