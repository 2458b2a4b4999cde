# otelcol-jeeves: the two set-up commands are `make run` and `make test` (see README.md).
GO        ?= go
# The build's Go: go1.27.3, fetched by the go command from the module proxy (go1.26.8's standard
# library has reachable vulnerabilities behind the OTLP ports; see docs/security.md).
export GOTOOLCHAIN := go1.27.3
BIN       := $(CURDIR)/bin
COLLECTOR := $(BIN)/otelcol-jeeves
LOADGEN   := $(BIN)/jeeves-loadgen
WEBHOOK   := $(BIN)/jeeves-alert-webhook
CONFIG    ?= configs/otelcol-jeeves.yaml
TEST_TIMEOUT ?= 45m

.PHONY: all build run test test-load sampling-plot check-dist generate-dist generate generate-k8s vet lint vuln race test-deps bench clean image-smoke bench-pipeline test-k8s

all: build

## build: the collector (OCB output in cmd/otelcol-jeeves) and the traffic generator into bin/;
## then the collector must accept the default config (every component it names is in the build).
## scripts/build-collector.sh stamps the commit and the collector release into `--version`.
build:
	./scripts/build-collector.sh $(COLLECTOR)
	$(GO) build -trimpath -o $(LOADGEN) ./cmd/jeeves-loadgen
	$(GO) build -trimpath -o $(WEBHOOK) ./cmd/jeeves-alert-webhook
	$(COLLECTOR) validate --config configs/otelcol-jeeves.yaml

## run: build, then run the collector on the default config (Ctrl-C stops it).
run: build
	$(COLLECTOR) --config $(CONFIG)

## test: everything CI runs — generated-code drift, vet, unit, config and end-to-end tests.
test: test-deps check-dist vet lint vuln build image-smoke race test-k8s
	OTELCOL_JEEVES_BIN=$(COLLECTOR) JEEVES_ALERT_WEBHOOK_BIN=$(WEBHOOK) \
		$(GO) test -timeout $(TEST_TIMEOUT) ./...

## race: the component and library tests under the race detector (the e2e suite runs the binary).
race:
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./processor/... ./receiver/... ./internal/... ./cmd/...

## test-k8s: deploy/kubernetes without a cluster: renders the kustomization, decodes every object
## strictly into the Kubernetes API types, checks it against the collector configs and validates
## those with bin/otelcol-jeeves. Its own Go module (kustomize stays out of the collector's go.mod).
K8S_TEST := deploy/kubernetes/test
test-k8s: build
	cd $(K8S_TEST) && OTELCOL_JEEVES_BIN=$(COLLECTOR) $(GO) test -count=1 ./...

## generate-k8s: copy the collector configs into deploy/kubernetes/configs (kustomize reads only
## files under its directory); test-k8s fails when a copy differs from its original.
K8S_CONFIGS := otelcol-jeeves.yaml otelcol-jeeves-router.yaml
generate-k8s:
	for f in $(K8S_CONFIGS); do cp configs/$$f deploy/kubernetes/configs/$$f; done

## test-deps: install what the tests need on a fresh machine (Debian packages); no-op when present.
test-deps:
	./scripts/install-test-deps.sh

## lint: golangci-lint (pinned v2.15.0, installed into $(GOBIN_DIR) when missing) with its standard linters.
GOBIN_DIR     := $(shell $(GO) env GOPATH)/bin
GOLANGCI_LINT := $(GOBIN_DIR)/golangci-lint
GOLANGCI_VERSION := v2.15.0
lint:
	@$(GOLANGCI_LINT) version 2>/dev/null | grep -q "version $(patsubst v%,%,$(GOLANGCI_VERSION))" || \
		$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	$(GOLANGCI_LINT) run --default standard --max-issues-per-linter 0 --max-same-issues 0 ./...
	cd $(K8S_TEST) && $(GOLANGCI_LINT) run --default standard --max-issues-per-linter 0 --max-same-issues 0 ./...

