package chart_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/openwrt-ppa/openwrt-ppa/app/kubeapi"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

var (
	crdGVR        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	repositoryGVR = schema.GroupVersionResource{Group: "ppa.openwrt.org", Version: "v1alpha1", Resource: "repositories"}
	buildGVR      = schema.GroupVersionResource{Group: "ppa.openwrt.org", Version: "v1alpha1", Resource: "builds"}
)

// TestChartControllerOnCluster installs the chart with controller.enabled=true and checks that
// the controller in serve's pod, under nothing but the chart's Role, reconciles the custom
// resources: a Repository of a repository the App serves gets Ready, the build its push started
// appears as a Build that succeeds, a Build made by hand runs, Repositories it cannot serve say
// why in their conditions, the leader holds its Lease, deleted Repositories are let go; and
// serve's log has no "forbidden" (the Role is enough).
//
// The chart's crds/ are installed by Helm when the cluster lacks them (and removed after,
// installChart); CRDs the cluster has already are used as they are (Helm never upgrades CRDs).
func TestChartControllerOnCluster(t *testing.T) {
	env := installChart(t, func(vals map[string]any, nodeIP string) {
		vals["controller"] = map[string]any{"enabled": true, "kubeAPI": map[string]any{"host": nodeIP, "port": "6443"}}
	})
	k, ns, dyn := env.k, env.k.Namespace, env.dyn
	repos, builds := dyn.Resource(repositoryGVR).Namespace(ns), dyn.Resource(buildGVR).Namespace(ns)
	servePod := waitPod(t, k, "serve", 1)[0]

	// 1. Repositories the service cannot serve get a condition that says why.
	create(t, repos, "Repository", "nobody", map[string]any{"source": map[string]any{"forge": "github", "fullName": "nobody/else"}})
	create(t, repos, "Repository", "plain-http", map[string]any{"source": map[string]any{"git": env.git.RepoURL("other")}})
	for name, want := range map[string]string{"nobody": "install the App", "plain-http": "not encrypted"} {
		obj := waitObject(t, repos, name, "the Repository's Ready condition", k, func(o *unstructured.Unstructured) bool {
			s, _, _ := cond(o, kubeapi.CondReady)
			return s == "False"
		})
		s, reason, msg := cond(obj, kubeapi.CondReady)
		fs, _, _ := cond(obj, kubeapi.CondFailed)
		if reason != "Refused" || fs != "True" || !strings.Contains(msg, want) {
			t.Errorf("Repository %s: Ready=%s (%s: %q), Failed=%s; want Refused saying %q", name, s, reason, msg, fs, want)
		}
	}

	// 2. The push builds alice/pkgs; its Repository is then Ready, with the feed and the
	// Build mirroring that build, which succeeded.
	env.pushAndWait(t)
	create(t, repos, "Repository", "pkgs", map[string]any{"source": map[string]any{"forge": "github", "fullName": full}})
	obj := waitObject(t, repos, "pkgs", "the Repository to be Ready with its feed and last Build", k, func(o *unstructured.Unstructured) bool {
		s, _, _ := cond(o, kubeapi.CondReady)
		feeds, _, _ := unstructured.NestedSlice(o.Object, "status", "feeds")
		last, _, _ := unstructured.NestedString(o.Object, "status", "lastBuild")
		return s == "True" && len(feeds) > 0 && last != ""
	})
	feeds, _, _ := unstructured.NestedSlice(obj.Object, "status", "feeds")
	if url, _ := feeds[0].(map[string]any)["url"].(string); url != "http://ppa.test/alice/pkgs/main/24.10/x86_64/" {
		t.Errorf("the Repository's feeds %v, want the one of main 24.10/x86_64 under publicURL", feeds)
	}
	last, _, _ := unstructured.NestedString(obj.Object, "status", "lastBuild")
	mirrored := waitObject(t, builds, last, "the mirrored Build to succeed", k, phase("Succeeded"))
	if owners := mirrored.GetOwnerReferences(); len(owners) != 1 || owners[0].Name != "pkgs" {
		t.Errorf("Build %s is owned by %v, want Repository pkgs", last, owners)
	}

	// 3. A Build made by hand: the controller starts it and follows it to the end.
	create(t, builds, "Build", "by-hand", map[string]any{"repository": "pkgs", "ref": "main", "force": true})
	byHand := waitObject(t, builds, "by-hand", "the Build made by hand to succeed", k, phase("Succeeded"))
	if id := byHand.GetLabels()[kubeapi.LabelBuildID]; id == "" || id == mirrored.GetLabels()[kubeapi.LabelBuildID] {
		t.Errorf("Build by-hand is linked to stored build %q (the mirrored one is %q): not a new run", id, mirrored.GetLabels()[kubeapi.LabelBuildID])
	}
	jobs, _, _ := unstructured.NestedSlice(byHand.Object, "status", "jobs")
	if len(jobs) != 1 || jobs[0].(map[string]any)["state"] != "Succeeded" {
		t.Errorf("Build by-hand's jobs: %v", jobs)
	}

	// 4. The serve pod leads, by the chart's Lease rights.
	lease, err := k.Client.CoordinationV1().Leases(ns).Get(context.Background(), kubeapi.DefaultLeaderElectionID, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the controller's Lease: %v", err)
	}
	if h := lease.Spec.HolderIdentity; h == nil || !strings.HasPrefix(*h, servePod.Name) {
		t.Errorf("the Lease is held by %v, want serve's pod %s", lease.Spec.HolderIdentity, servePod.Name)
	}

	// 5. Deleted Repositories are let go (the controller removes its finalizer) and their Builds
	// go with them.
	for _, name := range []string{"pkgs", "nobody", "plain-http"} {
		if err := repos.Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("deleting Repository %s: %v", name, err)
		}
	}
	waitGone(t, repos, "the Repositories")
	waitGone(t, builds, "the Builds of the deleted Repository")

	// 6. The Role was enough: nothing was forbidden.
	log := podLog(t, k, servePod)
	if bad := regexp.MustCompile(`(?i).*forbidden.*`).FindAllString(log, 5); len(bad) > 0 {
		t.Errorf("serve's log has forbidden requests: the chart's Role lacks something:\n%s", strings.Join(bad, "\n"))
	}
	if !strings.Contains(log, "Kubernetes controller starting") {
		t.Errorf("serve's log does not say the controller started:\n%s", log)
	}
	env.uninstallClean(t)
}

