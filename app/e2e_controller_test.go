package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/app/kubeapi"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// kubectlPath is the kubectl that ../shared/k8s/single-node.sh builds.
const kubectlPath = "/var/cache/openwrt-ppa-k8s/bin/kubectl"

// kubectl runs kubectl as the cluster's admin (a user of the API), in the test's namespace.
type kubectl struct {
	t          *testing.T
	kubeconfig string
	namespace  string
}

func (k kubectl) run(stdin string, args ...string) (string, error) {
	k.t.Helper()
	cmd := exec.Command(kubectlPath, append([]string{"--kubeconfig", k.kubeconfig, "-n", k.namespace}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (k kubectl) must(stdin string, args ...string) string {
	k.t.Helper()
	out, err := k.run(stdin, args...)
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// object reads one object as JSON.
func (k kubectl) object(kind, name string) (map[string]any, bool) {
	k.t.Helper()
	out, err := k.run("", "get", kind, name, "-o", "json")
	if err != nil {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		k.t.Fatalf("kubectl get %s %s: %v", kind, name, err)
	}
	return m, true
}

// field walks a decoded object by keys.
func field(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func condition(m map[string]any, typ string) (status, msg string) {
	conds, _ := field(m, "status", "conditions").([]any)
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] == typ {
			return fmt.Sprint(cm["status"]), fmt.Sprint(cm["message"])
		}
	}
	return "", ""
}

// controllerKubeconfig makes a ServiceAccount bound to a Role of exactly kubeapi.PolicyRules and
// returns a kubeconfig of that account in the namespace: the controller runs with no more.
func controllerKubeconfig(t *testing.T, k *testenv.Kube, group string) string {
	t.Helper()
	token := k.ServiceAccountToken(t, "openwrt-ppa-controller", kubeapi.PolicyRules(group))
	c := k.Config
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthority: c.CAFile, CertificateAuthorityData: c.CAData}
	cfg.AuthInfos["controller"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["controller"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "controller", Namespace: k.Namespace}
	cfg.CurrentContext = "controller"
	path := filepath.Join(t.TempDir(), "controller.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// controllerE2E is the service set up for serve --kubernetes on the real cluster (not started):
// the CRDs under a group of the test's own, the controller under a ServiceAccount of exactly
// kubeapi.PolicyRules in the test's namespace, an https git server for repositories by URL.
type controllerE2E struct {
	e     *e2e
	k     *testenv.Kube
	kc    kubectl
	group string
	git   *testenv.GitServer
}

func newControllerE2E(t *testing.T) controllerE2E {
	t.Helper()
	k := testenv.NeedKube(t)
	if _, err := os.Stat(kubectlPath); err != nil {
		testenv.Missing(t, "kubectl", kubectlPath+" is missing (../shared/k8s/single-node.sh build makes it)")
	}
	dyn, err := dynamic.NewForConfig(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	group := testenv.InstallCRDs(t, dyn, "../charts/openwrt-ppa/crds")
	e := newE2E(t)
	gs := e.gitServerTLS()
	e.cfg.Kubernetes, e.cfg.Kubeconfig, e.cfg.KubernetesNamespace = true, controllerKubeconfig(t, k, group), k.Namespace
	e.tune = func(rt *app.Runtime) {
		rt.Controller = app.ControllerTuning{Group: group, Lease: 3 * time.Second, Resync: 500 * time.Millisecond}
	}
	return controllerE2E{e: e, k: k, kc: kubectl{t: t, kubeconfig: os.Getenv(testenv.KubeconfigEnv), namespace: k.Namespace}, group: group, git: gs}
}

// TestControllerOnCluster is serve --kubernetes on the real cluster, the controller under a
// ServiceAccount of exactly kubeapi.PolicyRules, builds on Docker with the SDK stand-in:
// `kubectl apply` of a Repository with a git URL registers it and its first build appears as a
// Build that succeeds, whose feed URL in the Repository's status serves a signed feed; a Build
// made with force: true runs anew and one without reuses; a Build deleted while it runs is
// cancelled; a serve restarted mid-build converges; `kubectl get builds` shows phase and age;
// a Repository deleted takes its Builds along and keeps the feed; a Repository of a repository
// without .openwrt-ppa.yml builds its spec's series and archs, and its source cannot change.
func TestControllerOnCluster(t *testing.T) {
	c := newControllerE2E(t)
	e, gs, kc, group := c.e, c.git, c.kc, c.group
	builds, repos := "builds."+group, "repositories."+group
	e.start()
	ctx := context.Background()

	sha1 := gs.Commit(t, "carol/feed", "main", repoFiles(e2eConfig, map[string]string{"hello": "1.0"}))
	kc.must(fmt.Sprintf(`apiVersion: %s/v1alpha1
kind: Repository
metadata: {name: feed}
spec:
  source: {git: %q}
`, group, gs.RepoURL("carol/feed")), "apply", "-f", "-")

	// 1. Registered, Ready; its first build appears as a Build and succeeds.
	var repoObj map[string]any
	waitFor(t, "the Repository to be Ready with a feed", func() bool {
		repoObj, _ = kc.object(repos, "feed")
		s, _ := condition(repoObj, kubeapi.CondReady)
		feeds, _ := field(repoObj, "status", "feeds").([]any)
		return s == "True" && len(feeds) > 0
	})
	if g := field(repoObj, "status", "observedGeneration"); fmt.Sprint(g) != fmt.Sprint(field(repoObj, "metadata", "generation")) {
		t.Errorf("observedGeneration %v, generation %v", g, field(repoObj, "metadata", "generation"))
	}
	b1 := e.waitRepoBuilds("carol", "feed", 1)[0]
	if b1.CommitSHA != sha1 || b1.Status != store.StatusSuccess {
		t.Fatalf("first build %+v", b1)
	}
	first := fmt.Sprintf("feed-%d", b1.ID)
	waitPhase(t, kc, builds, first, "Succeeded")
	bo, _ := kc.object(builds, first)
	if owner, _ := field(bo, "metadata", "ownerReferences").([]any); len(owner) != 1 || field(owner[0].(map[string]any), "name") != "feed" {
		t.Errorf("Build %s owners: %v", first, owner)
	}
	jobs, _ := field(bo, "status", "jobs").([]any)
	if len(jobs) != 1 || field(jobs[0].(map[string]any), "state") != "Succeeded" || !strings.Contains(fmt.Sprint(field(jobs[0].(map[string]any), "logURL")), "/-/builds/") {
		t.Errorf("Build %s jobs: %v", first, jobs)
	}
	feedURL := ""
	for _, f := range field(repoObj, "status", "feeds").([]any) {
		fm := f.(map[string]any)
		if fm["ref"] == "main" && fm["series"] == "24.10" && fm["arch"] == "x86_64" {
			feedURL = fmt.Sprint(fm["url"])
		}
	}
	u, err := url.Parse(feedURL)
	if err != nil || !strings.HasPrefix(feedURL, e.url) {
		t.Fatalf("feed URL %q in the status (feeds %v)", feedURL, field(repoObj, "status", "feeds"))
	}
	if got := e.verifyFeed(u.Path, "/carol/feed/-/key.pub"); got["hello"] != "1.0-r1" {
		t.Fatalf("the status's feed lists %v", got)
	}
	if fps, _ := field(repoObj, "status", "keyFingerprints").([]any); len(fps) == 0 {
		t.Error("no key fingerprints in the status")
	}
	if lb := field(repoObj, "status", "lastBuild"); lb != first {
		t.Errorf("lastBuild %v, want %s", lb, first)
	}

	// 2. A Build with force: true is a new run; one without reuses the result.
	newBuild := func(name string, force bool, ref string) {
		kc.must(fmt.Sprintf("apiVersion: %s/v1alpha1\nkind: Build\nmetadata: {name: %s}\nspec: {repository: feed, ref: %s, force: %v}\n",
			group, name, ref, force), "create", "-f", "-")
	}
	storedBuild := func(name string) store.Build {
		t.Helper()
		obj, _ := kc.object(builds, name)
		var id int64
		_, _ = fmt.Sscan(fmt.Sprint(field(obj, "metadata", "labels", kubeapi.LabelBuildID)), &id)
		b, err := e.rt.Store.Build(ctx, id)
		if err != nil {
			t.Fatalf("Build %s names stored build %d: %v", name, id, err)
		}
		return b
	}
	reused := func(b store.Build) bool {
		js := e.jobs(b.ID)
		var res model.Result
		_ = json.Unmarshal(js[0].Result, &res)
		return res.ReusedFrom != 0
	}
	newBuild("forced", true, "main")
	waitPhase(t, kc, builds, "forced", "Succeeded")
	if b := storedBuild("forced"); !b.Forced || b.ID == b1.ID || b.CommitSHA != sha1 || reused(b) {
		t.Errorf("forced Build ran as %+v (reused %v)", b, reused(b))
	}
	newBuild("again", false, "main")
	waitPhase(t, kc, builds, "again", "Succeeded")
	if b := storedBuild("again"); b.Forced || !reused(b) {
		t.Errorf("unforced Build ran as %+v (reused %v), want the earlier result reused", b, reused(b))
	}

	// 3. A running Build deleted: cancelled. A slow commit is made known as if polled, with
	// polling put off, so that only the Builds asked for build it.
	slow := gs.Commit(t, "carol/feed", "main", repoFiles(e2eConfig, map[string]string{"hello": "2.0 sleep 20"}))
	if _, err := e.rt.Store.UpdateRemote(ctx, b1.RepoID, func(r *store.Remote) error {
		r.Refs["refs/heads/main"], r.NextPoll = slow, time.Now().Add(time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	newBuild("doomed", true, "main")
	waitPhase(t, kc, builds, "doomed", "Running")
	doomed := storedBuild("doomed")
	kc.must("", "delete", builds, "doomed", "--wait=true", "--timeout=60s")
	waitFor(t, "the deleted Build's run to be cancelled", func() bool {
		b, err := e.rt.Store.Build(ctx, doomed.ID)
		return err == nil && b.Status == store.StatusCancelled
	})

	// 4. serve restarted mid-build: the Build's status converges.
	newBuild("restarted", true, "main")
	waitPhase(t, kc, builds, "restarted", "Running")
	e.stop()
	e.start()
	waitPhase(t, kc, builds, "restarted", "Succeeded")

	// 5. kubectl get builds prints phase and age.
	out := kc.must("", "get", builds)
	if !strings.Contains(out, "PHASE") || !strings.Contains(out, "AGE") || !strings.Contains(out, "forced") || !strings.Contains(out, "Succeeded") {
		t.Errorf("kubectl get builds:\n%s", out)
	}
	t.Logf("kubectl get builds:\n%s", out)

	// 6. The Repository deleted: unregistered, its Builds gone, the feed kept.
	kc.must("", "delete", repos, "feed", "--wait=true", "--timeout=60s")
	waitFor(t, "the Repository's Builds to go", func() bool {
		out, err := kc.run("", "get", builds, "-o", "name")
		return err == nil && strings.TrimSpace(out) == ""
	})
	if _, err := e.rt.Store.Remote(ctx, b1.RepoID); err == nil {
		t.Error("the repository is still polled after its Repository went")
	}
	if code, _ := e.get(u.Path + "Packages"); code != 200 {
		t.Errorf("the feed went with the Repository: %d", code)
	}

	// 7. A repository without .openwrt-ppa.yml builds what its Repository's spec says (the
	// defaults would be 25.12 on five archs), and its source cannot be changed.
	bare := gs.Commit(t, "carol/bare", "main", testenv.PackageTree(map[string]string{"hello": "1.0"}))
	kc.must(fmt.Sprintf(`apiVersion: %s/v1alpha1
kind: Repository
metadata: {name: bare}
spec:
  source: {git: %q}
  series: ["24.10"]
  archs: [x86_64]
`, group, gs.RepoURL("carol/bare")), "apply", "-f", "-")
	bb := e.waitRepoBuilds("carol", "bare", 1)[0]
	if js := e.jobs(bb.ID); bb.CommitSHA != bare || bb.Status != store.StatusSuccess || len(js) != 1 || js[0].Series != "24.10" || js[0].Arch != "x86_64" {
		t.Fatalf("the spec's matrix built %+v with %d jobs, want one 24.10/x86_64 job", bb, len(e.jobs(bb.ID)))
	}
	out, err = kc.run("", "patch", repos, "bare", "--type=merge", "-p", `{"spec":{"source":{"git":null,"forge":"github","fullName":"carol/bare"}}}`)
	if err == nil || !strings.Contains(out, "spec.source cannot change") {
		t.Fatalf("changing the source: %v\n%s\nwant refused by the API server", err, out)
	}
	kc.must("", "delete", repos, "bare", "--wait=true", "--timeout=60s")
	if _, err := e.rt.Store.Remote(ctx, bb.RepoID); err == nil {
		t.Error("the bare repository is still polled after its Repository went")
	}
	if _, err := e.rt.Store.RepoConfig(ctx, bb.RepoID); err == nil {
		t.Error("the bare repository's configuration stayed after its Repository went")
	}
}

// waitPhase waits up to three minutes for a Build's phase.
func waitPhase(t *testing.T, kc kubectl, kind, name, want string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	var got any
	for time.Now().Before(deadline) {
		obj, ok := kc.object(kind, name)
		if got = field(obj, "status", "phase"); ok && got == want {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	obj, _ := kc.object(kind, name)
	t.Fatalf("Build %s: phase %v, want %s; object %v", name, got, want, obj)
}
