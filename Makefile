# petset — see README.md.
GO ?= go
BIN := bin/petset

.PHONY: build helm k9s e2e-k9s charts e2e-charts up test unit integration e2e chaos chaos-ha fuzz vet verify bench parity clean bench-peer

build:
	$(GO) build -o $(BIN) ./cmd/petset

# helm v4 for the chart tests, from the Go module proxy (hack/tools is a
# module of its own: nothing of it is linked into petset).
helm:
	cd hack/tools && $(GO) build -o $(CURDIR)/bin/helm helm.sh/helm/v4/cmd/helm

# k9s for TestK9s (hack/k9s, its own module: k9s pins older k8s.io modules).
# Its build takes minutes of CPU, so it is checked on demand: make e2e-k9s.
k9s:
	cd hack/k9s && $(GO) build -o $(CURDIR)/bin/k9s github.com/derailed/k9s

e2e-k9s: build k9s
	PETSET_BIN=$(CURDIR)/$(BIN) PETSET_K9S=$(CURDIR)/bin/k9s $(GO) test -count=1 -v -run '^TestK9s$$' ./test/e2e/

# The Bitnami charts repository (TestPublicCharts, docs/charts.md) as the Go
# module proxy serves it: a 12 MB zip, about 5 s on a cold module cache.
# Downloaded from / so the module's go.mod and go.sum stay as they are.
CHARTS_VERSION := v0.0.0-20260907150927-c0703daaf78e
CHARTS_DIR = $(shell $(GO) env GOMODCACHE)/github.com/bitnami/charts@$(CHARTS_VERSION)/bitnami
charts:
	cd / && $(GO) mod download github.com/bitnami/charts@$(CHARTS_VERSION)

# All ten public charts of issue 11 (make e2e installs two of them).
e2e-charts: build helm charts
	PETSET_BIN=$(CURDIR)/$(BIN) PETSET_HELM=$(CURDIR)/bin/helm PETSET_CHARTS=$(CHARTS_DIR) PETSET_CHART_LIST=all \
		$(GO) test -count=1 -v -run '^TestPublicCharts$$' -timeout 30m ./test/e2e/

# Start petset on this machine (control plane + local node agent).
up: build
	./$(BIN) up

# Everything CI runs: static checks, unit, integration and e2e tests, a bounded fuzz run.
test: verify unit integration e2e fuzz

verify:
	@test -z "$$(gofmt -l cmd internal test examples)" || { gofmt -l cmd internal test examples; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	hack/verify-openapi.sh

unit:
	$(GO) test -count=1 -race $$($(GO) list ./... | grep -v -e /test/integration -e /test/e2e -e /test/bench)

integration:
	$(GO) test -count=1 ./test/integration/...

e2e: build helm charts
	PETSET_BIN=$(CURDIR)/$(BIN) PETSET_HELM=$(CURDIR)/bin/helm PETSET_CHARTS=$(CHARTS_DIR) $(GO) test -count=1 -timeout 40m ./test/e2e/...

# The long randomized fault test (docs/chaos.md): 30 faults by default,
# PETSET_CHAOS_FAULTS, PETSET_CHAOS_BOUND and PETSET_TEST_SEED (replay) apply.
chaos: build
	PETSET_BIN=$(CURDIR)/$(BIN) PETSET_CHAOS_FAULTS=$${PETSET_CHAOS_FAULTS:-30} $(GO) test -count=1 -v -run '^TestChaos$$' -timeout 90m ./test/e2e/

# The same on three servers (TestChaosHA, docs/chaos.md): 20 faults by default.
chaos-ha: build
	PETSET_BIN=$(CURDIR)/$(BIN) PETSET_CHAOS_FAULTS=$${PETSET_CHAOS_FAULTS:-20} $(GO) test -count=1 -v -run '^TestChaosHA$$' -timeout 90m ./test/e2e/

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRequest$$' -fuzztime 30s ./internal/apiserver/

# Upstream parity (docs/parity.md): petset's validation, defaulting and
# printing against k8s.io/kubernetes v1.37.2's, in the separate module
# hack/parity (it builds upstream's packages; on demand, not part of test).
parity:
	hack/parity/run.sh

bench: build
	PETSET_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench . -benchtime 1x ./test/bench/...

# petset beside upstream Kubernetes (issue 12, docs/bench/README.md): the
# peer's binaries are built once from the Go module proxy into bin/peer
# (bench/peer, a module of its own; heavy — tens of minutes on 2 cores),
# then bench/peer's runner measures both systems and writes the side-by-side
# section of docs/bench/REPORT.md. Not part of test or CI.
# PEERBENCH_FLAGS: e.g. -runs 5, -w3, -systems petset,peer-tuned.
bench-peer: build
	bench/peer/build.sh $(CURDIR)/bin/peer
	cd bench/peer && $(GO) build -o $(CURDIR)/bin/peerbench ./cmd/peerbench
	bin/peerbench -peer-bin bin/peer -petset-bin $(BIN) $(PEERBENCH_FLAGS)

clean:
	rm -rf bin
