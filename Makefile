# Presage — every entry point a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
GO ?= go
DIST ?= dist
FUZZTIME ?= 10s
BENCHTIME ?= 1s
# The module: WASI preview 1, a reactor, no debug info (-s -w) and no file paths (-trimpath).
WASM_FLAGS := -buildmode=c-shared -trimpath -ldflags='-s -w'
PRESAGE := $(DIST)/bin/presage

.PHONY: help demo test test-short check wasm size bench conformance fuzz clean tools

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

demo: ## train on simulated traffic, build the module, run simulated visitors through it in wazero
	$(GO) run ./cmd/presage demo

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
