package kubeapi

import (
	rbacv1 "k8s.io/api/rbac/v1"

	v1 "github.com/openwrt-ppa/openwrt-ppa/api/v1alpha1"
)

// PolicyRules are the Role the controller's account needs in its namespace, and no more:
//   - repositories: read and watch them, patch their metadata (finalizer, the store links);
//   - builds: the same, and create (the builds that webhooks and polling start);
//   - their status subresources: patch (statuses are written from the store);
//   - leases of coordination.k8s.io: the leader election among serve replicas;
//   - events: create and patch, the leader election's record of who leads.
//
// docs/kubernetes.md and the chart's serve Role list the same; TestControllerOnCluster runs
// the controller under exactly these. group empty: v1alpha1.GroupName.
func PolicyRules(group string) []rbacv1.PolicyRule {
	if group == "" {
		group = v1.GroupName
	}
	return []rbacv1.PolicyRule{
		{APIGroups: []string{group}, Resources: []string{"repositories"}, Verbs: []string{"get", "list", "watch", "patch"}},
		{APIGroups: []string{group}, Resources: []string{"builds"}, Verbs: []string{"get", "list", "watch", "patch", "create"}},
		{APIGroups: []string{group}, Resources: []string{"repositories/status", "builds/status"}, Verbs: []string{"patch"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	}
}
