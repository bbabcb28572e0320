package kube

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

func fakeExecutor(t *testing.T, opts Options, objs ...runtime.Object) (*Executor, *fake.Clientset) {
	t.Helper()
	cs := fake.NewClientset(objs...)
	e, err := newExecutor(&rest.Config{Host: "https://127.0.0.1:1"}, cs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e, cs
}

func testSpec() builder.JobSpec {
	return builder.JobSpec{
		Job: builder.Job{Repo: "Owner/Repo", Series: "24.10", Arch: "x86_64", Image: "ghcr.io/openwrt/sdk:x86_64-24.10.6",
			Key:   strings.Repeat("ab", 32),
			Units: []builder.Unit{{Dir: "net/a", Name: "a", Packages: []string{"a", "a-extra"}}},
			Feeds: []builder.ExtraFeed{{Name: "extra", URL: "https://example.org/x.git", Ref: "main"}}},
		FeedName: builder.DefaultFeedName, BuildID: "7", JobID: "99",
	}
}

// TestJobSpec: the Job carries the Docker executor's security and the limits of the job.
func TestJobSpec(t *testing.T) {
	e, _ := fakeExecutor(t, Options{Namespace: "builds", CPURequest: resource.NewMilliQuantity(100, resource.DecimalSI), Labels: map[string]string{"worker": "w1"}})
	l := builder.Limits{Timeout: 30 * time.Minute, MemoryBytes: 2 << 30, NanoCPUs: 1500e6, WorkspaceSize: 4 << 30}.WithDefaults()
	j := e.jobFor(testSpec(), l, "owppa-24-10-x86-64-abc")
	s := j.Spec
	if *s.BackoffLimit != 0 || *s.Completions != 1 || *s.Parallelism != 1 {
		t.Errorf("retries/completions: %d %d %d", *s.BackoffLimit, *s.Completions, *s.Parallelism)
	}
	if want := int64((10*time.Minute + 30*time.Minute + 10*time.Minute) / time.Second); *s.ActiveDeadlineSeconds != want {
		t.Errorf("activeDeadlineSeconds %d, want %d (start + timeout + collect)", *s.ActiveDeadlineSeconds, want)
	}
	if *s.TTLSecondsAfterFinished != 600 {
		t.Errorf("ttlSecondsAfterFinished %d", *s.TTLSecondsAfterFinished)
	}
	p := s.Template.Spec
	if *p.AutomountServiceAccountToken || *p.EnableServiceLinks || p.RestartPolicy != corev1.RestartPolicyNever || p.HostNetwork || p.HostPID || p.HostIPC {
		t.Errorf("pod: token %v, service links %v, restart %s, host namespaces %v %v %v", *p.AutomountServiceAccountToken, *p.EnableServiceLinks, p.RestartPolicy, p.HostNetwork, p.HostPID, p.HostIPC)
	}
	if sc := p.SecurityContext; *sc.RunAsUser != 1000 || !*sc.RunAsNonRoot || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v", sc)
	}
	all := append(append([]corev1.Container(nil), p.InitContainers...), p.Containers...)
	if len(all) != 4 {
		t.Fatalf("%d containers, want nonet, workspace, build, io", len(all))
	}
	for _, c := range all {
		sc := c.SecurityContext
		if *sc.RunAsUser != 1000 || !*sc.RunAsNonRoot || *sc.AllowPrivilegeEscalation || *sc.Privileged || !*sc.ReadOnlyRootFilesystem ||
			len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: security context %+v", c.Name, sc)
		}
		if c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s has no CPU or memory limit", c.Name)
		}
		if len(c.EnvFrom) > 0 {
			t.Errorf("%s takes its environment from %v", c.Name, c.EnvFrom)
		}
		for _, v := range c.Env {
			if v.ValueFrom != nil {
				t.Errorf("%s: %s comes from %v", c.Name, v.Name, v.ValueFrom)
			}
		}
		if c.Image != testSpec().Job.Image {
			t.Errorf("%s runs %s", c.Name, c.Image)
		}
	}
	build := p.Containers[0]
	if build.Name != ctrBuild || build.Resources.Limits.Cpu().MilliValue() != 1500 || build.Resources.Limits.Memory().Value() != 2<<30 ||
		build.Resources.Requests.Cpu().MilliValue() != 100 || build.Resources.Requests.Memory().Value() != 2<<30 {
		t.Errorf("build resources %+v", build.Resources)
	}
	env := map[string]string{}
	for _, v := range build.Env {
		env[v.Name] = v.Value
	}
	if env["OPENWRT_PPA_UNITS"] != "a:a,a-extra" || env["OPENWRT_PPA_SRC"] != srcDir || env["OPENWRT_PPA_EXTRA_FEEDS"] != "src-git extra https://example.org/x.git;main" ||
		env["OPENWRT_PPA_JOBS"] != "2" || env["OPENWRT_PPA_TIMEOUT"] != "1805" {
		t.Errorf("driver environment %v", env)
	}
	if v, ok := env["KUBERNETES_SERVICE_HOST"]; !ok || v != "" {
		t.Errorf("the API server's address is not blanked: %q %v", v, ok)
	}
	for _, v := range p.Volumes {
		if v.EmptyDir == nil {
			t.Errorf("volume %s is not an emptyDir: %+v", v.Name, v.VolumeSource)
			continue
		}
		if v.EmptyDir.SizeLimit == nil || v.EmptyDir.SizeLimit.IsZero() {
			t.Errorf("volume %s has no sizeLimit", v.Name)
		}
		if v.Name == "workspace" && v.EmptyDir.SizeLimit.Value() != 4<<30 {
			t.Errorf("workspace sizeLimit %s", v.EmptyDir.SizeLimit)
		}
	}
	nonetRO := false
	for _, m := range build.VolumeMounts {
		if m.Name == "in" && !m.ReadOnly {
			t.Error("the build can write its sources")
		}
		if m.Name == "nonet" {
			nonetRO = m.ReadOnly && m.MountPath == nonetDir
		}
	}
	if !nonetRO {
		t.Errorf("the build does not see nonet read-only at %s: %+v", nonetDir, build.VolumeMounts)
	}
	// Two phases: the driver's download with the network, then check and compile under nonet.
	if env["OPENWRT_PPA_PHASE"] != "fetch" || len(build.Command) != 6 || build.Command[2] != buildWrapper ||
		build.Command[4] != builder.DriverScript() || build.Command[5] != compileWrapper {
		t.Errorf("build command %q, phase %q: want buildWrapper, the driver, compileWrapper", build.Command, env["OPENWRT_PPA_PHASE"])
	}
	if !strings.Contains(buildWrapper, "exec "+nonetPath+" ") || !strings.Contains(compileWrapper, "OPENWRT_PPA_PHASE=build") ||
		!strings.Contains(compileWrapper, "exit "+strconv.Itoa(exitNoFilter)) || !strings.Contains(buildWrapper, "exit "+strconv.Itoa(exitNotPID1)) {
		t.Error("the wrappers do not exec nonet before the compile phase, or their statuses are not the constants'")
	}
	// The kubelet expands $(VAR) of the container's variables and makes $$ a $ in commands.
	for _, c := range all {
		for _, arg := range c.Command {
			if strings.Contains(arg, "$$") {
				t.Errorf("%s: a $$ in its command, which the kubelet makes a $", c.Name)
			}
			for _, v := range c.Env {
				if strings.Contains(arg, "$("+v.Name+")") {
					t.Errorf("%s: $(%s) in its command, which the kubelet replaces", c.Name, v.Name)
				}
			}
		}
	}
	nonet := containerNamed(t, p.InitContainers, ctrNonet)
	if nonet.Command[2] != nonetWrite(nonetPath) || len(nonet.VolumeMounts) != 1 || nonet.VolumeMounts[0].Name != "nonet" || nonet.VolumeMounts[0].ReadOnly {
		t.Errorf("the nonet init container %q does not write nonet into its volume (%+v)", nonet.Command, nonet.VolumeMounts)
	}
	for k, v := range map[string]string{LabelRepository: "Owner_Repo", LabelBuild: "7", LabelJob: "99", LabelJobKey: strings.Repeat("ab", 16),
		LabelManaged: ManagedBy, LabelComponent: "build", "worker": "w1", LabelArch: "x86_64"} {
		if j.Labels[k] != v || s.Template.Labels[k] != v {
			t.Errorf("label %s: %q on the Job, %q on the pod; want %q", k, j.Labels[k], s.Template.Labels[k], v)
		}
	}
	for k, v := range j.Labels {
		if !validLabelKey(k) || !validLabelValue(v) {
			t.Errorf("invalid label %s=%s", k, v)
		}
	}
	if j.Annotations[annRepository] != "Owner/Repo" || j.Annotations[annJobKey] != strings.Repeat("ab", 32) {
		t.Errorf("annotations %v", j.Annotations)
	}
}

