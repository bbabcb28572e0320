package chart_test

// The chart installed for real (the Helm library) into the test cluster (OPENWRT_PPA_TEST_KUBECONFIG;
// .ci/run brings one up with ../shared/k8s/single-node.sh), with the project's image imported
// into the node's containerd: a signed push webhook to the in-cluster serve → a build Job → the
// feed the in-cluster serve publishes verifies → the check completes; then helm upgrade and
// helm uninstall, which must leave the namespace empty.
//
// The cluster has no kube-proxy and no DNS, so everything is reached by IP: the serve pods by
// their pod IPs, the API server, Redis, the fake GitHub and the git server (this process) by the
// node's IP. Redis is the chart's bundled StatefulSet (an image of this machine's redis-server),
// reached by its pod IP (redis.url, set by an upgrade once the pod has one: there is no DNS for
// its Service). Pod-to-pod traffic needs allowPodTraffic on this host.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	helmkube "helm.sh/helm/v4/pkg/kube"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"

	"github.com/openwrt-ppa/openwrt-ppa/builder/kube"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

const (
	release     = "ppa"
	fullname    = "ppa-openwrt-ppa"
	owner, repo = "alice", "pkgs"
	full        = owner + "/" + repo
	installID   = 77
	hookSecret  = "chart-webhook-secret"
	repoConfig  = "series: [\"24.10\"]\narchs: [x86_64]\n"
)

// chartEnv is the chart installed in a namespace of the test's own, with the outside world its
// pods reach on the node's IP: a fake GitHub with the App installed on alice/pkgs and a git
// server whose main holds sha.
type chartEnv struct {
	k           *testenv.Kube
	dyn         dynamic.Interface
	cfg         *action.Configuration
	vals        map[string]any
	gh          *forgetest.GitHub
	git         *testenv.GitServer
	sha         string
	nodeIP      string
	serveURL    string // the one serve pod's
	uninstalled bool
}