## vuln: govulncheck (pinned v1.9.0, installed into $(GOBIN_DIR) when missing) over both modules
## that ship code, the root module and the collector's (cmd/otelcol-jeeves), against a local copy
## of the Go vulnerability database built by scripts/build-vulndb.sh (cached; no network at scan
## time). Fails on any vulnerability the code can reach (symbol level); see docs/security.md.
GOVULNCHECK         := $(GOBIN_DIR)/govulncheck
GOVULNCHECK_VERSION := v1.9.0
vuln:
	@$(GOVULNCHECK) -version 2>/dev/null | grep -q "govulncheck@$(GOVULNCHECK_VERSION)$$" || \
		$(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	@db=$$(./scripts/build-vulndb.sh) && \
		echo "govulncheck: root module" && $(GOVULNCHECK) -db "file://$$db" ./... && \
		echo "govulncheck: cmd/otelcol-jeeves" && cd cmd/otelcol-jeeves && $(GOVULNCHECK) -db "file://$$db" ./...

## generate-dist: regenerate cmd/otelcol-jeeves from builder-config.yaml with the pinned OCB.
generate-dist:
	$(GO) tool builder --config builder-config.yaml --skip-compilation

## check-dist: fail when cmd/otelcol-jeeves differs from what OCB generates from the manifest.
check-dist: generate-dist
	@git diff --exit-code --stat -- cmd/otelcol-jeeves || \
		(echo "cmd/otelcol-jeeves drifted from builder-config.yaml: run 'make generate-dist' and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- cmd/otelcol-jeeves)" || \
		(echo "untracked files in cmd/otelcol-jeeves:" >&2; git status --porcelain -- cmd/otelcol-jeeves >&2; exit 1)

## generate: regenerate mdatagen output, the Grafana dashboards and the SLO rules.
generate:
	$(GO) generate ./processor/... ./receiver/... ./internal/...

## vet: go.mod tidy and go vet (in both modules: the collector's and deploy/kubernetes/test), and
## gofmt over every Go file we write (OCB output is left as generated).
vet:
	$(GO) mod tidy -diff
	$(GO) vet ./...
	cd $(K8S_TEST) && $(GO) mod tidy -diff && $(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' ':!cmd/otelcol-jeeves')); \
		if [ -n "$$unformatted" ]; then echo "gofmt needed:" >&2; echo "$$unformatted" >&2; exit 1; fi

## bench: the component benchmarks quoted in the component READMEs.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./processor/... ./receiver/...

## sampling-plot: the budget convergence test writes docs/sampling-budget.png (docs/sampling.md).
sampling-plot:
	JEEVES_BUDGET_PLOT=$(CURDIR)/docs/sampling-budget.png $(GO) test -count=1 -run TestBudgetConvergence ./processor/jeevesprocessor/internal/sampler/

## test-load: runs kept out of `make test` until they are reliable on a loaded machine (the
## 100,000-trace sampling run, the full queue store) and the 100,000-trace LLM cost run.
test-load: build
	JEEVES_LOAD_TESTS=1 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -run 'TestSampling100kLoadgenTraces|TestLLMCostExactAgainstLoadgenManifest' ./processor/jeevesprocessor/
	JEEVES_LOAD_TESTS=1 OTELCOL_JEEVES_BIN=$(COLLECTOR) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -run 'TestFullQueueStoreRefusesAndCounts|TestLLMCostEqualsManifest' ./test/e2e/

## bench-pipeline: whole-binary CPU per span, peak RSS and spans forwarded of otelcol-jeeves and a
## contrib collector on one loadgen workload (~12 min; not part of `make test`). Builds bin/ unless
## JEEVES_BIN is set; see scripts/bench-pipeline.sh and docs/performance.md#whole-binary.
bench-pipeline: $(if $(JEEVES_BIN),,build)
	./scripts/bench-pipeline.sh

clean:
	rm -rf $(BIN)

## image-smoke: the Dockerfile's build and run steps without a Docker engine.
image-smoke:
	./scripts/image-smoke.sh
