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
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

##@ Main jobs

.PHONY: demo
demo: tools ## The README's main job: viosim, the local control plane, epks install, the real cloud components, a LoadBalancer, a volume, a snapshot, a restore; then a report (KEEP=1 keeps it all running until Ctrl-C; IP_ACCESS=1 reaches VIO by IP instead of host names).
	$(GO) run ./hack/demo --dir _output/demo $(if $(KEEP),--keep) $(if $(IP_ACCESS),--ip-access)

.PHONY: test
test: deps tools verify test-unit test-integration csi-sanity bench-small e2e e2e-boot-server ## Everything CI runs: checks, unit, integration, csi-sanity, e2e tests and a server booted as a VM (make e2e-boot runs the whole boot test).

##@ Building

.PHONY: build
build: ## Build epks into _output/bin.
	$(GO) build -o _output/bin/ ./cmd/...

.PHONY: images
images: ## OCI image tarballs of epks and the port tagger into _output/images, no container engine (VERSION, REGISTRY).
	$(GO) run ./hack/build-images $(if $(VERSION),-version $(VERSION)) $(if $(REGISTRY),-registry $(REGISTRY)) $(if $(IMAGES_DIR),-out $(IMAGES_DIR))

.PHONY: bundle
bundle: ## The offline bundle (docs/bundle.md) into $(EPKS_CACHE)/bundle: Debian's and epks's debs, OCI tarballs of every image a node runs (BUNDLE_DIR, NCP_IMAGES=path of NCP's tarballs).
	hack/build-tools.sh kubeadm kubelet kubectl kube-proxy crictl pause coredns etcd kube-apiserver kube-controller-manager kube-scheduler openstack-cloud-controller-manager cinder-csi-plugin csi-provisioner csi-attacher csi-snapshotter csi-resizer snapshot-controller
	$(GO) run ./hack/bundle $(if $(BUNDLE_DIR),-out $(BUNDLE_DIR)) $(if $(NCP_IMAGES),-ncp-images $(NCP_IMAGES))

.PHONY: deps
deps: ## Install the Debian packages the tests use (cloud-init, netplan, OVS, shellcheck, containerd...), when missing.
	hack/ci-setup.sh

.PHONY: tools
tools: ## Build the pinned upstream binaries (etcd, Kubernetes, kwok, helm, OCCM, cinder-csi, CSI sidecars, snapshot-controller) into $(EPKS_CACHE).
	hack/build-tools.sh

##@ Tests

.PHONY: test-unit
test-unit: ## Unit tests (fast; helm lint/template tests need `make tools`).
	$(GO) test ./...

.PHONY: test-integration
test-integration: ## Integration tests against the local control plane (never from go test's cache: they build and run the binaries as processes, which the cache does not see).
	$(GO) test -tags integration -count=1 -timeout $(TEST_TIMEOUT) ./...

.PHONY: e2e
e2e: tools ## The e2e suite on the local testbed (viosim, local control plane, real OCCM, cinder-csi, sidecars, snapshot-controller, port tagger): all of it with VIO's endpoints by host name, then the nodes, LoadBalancer and volume features by IP (E2E_IP_ACCESS=true).
	KUBECONFIG= $(GO) test -tags e2e -count=1 -timeout $(TEST_TIMEOUT) -v ./e2e/
	KUBECONFIG= E2E_IP_ACCESS=true $(GO) test -tags e2e -count=1 -timeout $(TEST_TIMEOUT) -v ./e2e/

.PHONY: csi-sanity
csi-sanity: tools ## csi-sanity (csi-test) against the cinder CSI plugin's identity and controller services, viosim as a fast Cinder backend (part of make test; root: the node endpoint runs in a network namespace).
	$(GO) test -tags csisanity -count=1 -timeout 10m -v ./test/csisanity/

.PHONY: e2e-cluster
e2e-cluster: ## The e2e suite against the epks cluster that KUBECONFIG names (NCP serves the LoadBalancers; E2E_IMAGE sets the pods' image).
	@test -n "$$KUBECONFIG" || { echo "set KUBECONFIG to a cluster with epks installed"; exit 2; }
	$(GO) test -tags e2e -count=1 -timeout $(TEST_TIMEOUT) -v ./e2e/

.PHONY: bench
bench: tools ## Benchmarks, one after the other: the port tagger tagging 5,000 nodes against viosim (BENCH_NODES=N, BENCH_PPROF=DIR for a heap profile); epks cluster create and delete of 1+50 nodes against viosim with a cloud's delays (BENCH_WORKERS=N, BENCH_TRACE=1); fails when a target is missed, time targets included (BENCH_TIME_TARGETS=report prints them only).
	$(GO) test -tags integration -p 1 -run '^$$' -bench . -benchtime 1x -timeout 30m ./pkg/tagger/ ./pkg/cluster/

.PHONY: bench-small
bench-small: tools ## The benchmarks small (part of make test): the port tagger at 300 nodes, cluster create and delete at 1+10; the deterministic targets enforced (calls and writes per resource, 429s, memory), the time ratios printed only.
	BENCH_NODES=300 BENCH_WORKERS=10 BENCH_TIME_TARGETS=report $(GO) test -tags integration -count=1 -p 1 -run '^$$' -bench . -benchtime 1x -timeout 15m ./pkg/tagger/ ./pkg/cluster/

.PHONY: verify
verify: ## gofmt, go vet, and the Kubernetes module line kept at 0.36.
	hack/verify.sh

##@ Simulator
.PHONY: guest-image
guest-image: ## The Debian 12 guest disk image that viosim --boot qemu boots, built once into $(EPKS_CACHE)/images (needs root).
	hack/build-guest-image.sh

.PHONY: e2e-boot
e2e-boot: ## The boot tests (root; docs/viosim.md): a server booted through viosim's Nova as a QEMU VM, then a cluster's control plane booted for real from the node image (guest image + bundle): kubeadm init, epks install, the node Ready and initialized by the OCCM. Builds what it needs; prints the time of each phase.
	$(GO) test -tags boot -count=1 -timeout 150m -v ./test/boot/

.PHONY: e2e-boot-server
e2e-boot-server: ## The part of make e2e-boot that CI runs: the guest image and a server booted through viosim's Nova to cloud-init's end (root).
	$(GO) test -tags boot -count=1 -timeout $(TEST_TIMEOUT) -v -run '^TestBootServer$$' ./test/boot/


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