// installChart installs the chart with one serve and one worker pod, the bundled Redis and
// the SDK stand-in for every build, after tune (if any) changed the values; revision 2 gives
// serve and the worker Redis's pod IP. helm uninstall runs at cleanup unless the test did it.
func installChart(t *testing.T, tune func(vals map[string]any, nodeIP string)) *chartEnv {
	t.Helper()
	testenv.NeedCommand(t, "signify-openbsd")
	k := testenv.NeedKube(t)
	ns := k.Namespace
	ctx := context.Background()
	nodeIP := nodeAddress(t, k)
	dyn, err := dynamic.NewForConfig(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	// Helm installs the chart's crds/ when the cluster lacks them, and never removes them.
	ensureCRDsRemoved(t, dyn)

	// The images: the service's (`make image`) and the SDK stand-in.
	svcImage := testenv.ServiceImage(t)
	testenv.KubeImportImage(t, svcImage)
	standin := testenv.KubeStandinImage(t)
	allowPodTraffic(t)
	redisImage := testenv.RedisImage(t)
	testenv.KubeImportImage(t, redisImage)

	// The outside world the pods reach on the node's IP: GitHub (fake) and the repository.
	gh := forgetest.NewGitHub(t)
	gh.AddInstallation(full, installID)
	ghURL := serveOn(t, nodeIP, gh.Config.Handler)
	git := testenv.StartGitServerOn(t, nodeIP)
	sha := git.Commit(t, repo, "main", withConfig(testenv.PackageTree(map[string]string{"hello": "1.0"})))
	gh.SetFile(full, sha, ".openwrt-ppa.yml", []byte(repoConfig))

	// Storage: the cluster has no provisioner, so the test offers a volume for each claim.
	class := "owppa-" + ns
	makeVolume(t, k, class, "data", fullname+"-data", corev1.ReadWriteMany)
	makeVolume(t, k, class, "redis", "redis-data-"+fullname+"-redis-0", corev1.ReadWriteOnce)

	img := strings.SplitN(svcImage, ":", 2)
	vals := map[string]any{
		"image":     map[string]any{"repository": img[0], "tag": img[1]},
		"publicURL": "http://ppa.test",
		"secrets": map[string]any{
			"keyEncryptionKey": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "githubWebhookSecret": hookSecret,
			"githubAppKey": string(gh.PrivateKeyPEM()),
		},
		"github": map[string]any{"appID": forgetest.GitHubAppID, "apiURL": ghURL},
		"builds": map[string]any{
			"image": standin, "catalogueRefresh": "0s", "jobTimeout": "5m",
			"cpuRequest": "50m", "memoryRequest": "64Mi", "workspaceInMemory": true,
			// The worker pod cannot reach the loopback feed server the mirror would fetch from;
			// builder/kube's TestStandardFeedsComeFromTheMirror covers the streamed mirror.
			"feedMirror": false,
		},
		"serve":  map[string]any{"replicas": 1, "resources": small()},
		"worker": map[string]any{"replicas": 1, "slots": 1, "resources": small(), "kubeAPI": map[string]any{"host": nodeIP, "port": "6443"}},
		"data":   map[string]any{"storageClass": class, "size": "1Gi"},
		"redis": map[string]any{"enabled": true, "uid": 999,
			"image":       map[string]any{"repository": strings.SplitN(redisImage, ":", 2)[0], "tag": strings.SplitN(redisImage, ":", 2)[1]},
			"persistence": map[string]any{"enabled": true, "storageClass": class, "size": "1Gi"}},
	}
	if tune != nil {
		tune(vals, nodeIP)
	}
	ch := loadChart(t)
	env := &chartEnv{k: k, dyn: dyn, cfg: helmConfig(t, os.Getenv(testenv.KubeconfigEnv), ns), vals: vals, gh: gh, git: git, sha: sha, nodeIP: nodeIP}
	in := action.NewInstall(env.cfg)
	in.ReleaseName, in.Namespace, in.WaitStrategy, in.Timeout = release, ns, helmkube.HookOnlyStrategy, 5*time.Minute
	if _, err := in.RunWithContext(ctx, ch, vals); err != nil {
		t.Fatalf("helm install: %v", err)
	}
	t.Cleanup(func() {
		if !env.uninstalled {
			_, _ = uninstall(env.cfg).Run(release)
		}
	})

	// The bundled Redis runs; serve and the worker get its pod IP (revision 2).
	redisPod := waitPod(t, k, "redis", 1)[0]
	vals["redis"].(map[string]any)["url"] = "redis://" + net.JoinHostPort(redisPod.Status.PodIP, "6379") + "/0"
	upgrade(t, env.cfg, ns, vals, 2)

	servePod := waitPod(t, k, "serve", 1)[0]
	waitPod(t, k, "worker", 1)
	env.serveURL = "http://" + net.JoinHostPort(servePod.Status.PodIP, "8080")
	return env
}

// pushAndWait delivers the push of main at sha to serve and waits for its check run to succeed,
// having seen the build Job in the namespace.
func (env *chartEnv) pushAndWait(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	k := env.k
	if code := push(t, env.serveURL, env.git.RepoURL(repo), env.sha); code != http.StatusAccepted {
		t.Fatalf("the push webhook was answered %d", code)
	}
	sawJob := false
	run := waitCheck(t, env.gh, func() {
		jobs, err := k.Client.BatchV1().Jobs(k.Namespace).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelComponent + "=build"})
		if err == nil && len(jobs.Items) > 0 {
			sawJob = true
		}
	}, logsOnFailure(t, k))
	if run["conclusion"] != "success" {
		t.Fatalf("the check run completed as %v", run)
	}
	if !sawJob {
		t.Error("no build Job was seen in the namespace while the job ran")
	}
}

func TestChartOnCluster(t *testing.T) {
	env := installChart(t, nil)
	k, ns, cfg, vals, serveURL := env.k, env.k.Namespace, env.cfg, env.vals, env.serveURL

	// The push → a build Job in the namespace → the check completes.
	env.pushAndWait(t)

	// The feed the in-cluster serve publishes verifies.
	listed := verifyFeed(t, serveURL, "/alice/pkgs/main/24.10/x86_64/", "/alice/pkgs/-/key.pub")
	if len(listed) != 1 || listed["hello"] != "1.0-r1" {
		t.Fatalf("the feed lists %v, want hello 1.0-r1", listed)
	}

	// helm upgrade: two serve pods, both serving the same feed from the shared volume.
	vals["serve"].(map[string]any)["replicas"] = 2
	upgrade(t, cfg, ns, vals, 3)
	for _, p := range waitPod(t, k, "serve", 2) {
		url := "http://" + net.JoinHostPort(p.Status.PodIP, "8080")
		if got := verifyFeed(t, url, "/alice/pkgs/main/24.10/x86_64/", "/alice/pkgs/-/key.pub"); got["hello"] != "1.0-r1" {
			t.Errorf("serve pod %s lists %v after the upgrade", p.Name, got)
		}
	}

	// helm uninstall leaves nothing behind in the namespace.
	env.uninstallClean(t)
}

