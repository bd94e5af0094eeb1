# The Makefile is the index of what can be done here; each target runs one hack/ script
# or one go command. `make help` lists them.

SHELL := /usr/bin/env bash
GO    ?= go
# Built upstream binaries are cached outside the repository (see docs/design.md).
export EPKS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/epks

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build epks, epks-port-tagger and viosim into _output/bin.
	$(GO) build -o _output/bin/ ./cmd/...

.PHONY: verify
verify: ## gofmt and go vet.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
