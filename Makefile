# The Makefile is the index of what can be done here; each target runs one hack/ script or
# one go command. `make help` lists them.

SHELL := /usr/bin/env bash
GO    ?= go
# Built upstream binaries are cached outside the repository (see docs/design.md).
export EPKS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/epks
# Integration tests start local clusters; give them time on a 2-core machine.
TEST_TIMEOUT ?= 30m

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

##@ Main jobs

.PHONY: demo
demo: tools build ## Start the local control plane and install the add-ons into it (the README's main job).
	hack/demo.sh

.PHONY: test
test: tools verify test-unit test-integration ## Everything CI runs: checks, unit and integration tests.

##@ Building

.PHONY: build
build: ## Build epks into _output/bin.
	$(GO) build -o _output/bin/ ./cmd/...

.PHONY: images
images: ## OCI image tarballs of epks and the port tagger into _output/images, no container engine (VERSION, REGISTRY).
	$(GO) run ./hack/build-images $(if $(VERSION),-version $(VERSION)) $(if $(REGISTRY),-registry $(REGISTRY)) $(if $(IMAGES_DIR),-out $(IMAGES_DIR))

.PHONY: tools
tools: ## Build the pinned upstream binaries (etcd, Kubernetes, kwok, helm, OCCM, cinder-csi) into $(EPKS_CACHE).
	hack/build-tools.sh

##@ Tests

.PHONY: test-unit
test-unit: ## Unit tests (fast; helm lint/template tests need `make tools`).
	$(GO) test ./...

.PHONY: test-integration
test-integration: ## Integration tests against the local control plane.
	$(GO) test -tags integration -timeout $(TEST_TIMEOUT) ./...

.PHONY: verify
verify: ## gofmt, go vet, and the Kubernetes module line kept at 0.36.
	hack/verify.sh

##@ Simulator

.PHONY: viosim
viosim: ## Serve the simulated VIO and NSX-T Manager on loopback (writes _output/viosim/viosim-params.yaml).
	$(GO) run ./cmd/viosim --dir _output/viosim $(VIOSIM_FLAGS)

##@ Local control plane

.PHONY: cluster-up
cluster-up: tools ## Start the local control plane in the background (NODES=3).
	$(GO) run ./hack/localcluster up --nodes $(or $(NODES),3)

.PHONY: cluster-status
cluster-status: ## Show its processes; a crashed one with the end of its log.
	$(GO) run ./hack/localcluster status

.PHONY: cluster-down
cluster-down: ## Stop it by its process ids and remove its files.
	$(GO) run ./hack/localcluster down

##@ Generated files (tests fail when they are stale)

.PHONY: generate
generate: manifests cloud-init chart-docs docs ## Regenerate every generated file.

.PHONY: manifests
manifests: ## manifests/base, the kustomize base rendered from the chart.
	$(GO) run ./hack/update-manifests

.PHONY: cloud-init
cloud-init: ## manifests/cloud-init, the plain snippets of the node user data.
	$(GO) run ./hack/update-cloud-init

.PHONY: chart-docs
chart-docs: ## charts/epks-addons/README.md from values.yaml.
	$(GO) run ./hack/chart-docs

.PHONY: docs
docs: ## docs/parameters.md from pkg/params.
	$(GO) run ./hack/param-docs

.PHONY: crds
crds: ## Copy the snapshot CRDs from the pinned external-snapshotter client module.
	hack/update-crds.sh