// uninstallClean runs helm uninstall and checks that it leaves nothing behind in the namespace.
func (env *chartEnv) uninstallClean(t *testing.T) {
	t.Helper()
	if _, err := uninstall(env.cfg).Run(release); err != nil {
		t.Fatalf("helm uninstall: %v", err)
	}
	env.uninstalled = true
	var left []string
	deadline := time.Now().Add(3 * time.Minute)
	for {
		left = leftovers(t, env.k)
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if len(left) > 0 {
		t.Errorf("after helm uninstall the namespace still holds %v", left)
	}
}

// allowPodTraffic lets packets between pods on the cluster's bridge pass this host's FORWARD
// chain, whose policy Docker sets to DROP and which br_netfilter applies to bridged packets too
// (.ci/run adds the same rule; this is for a cluster brought up by hand). Idempotent.
func allowPodTraffic(t *testing.T) {
	t.Helper()
	ipt := testenv.NeedCommand(t, "iptables")
	rule := []string{"DOCKER-USER", "-i", "k8sbr0", "-o", "k8sbr0", "-j", "ACCEPT"}
	if exec.Command(ipt, append([]string{"-C"}, rule...)...).Run() == nil {
		return
	}
	if out, err := exec.Command(ipt, append([]string{"-I"}, rule...)...).CombinedOutput(); err != nil {
		t.Fatalf("letting pod-to-pod traffic pass (iptables -I %s): %v: %s", strings.Join(rule, " "), err, out)
	}
}

// uninstall is helm uninstall; the test waits for what is left itself.
func uninstall(cfg *action.Configuration) *action.Uninstall {
	un := action.NewUninstall(cfg)
	un.WaitStrategy, un.Timeout = helmkube.HookOnlyStrategy, 5*time.Minute
	return un
}

func withConfig(files map[string]string) map[string]string {
	files[".openwrt-ppa.yml"] = repoConfig
	return files
}

func small() map[string]any {
	return map[string]any{"requests": map[string]any{"cpu": "10m", "memory": "32Mi"}, "limits": map[string]any{"memory": "512Mi"}}
}

// nodeAddress is the node's InternalIP: this machine, as the pods see it.
func nodeAddress(t *testing.T, k *testenv.Kube) string {
	t.Helper()
	nodes, err := k.Client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("listing the nodes: %v (%d)", err, len(nodes.Items))
	}
	for _, a := range nodes.Items[0].Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	t.Fatalf("node %s has no InternalIP", nodes.Items[0].Name)
	return ""
}

// serveOn serves h on host (the node's IP) for the pods, and returns its URL.
func serveOn(t *testing.T, host string, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("listening on the node's IP: %v", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// makeVolume offers a hostPath volume of the test's own, bound in advance to the claim it is for.
func makeVolume(t *testing.T, k *testenv.Kube, class, name, claim string, mode corev1.PersistentVolumeAccessMode) {
	t.Helper()
	dir := t.TempDir()
	// The pods run as non-root, and a hostPath volume keeps its owner.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: class + "-" + name, Labels: map[string]string{testenv.TestLabel: "1"}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{mode},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              class,
			ClaimRef:                      &corev1.ObjectReference{Namespace: k.Namespace, Name: claim},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: filepath.Clean(dir)}},
		},
	}
	ctx := context.Background()
	if _, err := k.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatalf("making volume %s: %v", pv.Name, err)
	}
	t.Cleanup(func() {
		_ = k.Client.CoreV1().PersistentVolumes().Delete(context.Background(), pv.Name, metav1.DeleteOptions{})
	})
}

func helmConfig(t *testing.T, kubeconfig, ns string) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(true)
	cache := t.TempDir() // the discovery cache, not the user's ~/.kube/cache
	flags.KubeConfig, flags.Namespace, flags.CacheDir = &kubeconfig, &ns, &cache
	cfg := action.NewConfiguration()
	cfg.SetLogger(slog.DiscardHandler)
	if err := cfg.Init(flags, ns, "secret"); err != nil {
		t.Fatalf("helm configuration: %v", err)
	}
	return cfg
}

