package chart_test

// Tests of the chart as Helm renders it (the Helm library's client-side install, as `helm
// template` does): the objects that come out, and the values refused with a message.

import (
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/openwrt-ppa/openwrt-ppa/builder/kube"
)

// chartDir is this folder: the chart.
func chartDir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the chart")
	}
	return filepath.Dir(file)
}

func loadChart(t testing.TB) *chartv2.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir(t))
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	return ch
}

// minimal are the values an install needs.
func minimal() map[string]any {
	return map[string]any{
		"publicURL": "https://ppa.example.org",
		"secrets":   map[string]any{"keyEncryptionKey": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="},
	}
}

// render installs the chart client-side and returns its objects by kind and name.
func render(t testing.TB, vals map[string]any) (objects, error) {
	t.Helper()
	cfg := &action.Configuration{
		Releases:     storage.Init(driver.NewMemory()),
		KubeClient:   &kubefake.PrintingKubeClient{Out: io.Discard},
		Capabilities: common.DefaultCapabilities,
	}
	cfg.SetLogger(slog.DiscardHandler)
	in := action.NewInstall(cfg)
	in.DryRunStrategy, in.Replace, in.ReleaseName, in.Namespace = action.DryRunClient, true, "ppa", "ppa-ns"
	kv, err := common.ParseKubeVersion("v1.36.3") // the test cluster's
	if err != nil {
		t.Fatal(err)
	}
	in.KubeVersion = kv
	rel, err := in.Run(loadChart(t), vals)
	if err != nil {
		return nil, err
	}
	r, ok := rel.(*releasev1.Release)
	if !ok {
		t.Fatalf("release of type %T", rel)
	}
	return decode(t, r.Manifest), nil
}

// objects are rendered objects keyed "Kind/name".
type objects map[string]k8sruntime.Object

func decode(t testing.TB, manifest string) objects {
	t.Helper()
	codecs := serializer.NewCodecFactory(scheme.Scheme)
	out := objects{}
	for _, doc := range releaseutil.SplitManifests(manifest) {
		obj, gvk, err := codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("decoding a rendered object: %v\n%s", err, doc)
		}
		key := gvk.Kind + "/" + obj.(interface{ GetName() string }).GetName()
		if _, dup := out[key]; dup {
			t.Fatalf("%s rendered twice", key)
		}
		out[key] = obj
	}
	return out
}

func get[T k8sruntime.Object](t testing.TB, objs objects, key string) T {
	t.Helper()
	o, ok := objs[key]
	if !ok {
		keys := make([]string, 0, len(objs))
		for k := range objs {
			keys = append(keys, k)
		}
		t.Fatalf("no %s rendered; have %v", key, keys)
	}
	v, ok := o.(T)
	if !ok {
		t.Fatalf("%s is a %T", key, o)
	}
	return v
}

func set(vals map[string]any, path string, v any) map[string]any {
	m := vals
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
	return vals
}

func env(c corev1.Container) map[string]corev1.EnvVar {
	out := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		out[e.Name] = e
	}
	return out
}

// podSpecs are the pod templates of the rendered workloads, by workload.
func podSpecs(objs objects) map[string]corev1.PodTemplateSpec {
	out := map[string]corev1.PodTemplateSpec{}
	for k, o := range objs {
		switch w := o.(type) {
		case *appsv1.Deployment:
			out[k] = w.Spec.Template
		case *appsv1.StatefulSet:
			out[k] = w.Spec.Template
		}
	}
	return out
}