func containerNamed(t *testing.T, cs []corev1.Container, name string) corev1.Container {
	t.Helper()
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %s", name)
	return corev1.Container{}
}

func TestLabelValue(t *testing.T) {
	cases := map[string]string{
		"owner/repo":                      "owner_repo",
		"https://github.com/o/r.git":      "https___github.com_o_r.git",
		"-._x_.-":                         "x",
		"":                                "",
		"///":                             "",
		strings.Repeat("a", 70):           strings.Repeat("a", 63),
		strings.Repeat("a", 62) + "/b":    strings.Repeat("a", 62),
		"ünïcode":                         "n__code", // one _ per byte
		"24.10":                           "24.10",
		"group/sub group/repo with space": "group_sub_group_repo_with_space",
	}
	for in, want := range cases {
		if got := labelValue(in); got != want {
			t.Errorf("labelValue(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzLabelValue: whatever a repository is called, its label value is valid.
func FuzzLabelValue(f *testing.F) {
	for _, s := range []string{"owner/repo", "https://gitlab.com/a/b/c.git", "-x-", "ü", strings.Repeat("/a", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v := labelValue(s); !validLabelValue(v) {
			t.Errorf("labelValue(%q) = %q is not a valid label value", s, v)
		}
	})
}

func TestNewRefusesBadOptions(t *testing.T) {
	cases := map[string]Options{
		"namespace":   {Namespace: "Not_A_Namespace"},
		"work dir":    {WorkDir: "builder/../etc"},
		"medium":      {WorkspaceMedium: "HugePages"},
		"pull policy": {ImagePullPolicy: "Sometimes"},
		"label":       {Labels: map[string]string{"a b": "c"}},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := newExecutor(&rest.Config{}, fake.NewClientset(), opts); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// TestStartRefusesBadInput: nothing reaches the cluster for a spec that fails validation.
func TestStartRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]func(s *builder.JobSpec){
		"unit name":    func(s *builder.JobSpec) { s.Job.Units = []builder.Unit{{Name: "x;rm -rf /", Packages: []string{"a"}}} },
		"package name": func(s *builder.JobSpec) { s.Job.Units = []builder.Unit{{Name: "a", Packages: []string{"A B"}}} },
		"feed name":    func(s *builder.JobSpec) { s.FeedName = "feed\nsrc-git x y" },
		"extra feed":   func(s *builder.JobSpec) { s.Job.Feeds = []builder.ExtraFeed{{Name: "x", URL: "https://a b"}} },
		"cache scope":  func(s *builder.JobSpec) { s.CacheScope = "../x" },
		"job id":       func(s *builder.JobSpec) { s.JobID = "42/../../x" },
		"no image":     func(s *builder.JobSpec) { s.Job.Image = "" },
		"no source":    func(s *builder.JobSpec) { s.SourceDir = filepath.Join(dir, "missing") },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			e, cs := fakeExecutor(t, Options{Namespace: "builds"})
			spec := testSpec()
			spec.SourceDir = dir
			mutate(&spec)
			if _, err := e.Start(context.Background(), spec); err == nil {
				t.Fatal("Start accepted it")
			}
			if n := len(cs.Actions()); n != 0 {
				t.Errorf("%d calls reached the cluster: %v", n, cs.Actions())
			}
		})
	}
}

func job(name string, labels map[string]string, ann map[string]string) *batchv1.Job {
	return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "builds", Labels: labels, Annotations: ann, UID: types.UID("uid-" + name)}}
}