func upgrade(t *testing.T, cfg *action.Configuration, ns string, vals map[string]any, revision int) {
	t.Helper()
	up := action.NewUpgrade(cfg)
	up.Namespace, up.WaitStrategy, up.Timeout = ns, helmkube.HookOnlyStrategy, 5*time.Minute
	rel, err := up.RunWithContext(context.Background(), release, loadChart(t), vals)
	if err != nil {
		t.Fatalf("helm upgrade: %v", err)
	}
	if r, ok := rel.(*releasev1.Release); !ok || r.Version != revision || r.Info.Status != "deployed" {
		t.Fatalf("helm upgrade made %+v, want revision %d deployed", rel, revision)
	}
}

// waitPod waits for n ready pods of a component of the release (of its newest spec: pods of an
// older ReplicaSet that are going away are not counted) and returns them.
func waitPod(t *testing.T, k *testenv.Kube, component string, n int) []corev1.Pod {
	t.Helper()
	sel := "app.kubernetes.io/instance=" + release + ",app.kubernetes.io/component=" + component
	deadline := time.Now().Add(4 * time.Minute)
	for {
		pods, err := k.Client.CoreV1().Pods(k.Namespace).List(context.Background(), metav1.ListOptions{LabelSelector: sel})
		var ready []corev1.Pod
		if err == nil {
			for _, p := range pods.Items {
				if p.DeletionTimestamp == nil && podReady(p) {
					ready = append(ready, p)
				}
			}
			if len(ready) == n && len(pods.Items) == n {
				return ready
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %d ready %s pods: %s", n, component, describePods(k))
		}
		time.Sleep(time.Second)
	}
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// describePods says where each pod of the namespace is, with the last lines of its logs.
func describePods(k *testenv.Kube) string {
	ctx := context.Background()
	pods, err := k.Client.CoreV1().Pods(k.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "\n%s: %s", p.Name, p.Status.Phase)
		for _, c := range p.Status.Conditions {
			if c.Status != corev1.ConditionTrue {
				fmt.Fprintf(&b, " [%s: %s]", c.Type, c.Message)
			}
		}
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil {
				fmt.Fprintf(&b, " %s waiting %s %s", cs.Name, w.Reason, w.Message)
			}
			tail := int64(15)
			if raw, err := k.Client.CoreV1().Pods(k.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: cs.Name, TailLines: &tail}).DoRaw(ctx); err == nil {
				fmt.Fprintf(&b, "\n  %s log:\n  %s", cs.Name, strings.ReplaceAll(strings.TrimSpace(string(raw)), "\n", "\n  "))
			}
		}
	}
	return b.String()
}

func logsOnFailure(t *testing.T, k *testenv.Kube) func() string {
	return func() string { return describePods(k) }
}

