// Package kubeapi is the Kubernetes controller of the Repository and Build custom resources
// (api/v1alpha1): it mirrors them both ways with the service's store, which stays the source of
// truth. A Repository's spec registers it through the same path as the JSON API (app/remote); a
// Build starts one as the API's rebuild does; builds started by webhooks or polling appear as
// Build objects; statuses are written from the store. It imports no other stage: the app wires
// it to them through Backend.
package kubeapi