func TestRenderObjects(t *testing.T) {
	objs, err := render(t, minimal())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Deployment/ppa-openwrt-ppa-serve", "Deployment/ppa-openwrt-ppa-worker", "StatefulSet/ppa-openwrt-ppa-redis",
		"Service/ppa-openwrt-ppa", "Service/ppa-openwrt-ppa-redis", "Secret/ppa-openwrt-ppa",
		"PersistentVolumeClaim/ppa-openwrt-ppa-data", "ServiceAccount/ppa-openwrt-ppa-serve", "ServiceAccount/ppa-openwrt-ppa-worker",
		"Role/ppa-openwrt-ppa-worker", "RoleBinding/ppa-openwrt-ppa-worker",
		"NetworkPolicy/ppa-openwrt-ppa-builds", "NetworkPolicy/ppa-openwrt-ppa-redis",
	}
	var have []string
	for k := range objs {
		have = append(have, k)
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Errorf("rendered %v\nwant      %v", have, want)
	}
	serve := get[*appsv1.Deployment](t, objs, "Deployment/ppa-openwrt-ppa-serve")
	if *serve.Spec.Replicas != 2 {
		t.Errorf("serve replicas %d, want the default 2", *serve.Spec.Replicas)
	}
	c := serve.Spec.Template.Spec.Containers[0]
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("serve probes: liveness %+v readiness %+v", c.LivenessProbe, c.ReadinessProbe)
	}
	a := serve.Spec.Template.Annotations
	if a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" || a["prometheus.io/port"] != "8080" {
		t.Errorf("serve pod annotations %v: want the Prometheus scrape ones", a)
	}
	e := env(c)
	if e["OPENWRT_PPA_WORKERS"].Value != "0" || e["OPENWRT_PPA_REDIS"].Value != "redis://ppa-openwrt-ppa-redis:6379/0" ||
		e["OPENWRT_PPA_PUBLIC_URL"].Value != "https://ppa.example.org" || e["OPENWRT_PPA_DATA"].Value != "/data" {
		t.Errorf("serve environment %v", c.Env)
	}
	if kek := e["OPENWRT_PPA_KEY_ENCRYPTION_KEY"].ValueFrom; kek == nil || kek.SecretKeyRef.Name != "ppa-openwrt-ppa" || kek.SecretKeyRef.Key != "key-encryption-key" {
		t.Errorf("the key-encryption key comes from %+v, want the chart's Secret", kek)
	}
	if _, ok := e["OPENWRT_PPA_GITHUB_PRIVATE_KEY_FILE"]; ok {
		t.Error("no GitHub App configured, yet the App key file is set")
	}
	sec := get[*corev1.Secret](t, objs, "Secret/ppa-openwrt-ppa")
	if len(sec.Data) != 1 || len(sec.Data["key-encryption-key"]) == 0 {
		t.Errorf("Secret keys %v: want only the key-encryption key given", sec.Data)
	}
	if _, ok := objs["Ingress/ppa-openwrt-ppa"]; ok {
		t.Error("an Ingress by default")
	}
}

// TestPodSecurity: every pod of the chart passes the "restricted" Pod Security Standard, runs
// read-only as non-root, has limits, and only the worker gets a service-account token.
func TestPodSecurity(t *testing.T) {
	objs, err := render(t, minimal())
	if err != nil {
		t.Fatal(err)
	}
	pods := podSpecs(objs)
	if len(pods) != 3 {
		t.Fatalf("pod templates %v, want serve, worker, redis", len(pods))
	}
	for name, p := range pods {
		s := p.Spec
		sc := s.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 ||
			sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod security context %+v", name, sc)
		}
		if s.EnableServiceLinks == nil || *s.EnableServiceLinks {
			t.Errorf("%s: service links not disabled", name)
		}
		token := s.AutomountServiceAccountToken != nil && *s.AutomountServiceAccountToken
		if wantToken := name == "Deployment/ppa-openwrt-ppa-worker"; token != wantToken {
			t.Errorf("%s: token mounted %v, want %v", name, token, wantToken)
		}
		for _, v := range s.Volumes {
			if v.HostPath != nil {
				t.Errorf("%s: hostPath volume %s", name, v.Name)
			}
		}
		for _, c := range append(s.InitContainers, s.Containers...) {
			cs := c.SecurityContext
			if cs == nil || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation || cs.ReadOnlyRootFilesystem == nil ||
				!*cs.ReadOnlyRootFilesystem || cs.Capabilities == nil || !slices.Equal(cs.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
				len(cs.Capabilities.Add) > 0 || (cs.Privileged != nil && *cs.Privileged) {
				t.Errorf("%s/%s: container security context %+v", name, c.Name, cs)
			}
			if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
				t.Errorf("%s/%s: resources %+v: want a memory limit and a CPU request", name, c.Name, c.Resources)
			}
		}
	}
}