// push delivers a signed push of main at sha, as GitHub would, to serve.
func push(t *testing.T, serveURL, cloneURL, sha string) int {
	t.Helper()
	body := forgetest.GitHubPush{Owner: owner, Name: repo, RepoID: 9001, CloneURL: cloneURL, InstallationID: installID,
		Ref: "refs/heads/main", Before: strings.Repeat("0", 40), After: sha}.Body(t)
	req, err := forgetest.GitHubRequest(serveURL+"/webhooks/github", "push", "chart-push-1", []byte(hookSecret), body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("delivering the push: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// waitCheck waits until a check run of the repository is completed and returns what the last
// update said; each poll runs tick.
func waitCheck(t *testing.T, gh *forgetest.GitHub, tick func(), diag func() string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(8 * time.Minute)
	for {
		tick()
		for _, c := range gh.Calls() {
			var body map[string]any
			if c.Method == http.MethodPatch && strings.HasPrefix(c.Path, "/repos/"+full+"/check-runs/") &&
				json.Unmarshal(c.Body, &body) == nil && body["status"] == "completed" {
				return body
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no check run completed; GitHub saw %v\npods:%s", gh.Sequence(), diag())
		}
		time.Sleep(time.Second)
	}
}

// verifyFeed checks the feed serve serves (testenv.VerifyFeed).
func verifyFeed(t *testing.T, serveURL, feedPath, keyPath string) map[string]string {
	t.Helper()
	return testenv.VerifyFeed(t, func(p string) (int, []byte) {
		resp, err := http.Get(serveURL + p)
		if err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}, feedPath, keyPath)
}

// leftovers lists what the namespace still holds but what every namespace has (its default
// service account and root CA ConfigMap).
func leftovers(t *testing.T, k *testenv.Kube) []string {
	t.Helper()
	ctx := context.Background()
	c, ns, lo := k.Client, k.Namespace, metav1.ListOptions{}
	var out []string
	names(&out, "Pod", func() (*corev1.PodList, error) { return c.CoreV1().Pods(ns).List(ctx, lo) }, func(l *corev1.PodList) []corev1.Pod { return l.Items })
	names(&out, "Job", func() (*batchv1.JobList, error) { return c.BatchV1().Jobs(ns).List(ctx, lo) }, func(l *batchv1.JobList) []batchv1.Job { return l.Items })
	names(&out, "Deployment", func() (*appsv1.DeploymentList, error) { return c.AppsV1().Deployments(ns).List(ctx, lo) }, func(l *appsv1.DeploymentList) []appsv1.Deployment { return l.Items })
	names(&out, "ReplicaSet", func() (*appsv1.ReplicaSetList, error) { return c.AppsV1().ReplicaSets(ns).List(ctx, lo) }, func(l *appsv1.ReplicaSetList) []appsv1.ReplicaSet { return l.Items })
	names(&out, "StatefulSet", func() (*appsv1.StatefulSetList, error) { return c.AppsV1().StatefulSets(ns).List(ctx, lo) }, func(l *appsv1.StatefulSetList) []appsv1.StatefulSet { return l.Items })
	names(&out, "Service", func() (*corev1.ServiceList, error) { return c.CoreV1().Services(ns).List(ctx, lo) }, func(l *corev1.ServiceList) []corev1.Service { return l.Items })
	names(&out, "Secret", func() (*corev1.SecretList, error) { return c.CoreV1().Secrets(ns).List(ctx, lo) }, func(l *corev1.SecretList) []corev1.Secret { return l.Items })
	names(&out, "PersistentVolumeClaim", func() (*corev1.PersistentVolumeClaimList, error) {
		return c.CoreV1().PersistentVolumeClaims(ns).List(ctx, lo)
	}, func(l *corev1.PersistentVolumeClaimList) []corev1.PersistentVolumeClaim { return l.Items })
	names(&out, "NetworkPolicy", func() (*networkingv1.NetworkPolicyList, error) {
		return c.NetworkingV1().NetworkPolicies(ns).List(ctx, lo)
	}, func(l *networkingv1.NetworkPolicyList) []networkingv1.NetworkPolicy { return l.Items })
	names(&out, "Ingress", func() (*networkingv1.IngressList, error) { return c.NetworkingV1().Ingresses(ns).List(ctx, lo) }, func(l *networkingv1.IngressList) []networkingv1.Ingress { return l.Items })
	names(&out, "Role", func() (*rbacv1.RoleList, error) { return c.RbacV1().Roles(ns).List(ctx, lo) }, func(l *rbacv1.RoleList) []rbacv1.Role { return l.Items })
	names(&out, "RoleBinding", func() (*rbacv1.RoleBindingList, error) { return c.RbacV1().RoleBindings(ns).List(ctx, lo) }, func(l *rbacv1.RoleBindingList) []rbacv1.RoleBinding { return l.Items })
	names(&out, "ConfigMap", func() (*corev1.ConfigMapList, error) { return c.CoreV1().ConfigMaps(ns).List(ctx, lo) }, func(l *corev1.ConfigMapList) []corev1.ConfigMap { return l.Items }, "kube-root-ca.crt")
	names(&out, "ServiceAccount", func() (*corev1.ServiceAccountList, error) { return c.CoreV1().ServiceAccounts(ns).List(ctx, lo) }, func(l *corev1.ServiceAccountList) []corev1.ServiceAccount { return l.Items }, "default")
	return out
}

// names adds "Kind/name" to out for each object list() returns but the names in skip.
func names[L any, T any, P interface {
	*T
	metav1.Object
}](out *[]string, kind string, list func() (L, error), items func(L) []T, skip ...string) {
	l, err := list()
	if err != nil {
		*out = append(*out, kind+": "+err.Error())
		return
	}
	its := items(l)
	for i := range its {
		if n := P(&its[i]).GetName(); !slices.Contains(skip, n) {
			*out = append(*out, kind+"/"+n)
		}
	}
}