// TestRemoveJobs: only Jobs this executor made (its labels and ours), chosen by the filter.
func TestRemoveJobs(t *testing.T) {
	mine := map[string]string{LabelManaged: ManagedBy, "worker": "w1"}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range m {
			out[a] = b
		}
		return out
	}
	e, cs := fakeExecutor(t, Options{Namespace: "builds", Labels: map[string]string{"worker": "w1"}},
		job("gone", with(mine, LabelJob, "1"), nil),
		job("alive", with(mine, LabelJob, "2"), nil),
		job("other-worker", map[string]string{LabelManaged: ManagedBy, "worker": "w2", LabelJob: "1"}, nil),
		job("not-ours", map[string]string{"worker": "w1", LabelJob: "1"}, nil),
	)
	ctx := context.Background()
	n, err := e.RemoveJobs(ctx, LabelJob, func(l map[string]string) bool { return l[LabelJob] == "1" })
	if err != nil || n != 1 {
		t.Fatalf("removed %d, %v; want 1", n, err)
	}
	names := jobNames(ctx, cs, "builds")
	if strings.Join(names, ",") != "alive,not-ours,other-worker" {
		t.Errorf("left %v", names)
	}
	if _, err := e.RemoveJobs(ctx, "", func(map[string]string) bool { return true }); err == nil {
		t.Error("an empty label key was accepted")
	}
}

