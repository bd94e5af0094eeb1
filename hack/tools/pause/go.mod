// Module pause is the offline bundle's pause program (the image kubeadm names
// registry.k8s.io/pause): epks's own, no dependencies; see hack/build-tools.sh.
module github.com/epks/epks/hack/tools/pause

go 1.26.0
