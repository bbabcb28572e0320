package kube

import (
	"context"
	"fmt"
	"strings"

	authv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// Permission is one rule of the Role the executor's account needs in the build namespace.
type Permission struct {
	Group, Resource, Subresource string
	Verbs                        []string
}

func (p Permission) name() string {
	n := p.Resource
	if p.Subresource != "" {
		n += "/" + p.Subresource
	}
	return n
}

// Permissions are exactly what the executor calls, all in its one namespace:
//   - jobs: create (Start), get (waiting for the pod, deleting), list (adoption, RemoveJobs),
//     patch (marking the sources complete, so a Job can be adopted), delete (Close, clean-up);
//   - pods: get (following the build), list (finding a Job's pod);
//   - pods/log: get (the live log);
//   - pods/exec: create and get (the sources in and the outputs out, the time limit's and
//     cancel's signal; exec over WebSocket is a GET that the API server also checks as create,
//     SPDY a POST).
//
// No watch, no Secrets or ConfigMaps, nothing outside the namespace. docs/kubernetes.md has
// the same as a Role; the cluster tests run the executor under exactly this.
var Permissions = []Permission{
	{Group: "batch", Resource: "jobs", Verbs: []string{"create", "get", "list", "patch", "delete"}},
	{Resource: "pods", Verbs: []string{"get", "list"}},
	{Resource: "pods", Subresource: "log", Verbs: []string{"get"}},
	{Resource: "pods", Subresource: "exec", Verbs: []string{"create", "get"}},
}

// PolicyRules are Permissions as the rules of an RBAC Role.
func PolicyRules() []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, p := range Permissions {
		out = append(out, rbacv1.PolicyRule{APIGroups: []string{p.Group}, Resources: []string{p.name()}, Verbs: append([]string(nil), p.Verbs...)})
	}
	return out
}

// Check asks the API server whether the executor's account has every one of Permissions in its
// namespace, so that a worker without them says so when it starts rather than at its first job.
func (e *Executor) Check(ctx context.Context) error {
	var denied []string
	perms := Permissions
	if e.opts.CacheStorageClass != "" {
		perms = append(append([]Permission(nil), Permissions...), CachePermissions...)
	}
	for _, p := range perms {
		for _, v := range p.Verbs {
			r, err := e.cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authv1.SelfSubjectAccessReview{
				Spec: authv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authv1.ResourceAttributes{
					Namespace: e.opts.Namespace, Verb: v, Group: p.Group, Resource: p.Resource, Subresource: p.Subresource,
				}},
			}, metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("%w: asking the Kubernetes API server at %s what this account may do: %w (is the cluster up, and the kubeconfig right?)", builder.ErrExecutor, e.cfg.Host, err)
			}
			if !r.Status.Allowed {
				denied = append(denied, v+" "+p.name())
			}
		}
	}
	if len(denied) > 0 {
		return fmt.Errorf("%w: this account may not %s in namespace %s: bind it to a Role with the rules in docs/kubernetes.md (the Helm chart makes one)",
			builder.ErrExecutor, strings.Join(denied, ", "), e.opts.Namespace)
	}
	return nil
}