// TestWorkerRole: the worker may do exactly what builder/kube calls, in one namespace; with
// caches on claims, also what those need.
func TestWorkerRole(t *testing.T) {
	for _, tc := range []struct{ buildNS, want, cacheClass string }{{"", "ppa-ns", ""}, {"builds", "builds", ""}, {"builds", "builds", "local.ssd"}} {
		vals := minimal()
		if tc.buildNS != "" {
			set(vals, "builds.namespace", tc.buildNS)
		}
		perms := kube.Permissions
		if tc.cacheClass != "" {
			set(vals, "builds.cache.storageClass", tc.cacheClass)
			set(vals, "builds.cache.size", "20Gi")
			perms = append(slices.Clone(perms), kube.CachePermissions...)
		}
		objs, err := render(t, vals)
		if err != nil {
			t.Fatal(err)
		}
		role := get[*rbacv1.Role](t, objs, "Role/ppa-openwrt-ppa-worker")
		got := map[string][]string{}
		for _, r := range role.Rules {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					got[g+"/"+res] = append(got[g+"/"+res], r.Verbs...)
				}
			}
		}
		// Exactly what builder/kube calls (kube.Permissions, which its cluster tests prove enough
		// and each rule needed).
		want := map[string][]string{}
		for _, p := range perms {
			res := p.Resource
			if p.Subresource != "" {
				res += "/" + p.Subresource
			}
			want[p.Group+"/"+res] = append(want[p.Group+"/"+res], p.Verbs...)
		}
		if len(got) != len(want) {
			t.Errorf("role rules %v, want %v", got, want)
		}
		for k, v := range want {
			g := slices.Clone(got[k])
			slices.Sort(g)
			slices.Sort(v)
			if !slices.Equal(g, v) {
				t.Errorf("%s: verbs %v, want %v", k, got[k], v)
			}
		}
		if role.Namespace != tc.want {
			t.Errorf("the Role is in %q, want %q", role.Namespace, tc.want)
		}
		rb := get[*rbacv1.RoleBinding](t, objs, "RoleBinding/ppa-openwrt-ppa-worker")
		if rb.Namespace != tc.want || len(rb.Subjects) != 1 || rb.Subjects[0].Name != "ppa-openwrt-ppa-worker" || rb.Subjects[0].Namespace != "ppa-ns" {
			t.Errorf("role binding %+v", rb)
		}
		w := get[*appsv1.Deployment](t, objs, "Deployment/ppa-openwrt-ppa-worker")
		e := env(w.Spec.Template.Spec.Containers[0])
		if e["OPENWRT_PPA_EXECUTOR"].Value != "kube" || e["OPENWRT_PPA_KUBE_NAMESPACE"].Value != tc.want || w.Spec.Template.Spec.ServiceAccountName != "ppa-openwrt-ppa-worker" {
			t.Errorf("worker: executor %q namespace %q account %q", e["OPENWRT_PPA_EXECUTOR"].Value, e["OPENWRT_PPA_KUBE_NAMESPACE"].Value, w.Spec.Template.Spec.ServiceAccountName)
		}
		if e["OPENWRT_PPA_KUBE_CACHE_STORAGE_CLASS"].Value != tc.cacheClass || tc.cacheClass != "" && e["OPENWRT_PPA_KUBE_CACHE_SIZE"].Value != "20Gi" {
			t.Errorf("worker cache settings %q %q, want %q", e["OPENWRT_PPA_KUBE_CACHE_STORAGE_CLASS"].Value, e["OPENWRT_PPA_KUBE_CACHE_SIZE"].Value, tc.cacheClass)
		}
		if np := get[*networkingv1.NetworkPolicy](t, objs, "NetworkPolicy/ppa-openwrt-ppa-builds"); np.Namespace != tc.want {
			t.Errorf("the build pods' NetworkPolicy is in %q, want %q", np.Namespace, tc.want)
		}
	}
	for _, r := range []string{"Role", "ClusterRole", "ClusterRoleBinding"} {
		objs, _ := render(t, minimal())
		for k := range objs {
			if strings.HasPrefix(k, r+"/") && r != "Role" {
				t.Errorf("cluster-wide RBAC rendered: %s", k)
			}
		}
	}
}

