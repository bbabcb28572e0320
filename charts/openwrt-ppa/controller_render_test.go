package chart_test

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/openwrt-ppa/openwrt-ppa/app/kubeapi"
)

// ruleSet flattens RBAC rules to "group/resource" → sorted verbs.
func ruleSet(rules []rbacv1.PolicyRule) map[string][]string {
	out := map[string][]string{}
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				out[g+"/"+res] = append(out[g+"/"+res], r.Verbs...)
			}
		}
	}
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}

// TestControllerRole: with controller.enabled, serve runs --kubernetes for the release's
// namespace under a Role of exactly kubeapi.PolicyRules (which TestControllerOnCluster runs the
// controller under), bound to serve's account, whose token is then mounted; without it there is
// neither Role nor token.
func TestControllerRole(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		vals := minimal()
		set(vals, "controller.enabled", enabled)
		objs, err := render(t, vals)
		if err != nil {
			t.Fatal(err)
		}
		serve := get[*appsv1.Deployment](t, objs, "Deployment/ppa-openwrt-ppa-serve")
		pod := serve.Spec.Template.Spec
		e := env(pod.Containers[0])
		mounted := pod.AutomountServiceAccountToken != nil && *pod.AutomountServiceAccountToken
		_, hasRole := objs["Role/ppa-openwrt-ppa-controller"]
		if !enabled {
			if hasRole || mounted || e["OPENWRT_PPA_KUBERNETES"].Value != "" {
				t.Errorf("controller off: Role %v, token mounted %v, OPENWRT_PPA_KUBERNETES %q", hasRole, mounted, e["OPENWRT_PPA_KUBERNETES"].Value)
			}
			continue
		}
		if !mounted || e["OPENWRT_PPA_KUBERNETES"].Value != "true" || e["OPENWRT_PPA_KUBERNETES_NAMESPACE"].Value != "ppa-ns" {
			t.Errorf("controller on: token mounted %v, env %v", mounted, e)
		}
		role := get[*rbacv1.Role](t, objs, "Role/ppa-openwrt-ppa-controller")
		got, want := ruleSet(role.Rules), ruleSet(kubeapi.PolicyRules(""))
		if len(got) != len(want) {
			t.Errorf("role rules %v, want %v", got, want)
		}
		for k, v := range want {
			if !slices.Equal(got[k], v) {
				t.Errorf("%s: verbs %v, want %v", k, got[k], v)
			}
		}
		rb := get[*rbacv1.RoleBinding](t, objs, "RoleBinding/ppa-openwrt-ppa-controller")
		if len(rb.Subjects) != 1 || rb.Subjects[0].Name != pod.ServiceAccountName || rb.RoleRef.Name != role.Name {
			t.Errorf("role binding %+v, serve's account %s", rb, pod.ServiceAccountName)
		}
	}
}
