# Presage — every entry point a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
GO ?= go
DIST ?= dist
FUZZTIME ?= 10s
BENCHTIME ?= 1s
# The module: WASI preview 1, a reactor, no debug info (-s -w), no file paths (-trimpath), the Go
# runtime not inlined (runtime=-l: its tables compress far better; internal/modbuild is the reference).
WASM_FLAGS := -buildmode=c-shared -trimpath -gcflags=runtime=-l -ldflags='-s -w'
PRESAGE := $(DIST)/bin/presage

.PHONY: help demo test test-short check wasm size bench conformance fuzz clean tools

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# DEMO_FLAGS passes flags to `presage demo`: -no-serve (CI: stop after the simulated visitors),
# -addr HOST:PORT (default localhost:8080), -dir DIR (default dist/demo).
demo: ## train on simulated traffic, build the module, run simulated visitors in wazero, then serve the demo shop and the sync server (Ctrl-C stops)
	$(GO) run ./cmd/presage demo $(DEMO_FLAGS)

test: tools ## all the tests: unit, race (host pool), module conformance, examples
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race -short ./runtime/... ./agent/... ./internal/minicbor/...
	GOWASM=satconv,signext GOOS=wasip1 GOARCH=wasm $(GO) build -o /dev/null $(WASM_FLAGS) ./wasm

test-short: ## the fast tests only
	$(GO) test -short ./...

tools: ## install what the tests need and is missing (safe to run twice)
	@command -v gcc >/dev/null || { echo "installing gcc (for -race)"; apt-get update -qq && apt-get install -y -qq gcc >/dev/null; }
	@command -v brotli >/dev/null || { echo "installing brotli (for size reports)"; apt-get update -qq && apt-get install -y -qq brotli >/dev/null || true; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "installing postgresql (the sync store's PostgreSQL tests; skipped without it)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null || true; }
	@command -v chromium >/dev/null || { echo "installing chromium (for jsbridge's real-browser tests)"; apt-get update -qq && apt-get install -y -qq chromium >/dev/null || true; }
	@[ -d jsbridge/node_modules/esbuild ] || ! command -v npm >/dev/null || { echo "installing esbuild (npm ci, to check jsbridge's built presage.js)"; (cd jsbridge && npm ci --no-audit --no-fund --loglevel=error) || true; }
	@# npm ci refuses a lock file without the optional packages of other platforms (darwin, windows), which a
	@# registry mirror may not carry; npm install --no-save then installs the same locked versions.
	@[ -d examples/cloudflare-worker/node_modules ] || ! command -v npm >/dev/null || { echo "installing workerd (npm ci, for the Worker example's tests)"; (cd examples/cloudflare-worker && { npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-save --no-audit --no-fund --loglevel=error; }) || true; }

check: ## gofmt, vet, go mod tidy, the module's import rules, cross-builds
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
	GOWASM=satconv,signext GOOS=wasip1 GOARCH=wasm $(GO) build -o /dev/null $(WASM_FLAGS) ./wasm
	GOOS=js GOARCH=wasm $(GO) build ./agent/... ./models ./internal/minicbor ./internal/detmath
	$(GO) test -count=1 -run 'TestModuleImports|TestModuleLinked' ./conformance

$(PRESAGE): $(shell git ls-files '*.go' 2>/dev/null) go.mod
	@mkdir -p $(DIST)/bin
	$(GO) build -o $@ ./cmd/presage

wasm: $(PRESAGE) ## write dist/presage.wasm with the demo bundle compiled in
	$(PRESAGE) keygen -dir $(DIST)/keys -if-missing
	$(PRESAGE) train simulated -key $(DIST)/keys/presage.key -o $(DIST)/bundle.cbor
	$(PRESAGE) build -bundle $(DIST)/bundle.cbor -public-key $(DIST)/keys/presage.pub -o $(DIST)

size: $(PRESAGE) ## the module's size with the budget bundle: 1,000 items x 20 neighbours, 1,000 categories x 32 factors, 3 models
	$(PRESAGE) keygen -dir $(DIST)/keys -if-missing
	$(PRESAGE) train simulated -key $(DIST)/keys/presage.key -o $(DIST)/budget/bundle.cbor -items 1000 -categories 1000 -rank 32 -visitors 6000 -seed 3
	$(PRESAGE) build -bundle $(DIST)/budget/bundle.cbor -public-key $(DIST)/keys/presage.pub -o $(DIST)/budget
	$(PRESAGE) size $(DIST)/budget/presage.wasm

bench: ## the benchmarks (BENCHTIME=1s): scoring, one event native vs module, pool, size
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./internal/budget ./models/... ./agent/... ./runtime/... ./internal/minicbor/...
	$(MAKE) --no-print-directory size

conformance: ## replay testdata/vectors natively and in the module (wazero): byte-identical answers
	$(GO) test -count=1 -run 'TestConformance' -v ./conformance

fuzz: ## run every fuzz target for FUZZTIME each (default 10s)
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; done; done

clean: ## remove build outputs
	rm -rf $(DIST)

# Results on public datasets (read from PRESAGE_DATASETS, default ../shared/datasets; never copied
# here). Each prints its figures against the published targets, writes dist/eval/<name>/report.html
# and summary.json, and fails if a target is missed.
.PHONY: eval-cdnow eval-retail eval-groceries

eval-cdnow: $(PRESAGE) ## CDNOW: BG/NBD + Gamma-Gamma parameters from the raw log vs Fader, Hardie & Lee
	$(PRESAGE) eval cdnow -o $(DIST)/eval/cdnow

eval-retail: $(PRESAGE) ## Online Retail: item-to-item HR@10/NDCG@10 vs popularity, BG/NBD and P(alive)
	$(PRESAGE) eval retail -o $(DIST)/eval/retail

eval-groceries: $(PRESAGE) ## Groceries: co-occurrence counts vs the published 150 two-item rules
	$(PRESAGE) eval groceries -o $(DIST)/eval/groceries

# Online Shoppers (UCI 468): logistic regression vs boosted trees on a stratified 80/20 split
# (seed 1) and 5-fold CV, then the chosen model scored in the module and checked against native.
# The columns left out (-drop) were chosen by cross-validation inside the split's training part only
# (go test -tags shopsearch -run TestShoppersColumnSearch -v ./models/train).
SHOPPERS_CSV = $(or $(PRESAGE_DATASETS),../shared/datasets)/online-shoppers/online_shoppers_intention.csv
.PHONY: eval-shoppers
eval-shoppers: $(PRESAGE) ## Online Shoppers: held-out AUC, log loss, Brier, ECE of logistic vs trees; module vs native scores
	$(PRESAGE) keygen -dir $(DIST)/keys -if-missing
	$(PRESAGE) train propensity -data $(SHOPPERS_CSV) -label Revenue -categorical OperatingSystems,Browser,Region,TrafficType \
	  -drop OperatingSystems,Browser,Region,Administrative_Duration,BounceRates \
	  -seed 1 -test 0.2 -cv 5 -kind auto -key $(DIST)/keys/presage.key -o $(DIST)/eval/shoppers/bundle.cbor -json $(DIST)/eval/shoppers/summary.json
	$(PRESAGE) score -bundle $(DIST)/eval/shoppers/bundle.cbor -public-key $(DIST)/keys/presage.pub -data $(SHOPPERS_CSV) \
	  -o $(DIST)/eval/shoppers/scores.csv -compare