// ensureCRDsRemoved removes, after the test, the ppa.openwrt.org CRDs if the cluster does not
// have them now (Helm installs them and never removes them), first letting go of the objects a
// failed test left with the controller's finalizer, which nothing would remove any more.
func ensureCRDsRemoved(t *testing.T, dyn dynamic.Interface) {
	t.Helper()
	var absent []string
	for _, r := range []schema.GroupVersionResource{repositoryGVR, buildGVR} {
		name := r.Resource + "." + r.Group
		if _, err := dyn.Resource(crdGVR).Get(context.Background(), name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			absent = append(absent, name)
		}
	}
	if len(absent) == 0 {
		t.Log("the cluster has the ppa.openwrt.org CRDs already; the test uses them as they are")
		return
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for _, r := range []schema.GroupVersionResource{buildGVR, repositoryGVR} {
			testenv.ReleaseFinalizers(ctx, dyn, r)
		}
		for _, name := range absent {
			if err := dyn.Resource(crdGVR).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("removing CRD %s: %v", name, err)
			}
		}
	})
}

func create(t *testing.T, ri dynamic.ResourceInterface, kind, name string, spec map[string]any) {
	t.Helper()
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "ppa.openwrt.org/v1alpha1", "kind": kind,
		"metadata": map[string]any{"name": name}, "spec": spec,
	}}
	if _, err := ri.Create(context.Background(), obj, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating %s %s: %v", kind, name, err)
	}
}

// waitObject waits up to five minutes until ok holds of the object and returns it.
func waitObject(t *testing.T, ri dynamic.ResourceInterface, name, what string, k *testenv.Kube, ok func(*unstructured.Unstructured) bool) *unstructured.Unstructured {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		obj, err := ri.Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && ok(obj) {
			return obj
		}
		if time.Now().After(deadline) {
			var status any
			if obj != nil {
				status = obj.Object["status"]
			}
			t.Fatalf("waiting for %s (%s): %v, status %v\npods:%s", what, name, err, status, describePods(k))
		}
		time.Sleep(time.Second)
	}
}

func phase(want string) func(*unstructured.Unstructured) bool {
	return func(o *unstructured.Unstructured) bool {
		p, _, _ := unstructured.NestedString(o.Object, "status", "phase")
		return p == want
	}
}

func waitGone(t *testing.T, ri dynamic.ResourceInterface, what string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		list, err := ri.List(context.Background(), metav1.ListOptions{})
		if err == nil && len(list.Items) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var left []string
			if list != nil {
				for _, o := range list.Items {
					left = append(left, fmt.Sprintf("%s (finalizers %v)", o.GetName(), o.GetFinalizers()))
				}
			}
			t.Fatalf("waiting for %s to go: %v left (%v)", what, left, err)
		}
		time.Sleep(time.Second)
	}
}

// cond is a condition's status, reason and message.
func cond(o *unstructured.Unstructured, typ string) (string, string, string) {
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			return fmt.Sprint(m["status"]), fmt.Sprint(m["reason"]), fmt.Sprint(m["message"])
		}
	}
	return "", "", ""
}

// podLog is the whole log of a pod's first container.
func podLog(t *testing.T, k *testenv.Kube, p corev1.Pod) string {
	t.Helper()
	raw, err := k.Client.CoreV1().Pods(k.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: p.Spec.Containers[0].Name}).DoRaw(context.Background())
	if err != nil {
		t.Fatalf("the log of %s: %v", p.Name, err)
	}
	return string(raw)
}