// TestBuildNetworkPolicy: build pods (selected by the labels builder/kube gives them) get no
// ingress and egress only to DNS and the operator's CIDRs.
func TestBuildNetworkPolicy(t *testing.T) {
	cases := []struct {
		name  string
		vals  func(map[string]any)
		rules int // egress rules
		check func(*testing.T, *networkingv1.NetworkPolicy)
	}{
		{"default: DNS only", func(map[string]any) {}, 1, func(t *testing.T, np *networkingv1.NetworkPolicy) {
			r := np.Spec.Egress[0]
			if len(r.To) != 1 || r.To[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "kube-system" ||
				r.To[0].PodSelector.MatchLabels["k8s-app"] != "kube-dns" || len(r.Ports) != 2 || r.Ports[0].Port.IntValue() != 53 {
				t.Errorf("DNS rule %+v", r)
			}
		}},
		{"a download proxy", func(v map[string]any) {
			set(v, "builds.networkPolicy.allowCIDRs", []any{"10.0.5.10/32", "192.0.2.0/24"})
			set(v, "builds.networkPolicy.allowPorts", []any{map[string]any{"port": 3128, "protocol": "TCP"}})
		}, 2, func(t *testing.T, np *networkingv1.NetworkPolicy) {
			r := np.Spec.Egress[1]
			if len(r.To) != 2 || r.To[0].IPBlock.CIDR != "10.0.5.10/32" || r.To[1].IPBlock.CIDR != "192.0.2.0/24" ||
				len(r.Ports) != 1 || r.Ports[0].Port.IntValue() != 3128 {
				t.Errorf("proxy rule %+v", r)
			}
		}},
		{"no DNS, no CIDRs: no egress at all", func(v map[string]any) { set(v, "builds.networkPolicy.dns.enabled", false) }, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vals := minimal()
			tc.vals(vals)
			objs, err := render(t, vals)
			if err != nil {
				t.Fatal(err)
			}
			np := get[*networkingv1.NetworkPolicy](t, objs, "NetworkPolicy/ppa-openwrt-ppa-builds")
			sel := np.Spec.PodSelector.MatchLabels
			if len(sel) != 2 || sel[kube.LabelManaged] != kube.ManagedBy || sel[kube.LabelComponent] != "build" {
				t.Errorf("selects %v: want exactly the labels builder/kube puts on build pods", sel)
			}
			if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{"Ingress", "Egress"}) || len(np.Spec.Ingress) != 0 {
				t.Errorf("policy types %v ingress %v: want both enforced, no ingress", np.Spec.PolicyTypes, np.Spec.Ingress)
			}
			if len(np.Spec.Egress) != tc.rules {
				t.Fatalf("egress rules %+v, want %d", np.Spec.Egress, tc.rules)
			}
			for _, r := range np.Spec.Egress {
				if len(r.To) == 0 {
					t.Errorf("egress rule %+v allows every destination", r)
				}
			}
			if tc.check != nil {
				tc.check(t, np)
			}
		})
	}
	vals := set(minimal(), "builds.networkPolicy.enabled", false)
	if objs, err := render(t, vals); err != nil || objs["NetworkPolicy/ppa-openwrt-ppa-builds"] != nil {
		t.Errorf("networkPolicy.enabled false still renders it (%v)", err)
	}
}

// TestOperatorObjects: existing Secret and claim, an external Redis, Ingress, a GitHub App,
// the worker's API server override.
func TestOperatorObjects(t *testing.T) {
	vals := minimal()
	set(vals, "secrets.existingSecret", "my-secrets")
	set(vals, "data.existingClaim", "my-nfs")
	set(vals, "redis.enabled", false)
	set(vals, "redis.url", "rediss://redis.example.org:6380/2")
	set(vals, "ingress.enabled", true)
	set(vals, "ingress.host", "ppa.example.org")
	set(vals, "ingress.tlsSecretName", "ppa-tls")
	set(vals, "github.appID", 1234)
	set(vals, "worker.kubeAPI.host", "192.0.2.2")
	set(vals, "worker.kubeAPI.port", 6443)
	set(vals, "worker.replicas", 3)
	set(vals, "env", map[string]any{"QUEUE_LIMIT": 7})
	objs, err := render(t, vals)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Secret/ppa-openwrt-ppa", "PersistentVolumeClaim/ppa-openwrt-ppa-data", "StatefulSet/ppa-openwrt-ppa-redis", "NetworkPolicy/ppa-openwrt-ppa-redis"} {
		if objs[k] != nil {
			t.Errorf("%s rendered though the operator gives their own", k)
		}
	}
	ing := get[*networkingv1.Ingress](t, objs, "Ingress/ppa-openwrt-ppa")
	if ing.Spec.Rules[0].Host != "ppa.example.org" || ing.Spec.TLS[0].SecretName != "ppa-tls" || ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name != "ppa-openwrt-ppa" {
		t.Errorf("ingress %+v", ing.Spec)
	}
	w := get[*appsv1.Deployment](t, objs, "Deployment/ppa-openwrt-ppa-worker")
	if *w.Spec.Replicas != 3 {
		t.Errorf("worker replicas %d", *w.Spec.Replicas)
	}
	p := w.Spec.Template.Spec
	e := env(p.Containers[0])
	if e["OPENWRT_PPA_REDIS"].Value != "rediss://redis.example.org:6380/2" || e["KUBERNETES_SERVICE_HOST"].Value != "192.0.2.2" ||
		e["KUBERNETES_SERVICE_PORT"].Value != "6443" || e["OPENWRT_PPA_GITHUB_APP_ID"].Value != "1234" || e["OPENWRT_PPA_QUEUE_LIMIT"].Value != "7" {
		t.Errorf("worker environment %v", p.Containers[0].Env)
	}
	if ref := e["OPENWRT_PPA_GITHUB_WEBHOOK_SECRET"].ValueFrom.SecretKeyRef; ref.Name != "my-secrets" || ref.Optional == nil || !*ref.Optional {
		t.Errorf("webhook secret from %+v, want the existing Secret, optional", ref)
	}
	keyFile := e["OPENWRT_PPA_GITHUB_PRIVATE_KEY_FILE"].Value
	var claim, key bool
	for _, v := range p.Volumes {
		claim = claim || v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == "my-nfs"
		key = key || v.Secret != nil && v.Secret.SecretName == "my-secrets" && v.Secret.Items[0].Key == "github-app-key.pem"
	}
	if !claim || !key || keyFile != "/etc/openwrt-ppa/github/github-app-key.pem" {
		t.Errorf("volumes %+v key file %q: want the existing claim and the App key from the existing Secret", p.Volumes, keyFile)
	}
}

