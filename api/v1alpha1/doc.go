// Package v1alpha1 holds the custom resources of the group ppa.openwrt.org, version v1alpha1: a
// Repository to build and a Build of it (issue 16). The CRD manifests in charts/openwrt-ppa/crds
// are generated from these types by controller-gen (`make generate`); the validation markers here
// are what the API server enforces, so bad specs are refused before any controller sees them.
//
// The package imports only k8s.io/apimachinery (internal/archtest checks it), so a client of the
// API does not pull in the service.
//
// +kubebuilder:object:generate=true
// +groupName=ppa.openwrt.org
package v1alpha1