// TestRemoveJobsOf: the Jobs of the job ids the filter names, none without a job id.
func TestRemoveJobsOf(t *testing.T) {
	mine := map[string]string{LabelManaged: ManagedBy}
	e, cs := fakeExecutor(t, Options{Namespace: "builds"},
		job("ended", map[string]string{LabelManaged: ManagedBy, LabelJob: "5"}, nil),
		job("running", map[string]string{LabelManaged: ManagedBy, LabelJob: "6"}, nil),
		job("cli", mine, nil),
	)
	ctx := context.Background()
	var asked []string
	n, err := e.RemoveJobsOf(ctx, func(id string) bool { asked = append(asked, id); return id != "6" })
	if err != nil || n != 1 {
		t.Fatalf("removed %d, %v; want 1", n, err)
	}
	names := jobNames(ctx, cs, "builds")
	if strings.Join(names, ",") != "cli,running" || len(asked) != 2 {
		t.Errorf("left %v, asked about %v", names, asked)
	}
}

// jobNames are the names of the Jobs in ns.
func jobNames(ctx context.Context, cs *fake.Clientset, ns string) []string {
	left, _ := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	var names []string
	for _, j := range left.Items {
		names = append(names, j.Name)
	}
	return names
}

// TestNamespace: the kubeconfig context's namespace, "default" when it names none.
func TestNamespace(t *testing.T) {
	for _, tc := range []struct{ ctxNS, want string }{{"builds", "builds"}, {"", "default"}} {
		path := filepath.Join(t.TempDir(), "kubeconfig")
		cfg := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\n" +
			"users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u, namespace: \"" + tc.ctxNS + "\"}}]\ncurrent-context: x\n"
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		if ns, err := Namespace(path); err != nil || ns != tc.want {
			t.Errorf("context namespace %q: got %q, %v; want %q", tc.ctxNS, ns, err, tc.want)
		}
	}
	if _, err := Namespace(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing kubeconfig gave a namespace")
	}
}

// TestAdoptRemovesWhatCannotBeFollowed: a Job of the job whose repository never fully arrived,
// or whose pod is gone, is deleted and the job starts afresh.
func TestAdoptRemovesWhatCannotBeFollowed(t *testing.T) {
	l := map[string]string{LabelManaged: ManagedBy, LabelJob: "99"}
	e, cs := fakeExecutor(t, Options{Namespace: "builds"},
		job("half-sent", l, nil),
		job("no-pod", l, map[string]string{annSources: "in"}),
		job("other-job", map[string]string{LabelManaged: ManagedBy, LabelJob: "98"}, map[string]string{annSources: "in"}),
	)
	ctx := context.Background()
	r, err := e.adopt(ctx, testSpec(), builder.DefaultLimits())
	if err != nil || r != nil {
		t.Fatalf("adopt: %v %v, want nothing adopted", r, err)
	}
	left, _ := cs.BatchV1().Jobs("builds").List(ctx, metav1.ListOptions{})
	if len(left.Items) != 1 || left.Items[0].Name != "other-job" {
		t.Errorf("left %v, want only the other job's", left.Items)
	}
}

func TestCopyLinesDropsWhatWasSeen(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 100, time.UTC)
	ts := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339Nano) }
	in := ts(0) + " one\n" + ts(time.Millisecond) + " two\n" + ts(2*time.Millisecond) + " three\n" + ts(3*time.Millisecond) + " four"
	var out bytes.Buffer
	last := copyLines(strings.NewReader(in), &out, t0.Add(time.Millisecond))
	if out.String() != "three\nfour" || !last.Equal(t0.Add(3*time.Millisecond)) {
		t.Errorf("got %q, last %s", out.String(), last)
	}
	out.Reset()
	long := strings.Repeat("x", 200<<10)
	copyLines(strings.NewReader(ts(0)+" "+long+"\n"+ts(time.Second)+" after\n"), &out, time.Time{})
	if out.String() != long+"\nafter\n" {
		t.Errorf("a long line came out as %d bytes", out.Len())
	}
}