// TestRefusedValues: a bad value fails the install with a message naming it.
func TestRefusedValues(t *testing.T) {
	cases := []struct {
		name string
		vals func(map[string]any)
		want string // in the error
	}{
		{"no public URL", func(v map[string]any) { delete(v, "publicURL") }, "publicURL is required"},
		{"a public URL with a query", func(v map[string]any) { v["publicURL"] = "https://h/?x=1" }, "publicURL"},
		{"no key-encryption key", func(v map[string]any) { delete(v, "secrets") }, "secrets.keyEncryptionKey is required"},
		{"a short key-encryption key", func(v map[string]any) { set(v, "secrets.keyEncryptionKey", "abc") }, "keyEncryptionKey"},
		{"negative replicas", func(v map[string]any) { set(v, "serve.replicas", -1) }, "replicas"},
		{"replicas as words", func(v map[string]any) { set(v, "worker.replicas", "two") }, "replicas"},
		{"no worker slot", func(v map[string]any) { set(v, "worker.slots", 0) }, "slots"},
		{"a misspelt key", func(v map[string]any) { set(v, "serve.replica", 3) }, "replica"},
		{"redis as http", func(v map[string]any) { set(v, "redis.url", "http://redis:6379") }, "redis"},
		{"external redis without a URL", func(v map[string]any) { set(v, "redis.enabled", false) }, "redis.url is empty"},
		{"a CIDR without its length", func(v map[string]any) { set(v, "builds.networkPolicy.allowCIDRs", []any{"10.0.0.1"}) }, "allowCIDRs"},
		{"a port out of range", func(v map[string]any) {
			set(v, "builds.networkPolicy.allowPorts", []any{map[string]any{"port": 70000}})
		}, "port"},
		{"the latest tag", func(v map[string]any) { set(v, "image.tag", "latest") }, "tag"},
		{"a bad quantity", func(v map[string]any) { set(v, "data.size", "lots") }, "size"},
		{"a bad duration", func(v map[string]any) { set(v, "builds.jobTimeout", "2 hours") }, "jobTimeout"},
		{"an Ingress without a host", func(v map[string]any) { set(v, "ingress.enabled", true) }, "host"},
		{"a GitHub App without its key", func(v map[string]any) { set(v, "github.appID", 5) }, "secrets.githubAppKey"},
		{"a lower-case setting", func(v map[string]any) { set(v, "env", map[string]any{"queue_limit": "3"}) }, "queue_limit"},
		{"an unknown pull policy", func(v map[string]any) { set(v, "image.pullPolicy", "Sometimes") }, "pullPolicy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vals := minimal()
			tc.vals(vals)
			_, err := render(t, vals)
			if err == nil {
				t.Fatal("installed")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
			t.Logf("refused: %v", err)
		})
	}
}
