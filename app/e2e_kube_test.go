package app_test

import (
	"context"
	"flag"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/builder/kube"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestEndToEndKube is the service with --executor kube on a real cluster: a signed push builds
// as a Kubernetes Job labelled with the repository, build and job, the feed is published and
// verifies, the check completes, and nothing is left in the namespace. The worker talks to the
// cluster as a ServiceAccount bound to a Role of exactly kube.Permissions (its kubeconfig holds
// that account's token, nothing of the admin's). A restarted worker removes a Job that a dead
// worker of its installation left for a job that ended, and not another installation's.
func TestEndToEndKube(t *testing.T) {
	k := testenv.NeedKube(t)
	testenv.KubeStandinImage(t)
	e := newE2E(t)
	kubeconfig := workerKubeconfig(t, k, "openwrt-ppa-worker")
	instance := "e2e-" + e.label

	// The executor's settings as serve reads them: flags, each also from the environment.
	var parsed app.Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := parsed.Parse(fs, []string{"--executor", "kube", "--kubeconfig", kubeconfig, "--kube-instance", instance, "--workspace-tmpfs",
		"--kube-cpu-request", "50m", "--kube-memory-request", "64Mi"},
		func(key string) (string, bool) {
			if key == app.EnvName("kube-namespace") {
				return k.Namespace, true
			}
			return "", false
		})
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.Executor, e.cfg.Kubeconfig, e.cfg.KubeNamespace, e.cfg.KubeInstance = parsed.Executor, parsed.Kubeconfig, parsed.KubeNamespace, parsed.KubeInstance
	e.cfg.WorkspaceTmpfs, e.cfg.Network = parsed.WorkspaceTmpfs, parsed.Network
	// The one node has 2 CPUs: the pod reserves less than its limits.
	e.cfg.KubeCPURequest, e.cfg.KubeMemoryRequest = parsed.KubeCPURequest, parsed.KubeMemoryRequest
	if e.cfg.KubeNamespace != k.Namespace {
		t.Fatalf("namespace %q from the environment, want %q", e.cfg.KubeNamespace, k.Namespace)
	}

	// Every Job made in the namespace, as the API server announces it.
	ctx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	w, err := k.Client.BatchV1().Jobs(k.Namespace).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	made := map[string]map[string]string{}
	go func() {
		for ev := range w.ResultChan() {
			if j, ok := ev.Object.(*batchv1.Job); ok && ev.Type == watch.Added {
				mu.Lock()
				made[j.Name] = j.Labels
				mu.Unlock()
			}
		}
	}()

	e.start()
	sha := e.git.Commit(t, e2eRepo, "main", repoFiles(e2eConfig, map[string]string{"hello": "1.0", "world": "2.0"}))
	e.gh.SetFile(e2eFull, sha, ".openwrt-ppa.yml", []byte(e2eConfig))
	if code := e.push("k1", "main", zeroSHA, sha); code != http.StatusAccepted {
		t.Fatalf("push webhook answered %d, want 202", code)
	}
	b := e.waitBuilds(1)[0]
	js := e.jobs(b.ID)
	if b.Status != store.StatusSuccess || len(js) != 1 || js[0].Attempts != 1 {
		t.Fatalf("build %+v jobs %+v", b, js)
	}
	listed := e.verifyFeed("/alice/pkgs/main/24.10/x86_64/", "/alice/pkgs/-/key.pub")
	if listed["hello"] != "1.0-r1" || listed["world"] != "2.0-r1" || len(listed) != 2 {
		t.Fatalf("feed lists %v", listed)
	}
	if run := e.checkRun(js[0]); run["status"] != "completed" || run["conclusion"] != "success" {
		t.Fatalf("check run %v", run)
	}

	mu.Lock()
	if len(made) != 1 {
		t.Errorf("%d Jobs made for one build job: %v", len(made), made)
	}
	for name, l := range made {
		for key, want := range map[string]string{kube.LabelRepository: "alice_pkgs", kube.LabelBuild: strconv.FormatInt(b.ID, 10),
			kube.LabelJob: strconv.FormatInt(js[0].ID, 10), kube.LabelInstance: instance, kube.LabelManaged: kube.ManagedBy} {
			if l[key] != want {
				t.Errorf("Job %s: label %s = %q, want %q", name, key, l[key], want)
			}
		}
	}
	mu.Unlock()
	noJobsOrPods(t, k)

	// Jobs left by dead workers for the job that ended: this installation's and another's.
	ours := leftJob(t, k, "left-ours", instance, js[0].ID)
	theirs := leftJob(t, k, "left-theirs", "another-install", js[0].ID)
	e.stop()
	e.start()
	waitFor(t, "the restarted worker to remove "+ours, func() bool {
		_, err := k.Client.BatchV1().Jobs(k.Namespace).Get(context.Background(), ours, metav1.GetOptions{})
		return err != nil
	})
	if _, err := k.Client.BatchV1().Jobs(k.Namespace).Get(context.Background(), theirs, metav1.GetOptions{}); err != nil {
		t.Errorf("another installation's Job was touched: %v", err)
	}
	bg := metav1.DeletePropagationBackground
	_ = k.Client.BatchV1().Jobs(k.Namespace).Delete(context.Background(), theirs, metav1.DeleteOptions{PropagationPolicy: &bg})
}

// workerKubeconfig makes a ServiceAccount bound to a Role of exactly kube.Permissions in the
// test's namespace and returns a kubeconfig file holding only that account's token.
func workerKubeconfig(t *testing.T, k *testenv.Kube, name string) string {
	t.Helper()
	ctx := context.Background()
	token := k.ServiceAccountToken(t, name, kube.PolicyRules())
	c := k.Config
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthority: c.CAFile, CertificateAuthorityData: c.CAData}
	cfg.AuthInfos["worker"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["worker"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "worker"}
	cfg.CurrentContext = "worker"
	path := filepath.Join(t.TempDir(), "worker.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	// The authorizer learns of the binding from a watch; the worker checks its permissions at
	// start, so wait until they hold.
	rc, err := kube.Config(path)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := kube.New(rc, kube.Options{Namespace: k.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for err = ex.Check(ctx); err != nil && time.Now().Before(deadline); err = ex.Check(ctx) {
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// leftJob makes a suspended Job (no pod) labelled as the kube executor labels a build of jobID
// for the installation instance, as a worker that died would leave it.
func leftJob(t *testing.T, k *testenv.Kube, name, instance string, jobID int64) string {
	t.Helper()
	no, yes := false, true
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{kube.LabelManaged: kube.ManagedBy,
			kube.LabelInstance: instance, kube.LabelJob: strconv.FormatInt(jobID, 10)}},
		Spec: batchv1.JobSpec{Suspend: &yes, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever, AutomountServiceAccountToken: &no,
			Containers: []corev1.Container{{Name: "x", Image: "k8stest/busybox:1.35", Command: []string{"true"}}},
		}}},
	}
	if _, err := k.Client.BatchV1().Jobs(k.Namespace).Create(context.Background(), j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// noJobsOrPods fails the test when a Job or pod is left in the test's namespace.
func noJobsOrPods(t *testing.T, k *testenv.Kube) {
	t.Helper()
	ctx := context.Background()
	if js, err := k.Client.BatchV1().Jobs(k.Namespace).List(ctx, metav1.ListOptions{}); err != nil || len(js.Items) > 0 {
		t.Errorf("Jobs left behind: %v %v", js, err)
	}
	if ps, err := k.Client.CoreV1().Pods(k.Namespace).List(ctx, metav1.ListOptions{}); err != nil || len(ps.Items) > 0 {
		t.Errorf("pods left behind: %v %v", ps, err)
	}
}