func TestWriteTree(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "net", "a"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "net", "a", "Makefile"), []byte("all:\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "net", "link")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeTree(&buf, dir, 1<<20, nil); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(rune(h.Typeflag)) + " " + h.Linkname + string(b)
		if h.Mode&0o444 != 0o444 {
			t.Errorf("%s mode %o: the build user cannot read it", h.Name, h.Mode)
		}
	}
	want := map[string]string{"net/": "5 ", "net/a/": "5 ", "net/a/Makefile": "0 all:\n", "net/link": "2 /etc/passwd"}
	if len(got) != len(want) {
		t.Errorf("entries %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if err := writeTree(io.Discard, dir, 2, nil); err == nil || !strings.Contains(err.Error(), "more than 2 bytes") {
		t.Errorf("a tree over the cap: %v", err)
	}
}

// TestCheckNamesWhatIsMissing: Check asks for every permission in the namespace and names each
// one the API server denies.
func TestCheckNamesWhatIsMissing(t *testing.T) {
	e, cs := fakeExecutor(t, Options{Namespace: "builds"})
	var asked []string
	deny := map[string]bool{}
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authv1.SelfSubjectAccessReview)
		ra := r.Spec.ResourceAttributes
		name := ra.Verb + " " + ra.Group + "/" + ra.Resource + "/" + ra.Subresource
		if ra.Namespace != "builds" {
			t.Errorf("%s asked in namespace %q", name, ra.Namespace)
		}
		asked = append(asked, name)
		r.Status.Allowed = !deny[name]
		return true, r, nil
	})
	ctx := context.Background()
	if err := e.Check(ctx); err != nil {
		t.Fatalf("all allowed: %v", err)
	}
	want := "create batch/jobs/,get batch/jobs/,list batch/jobs/,patch batch/jobs/,delete batch/jobs/,get /pods/,list /pods/,get /pods/log,create /pods/exec,get /pods/exec"
	if strings.Join(asked, ",") != want {
		t.Errorf("asked %v\nwant  %v", asked, want)
	}
	deny["patch batch/jobs/"], deny["create /pods/exec"] = true, true
	err := e.Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "may not patch jobs, create pods/exec in namespace builds") || !errors.Is(err, builder.ErrExecutor) {
		t.Fatalf("two denied: %v", err)
	}
	if n := len(PolicyRules()); n != len(Permissions) {
		t.Errorf("%d rules for %d permissions", n, len(Permissions))
	}
}

func TestPodStartedSaysWhichInitFailed(t *testing.T) {
	for name, want := range map[string]string{ctrNonet: "writing nonet", ctrInit: "copying the SDK"} {
		p := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{{
			Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}}}
		if ready, why, fatal := podStarted(p); ready || !fatal || !strings.Contains(why, want) {
			t.Errorf("%s failed: ready %v fatal %v %q; want fatal, saying %q", name, ready, fatal, why, want)
		}
	}
}

// TestJobSpecPullPolicy: a snapshot tag is re-pushed upstream, so its pods make the kubelet
// check the digest (Always); a release tag, and an explicit Never, keep the configured policy.
func TestJobSpecPullPolicy(t *testing.T) {
	for name, tc := range map[string]struct {
		series, image, policy string
		want                  corev1.PullPolicy
	}{
		"release keeps IfNotPresent":   {"24.10", "ghcr.io/openwrt/sdk:x86_64-24.10.6", "", corev1.PullIfNotPresent},
		"v release keeps IfNotPresent": {"24.10", "ghcr.io/openwrt/sdk:x86_64-v24.10.6", "IfNotPresent", corev1.PullIfNotPresent},
		"snapshot is Always":           {"snapshot", "ghcr.io/openwrt/sdk:x86_64", "", corev1.PullAlways},
		"snapshot -SNAPSHOT is Always": {"snapshot", "mirror.local/sdk:x86_64-SNAPSHOT", "IfNotPresent", corev1.PullAlways},
		"snapshot keeps Never":         {"snapshot", "ghcr.io/openwrt/sdk:x86_64", "Never", corev1.PullNever},
	} {
		t.Run(name, func(t *testing.T) {
			e, _ := fakeExecutor(t, Options{Namespace: "builds", ImagePullPolicy: tc.policy})
			spec := testSpec()
			spec.Job.Series, spec.Job.Image = tc.series, tc.image
			p := e.jobFor(spec, builder.Limits{}.WithDefaults(), "owppa-x").Spec.Template.Spec
			for _, c := range append(append([]corev1.Container(nil), p.InitContainers...), p.Containers...) {
				if c.ImagePullPolicy != tc.want {
					t.Errorf("%s: imagePullPolicy %s, want %s", c.Name, c.ImagePullPolicy, tc.want)
				}
			}
		})
	}
}
