# ctxguard — run `make help` for the targets.

GO        ?= go
BIN       := bin/ctxguard
PKGS      := ./...
FUZZTIME  ?= 30s
NODE_DIR  := tools/node
CONFORMANCE_DIR := tools/conformance

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build bin/ctxguard.
	$(GO) build -o $(BIN) ./cmd/ctxguard

.PHONY: demo
demo: build ## Run the demo: a signed knowledge base behind the filter, read by a scripted client; then the review UI (on a terminal).
	./$(BIN) demo

.PHONY: deps
deps: $(NODE_DIR)/node_modules/.installed $(CONFORMANCE_DIR)/node_modules/.installed ## Install the npm MCP peers and the conformance suite the tests use (into tools/).

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	touch $@

$(CONFORMANCE_DIR)/node_modules/.installed: $(CONFORMANCE_DIR)/package.json $(CONFORMANCE_DIR)/package-lock.json
	cd $(CONFORMANCE_DIR) && npm ci --no-audit --no-fund
	touch $@

# The Go SDK's conformance fixture server, at the SDK version go.mod uses.
bin/everything-server: go.mod
	GOBIN=$(CURDIR)/bin $(GO) install github.com/modelcontextprotocol/go-sdk/conformance/everything-server@$$($(GO) list -m -f '{{.Version}}' github.com/modelcontextprotocol/go-sdk)

.PHONY: conformance
conformance: build deps bin/everything-server ## The official MCP conformance suite, directly and through ctxguard proxy: the same results both ways.
	$(CONFORMANCE_DIR)/run.sh

.PHONY: lint
lint: ## gofmt and go vet.
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

.PHONY: test
test: deps lint ## All tests, with the race detector (installs the npm peers first), then the conformance suite through the proxy.
	$(GO) test -race -count=1 -timeout 15m $(PKGS)
	$(MAKE) conformance

.PHONY: bench
bench: build ## Benchmarks: the filter's hot path, the stdio relay and ctxguard proxy (its own process) side by side with direct connections.
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	$(GO) run ./cmd/ctxguard-bench
	$(GO) run ./cmd/ctxguard-bench http

.PHONY: fuzz
# Each new interesting input is minimised for up to -fuzzminimizetime
# (Go's default: 60 s), during which no new input runs: with the default a
# 30 s session can spend nearly all its time minimising. FUZZMINIMIZE keeps
# the time for fuzzing.
FUZZMINIMIZE ?= 2s

fuzz: ## Run every fuzz target for FUZZTIME each (default 30s).
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg; \
	  done; \
	done

.PHONY: clean
clean: ## Remove built files.
	rm -rf bin
