package kube

// Tests on a real cluster (OPENWRT_PPA_TEST_KUBECONFIG; .ci/run brings one up with
// ../shared/k8s/single-node.sh), with the SDK stand-in imported into the node's containerd.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/buildertest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

type env struct {
	k     *testenv.Kube
	ex    *Executor
	image string
	slog  *testenv.SyncBuffer
}

// newEnv is an executor into a namespace of the test's own. The workspace is a tmpfs: a hostile
// build filling a disk-backed one would fill the node's disk before the kubelet evicts it.
func newEnv(t *testing.T, mutate ...func(*Options)) *env {
	t.Helper()
	k := testenv.NeedKube(t)
	e := &env{k: k, image: testenv.KubeStandinImage(t), slog: &testenv.SyncBuffer{}}
	opts := Options{
		Namespace: k.Namespace, WorkspaceMedium: MediumMemory,
		CPURequest: resource.NewMilliQuantity(50, resource.DecimalSI), MemoryRequest: resource.NewQuantity(64<<20, resource.BinarySI),
		StartTimeout: 2 * time.Minute, CollectGrace: time.Minute, Labels: map[string]string{testenv.TestLabel: "1"},
		Logger: slog.New(slog.NewTextHandler(e.slog, nil)),
	}
	for _, m := range mutate {
		m(&opts)
	}
	ex, err := New(k.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.ex = ex
	t.Cleanup(func() { e.noneLeft(t) })
	return e
}

// noneLeft fails the test when a Job or pod of the namespace is still there.
func (e *env) noneLeft(t testing.TB) {
	ctx := context.Background()
	jobs, err := e.k.Client.BatchV1().Jobs(e.k.Namespace).List(ctx, metav1.ListOptions{})
	if err == nil && len(jobs.Items) > 0 {
		t.Errorf("%d build Jobs left behind", len(jobs.Items))
	}
	pods, err := e.k.Client.CoreV1().Pods(e.k.Namespace).List(ctx, metav1.ListOptions{})
	if err == nil && len(pods.Items) > 0 {
		t.Errorf("%d build pods left behind", len(pods.Items))
	}
}

func repoDir(t testing.TB, pkgs map[string]string) string { return buildertest.RepoDir(t, pkgs) }

// job plans the repository in dir for 24.10/x86_64 in the stand-in image.
func (e *env) job(t testing.TB, dir string) builder.Job {
	t.Helper()
	return buildertest.StandinJob(t, dir, e.image, "24.10")
}

// lines is a sink that notes when each line came.
type lines struct {
	mu sync.Mutex
	l  []string
	at []time.Time
	n  int64
}

func (s *lines) Line(l string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.l = append(s.l, l)
	s.at = append(s.at, time.Now())
	s.n += int64(len(l)) + 1
}

func (s *lines) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.l, "\n")
}

// when is the time the first line containing sub came (zero if none did).
func (s *lines) when(sub string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, l := range s.l {
		if strings.Contains(l, sub) {
			return s.at[i]
		}
	}
	return time.Time{}
}

func (e *env) exec(t *testing.T, spec builder.JobSpec) (builder.Result, *lines, string) {
	t.Helper()
	log := &lines{}
	spec.Log = log
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	res, err := builder.Execute(ctx, e.ex, spec, out)
	if err != nil {
		t.Fatalf("execute: %v\nlog:\n%s\nexecutor:\n%s", err, log.text(), e.slog.String())
	}
	return res, log, out
}

func byName(res builder.Result) map[string]builder.PackageResult {
	m := map[string]builder.PackageResult{}
	for _, p := range res.Packages {
		m[p.Name] = p
	}
	return m
}

// TestStandinBuildAsJob: the stand-in build runs as a Job in a namespace enforcing the
// "restricted" Pod Security Standard; packages come out, the log streams while it runs, and the
// build ran as uid 1000 with no capabilities, no service-account token and no service variables.
func TestStandinBuildAsJob(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A Service in the namespace, whose address enableServiceLinks would put into the build.
	_, err := e.k.Client.CoreV1().Services(e.k.Namespace).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "spy"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}, Selector: map[string]string{"x": "y"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := repoDir(t, map[string]string{"alpha": "", "broken": "fail", "zz-slow": "sleep 6"})
	job := e.job(t, dir)
	log := &lines{}
	out := t.TempDir()
	spec := builder.JobSpec{Job: job, SourceDir: dir, Limits: builder.Limits{Timeout: 2 * time.Minute, WorkspaceSize: 64 << 20, MemoryBytes: 512 << 20, NanoCPUs: 1e9},
		Log: log, BuildID: "17", JobID: "42"}
	started, err := e.ex.Start(ctx, spec)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, e.slog.String())
	}
	r := started.(*run)
	defer r.Close(ctx)

	// What the build itself sees, asked inside its container while it runs.
	for log.when("package zz-slow compile").IsZero() {
		time.Sleep(100 * time.Millisecond)
	}
	var probe strings.Builder
	err = e.ex.exec(ctx, r.pod, ctrBuild, []string{"/bin/sh", "-c",
		`grep -E "^(Uid|Gid|CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/1/status; grep -H Seccomp_filters: /proc/self/status /proc/1/status; ls -a /var/run/secrets/kubernetes.io/serviceaccount 2>&1; tr '\0' '\n' < /proc/1/environ`},
		nil, &probe, &probe)
	if err != nil {
		t.Fatalf("probing the build container: %v\n%s", err, probe.String())
	}
	seen := probe.String()
	for _, want := range []string{"Uid:\t1000\t1000\t1000\t1000", "Gid:\t1000\t1000\t1000\t1000", "CapEff:\t0000000000000000",
		"CapBnd:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2", "No such file or directory", "OPENWRT_PPA_UNITS="} {
		if !strings.Contains(seen, want) {
			t.Errorf("the build container lacks %q:\n%s", want, seen)
		}
	}
	// PID 1 runs the compile under nonet: one filter more than the runtime's, which this
	// probe (exec'd by the runtime, outside nonet) has.
	filters := map[string]int{}
	for _, l := range strings.Split(seen, "\n") {
		if f, n, ok := strings.Cut(l, ":Seccomp_filters:"); ok {
			filters[f] = atoiOr(strings.TrimSpace(n), -1)
		}
	}
	if self, pid1 := filters["/proc/self/status"], filters["/proc/1/status"]; self < 1 || pid1 != self+1 {
		t.Errorf("seccomp filters: %d on PID 1, %d on a process outside nonet; want one more on PID 1:\n%s", pid1, self, seen)
	}
	for _, bad := range []string{"SPY_SERVICE", "SPY_PORT", "KUBERNETES_SERVICE_HOST=1", "token"} {
		if strings.Contains(seen, bad) {
			t.Errorf("the build container has %q:\n%s", bad, seen)
		}
	}
	// The Job and pod name the repository, build and job.
	j, err := e.k.Client.BatchV1().Jobs(e.k.Namespace).Get(ctx, r.job, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{LabelRepository: "test_repo", LabelBuild: "17", LabelJob: "42", LabelSeries: "24.10", LabelArch: "x86_64"} {
		if j.Labels[k] != v || j.Spec.Template.Labels[k] != v {
			t.Errorf("label %s = %q on the Job, %q on the pod, want %q", k, j.Labels[k], j.Spec.Template.Labels[k], v)
		}
	}

	exit, err := r.Wait(ctx)
	ended := time.Now()
	if err != nil || exit.Code != 0 || exit.TimedOut || exit.Canceled {
		t.Fatalf("wait: %+v %v\n%s", exit, err, log.text())
	}
	// The log streamed: the compile of zz-slow was seen seconds before the build ended.
	if early := ended.Sub(log.when("package zz-slow compile")); early < 4*time.Second {
		t.Errorf("the log came only %s before the end of a build that slept 6 s in compile", early)
	}
	col, err := r.Collect(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"packages/alpha_1.0-r1_x86_64.ipk": true, "packages/zz-slow_1.0-r1_x86_64.ipk": true}
	if len(col.Packages) != 2 || !want[col.Packages[0]] || !want[col.Packages[1]] || len(col.Refused) != 0 {
		t.Errorf("collected %v, refused %v; want alpha and zz-slow", col.Packages, col.Refused)
	}
	if _, ok := col.Logs["broken/compile"]; !ok || col.Results == "" {
		t.Errorf("the logs and results were not collected: %v %q", col.Logs, col.Results)
	}
	if !strings.HasSuffix(log.text(), driverDone) {
		t.Errorf("the log does not end with the driver's last line:\n%s", log.text())
	}
}

// TestThroughExecute: a whole job through builder.Execute, failures reported per package.
func TestThroughExecute(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"alpha": "", "broken": "fail", "mipsonly": "only-arch mips_24kc"})
	res, log, out := e.exec(t, builder.JobSpec{Job: e.job(t, dir), SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute, WorkspaceSize: 64 << 20}})
	got := byName(res)
	if res.Status != builder.JobFailed || got["alpha"].Status != builder.PackageBuilt || got["alpha"].Files[0] != filepath.Join(out, "packages", "alpha_1.0-r1_x86_64.ipk") {
		t.Fatalf("%s (%s): %+v\n%s", res.Status, res.Message, res.Packages, log.text())
	}
	if b := got["broken"]; b.Status != builder.PackageFailed || b.Step != "compile" || !strings.Contains(strings.Join(b.Log, "\n"), "fails on purpose") {
		t.Errorf("broken: %+v", b)
	}
	if m := got["mipsonly"]; m.Status != builder.PackageSkipped {
		t.Errorf("mipsonly: %+v", m)
	}
}

func TestTimeoutKillsTheBuild(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"sleepy": "hang"})
	start := time.Now()
	res, log, _ := e.exec(t, builder.JobSpec{Job: e.job(t, dir), SourceDir: dir, Limits: builder.Limits{Timeout: 8 * time.Second, WorkspaceSize: 64 << 20}})
	if res.Status != builder.JobTimedOut || !res.Exit.TimedOut {
		t.Fatalf("status %s (%s), want timed out\n%s", res.Status, res.Message, log.text())
	}
	if took := time.Since(start); took > 90*time.Second {
		t.Errorf("the job took %s with an 8 s limit", took)
	}
	p := byName(res)["sleepy"]
	if p.Status != builder.PackageFailed || p.Step != "compile" || !strings.Contains(p.Reason, "time limit") ||
		!strings.Contains(strings.Join(p.Log, "\n"), "hanging (STANDIN: hang)") {
		t.Errorf("sleepy: %+v, want failed at compile by the time limit with its log", p)
	}
	if !strings.Contains(log.text(), "::openwrt-ppa:: killed at the time limit") {
		t.Errorf("the log does not say the build was killed:\n%s", log.text())
	}
}

// TestPodKeepsItsOwnTimeLimit: with nobody to signal it (a worker that died), the build stops at
// its limit by itself; the run that follows it reports the time limit.
func TestPodKeepsItsOwnTimeLimit(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"sleepy": "hang"})
	ctx := context.Background()
	started, err := e.ex.Start(ctx, builder.JobSpec{Job: e.job(t, dir), SourceDir: dir, Limits: builder.Limits{Timeout: 6 * time.Second, WorkspaceSize: 64 << 20}, Log: &lines{}})
	if err != nil {
		t.Fatal(err)
	}
	r := started.(*run)
	defer r.Close(ctx)
	r.deadline.Stop() // the executor's timer is the first line; the pod's is the second
	exit, err := r.Wait(ctx)
	if err != nil || exit.Code != exitTimeLimit || !exit.TimedOut {
		t.Fatalf("exit %+v %v, want the pod's own time limit", exit, err)
	}
}

func TestCancelStopsAndRemoves(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"sleepy": "hang"})
	ctx, cancel := context.WithCancel(context.Background())
	log := &lines{}
	go func() {
		for log.when("hanging (STANDIN: hang)").IsZero() {
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
	}()
	res, err := builder.Execute(ctx, e.ex, builder.JobSpec{Job: e.job(t, dir), SourceDir: dir, Limits: builder.Limits{Timeout: 2 * time.Minute, WorkspaceSize: 64 << 20}, Log: log}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	buildertest.CheckCanceledInCompile(t, res, "sleepy")
	// noneLeft (at cleanup) fails the test if the Job or its pod is still there.
}

func TestHostileOutputsAndLogFlood(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"linky": "symlink", "noisy": "flood", "fat": "bigfile"})
	const logCap = 256 << 10
	res, log, out := e.exec(t, builder.JobSpec{Job: e.job(t, dir), SourceDir: dir,
		Limits: builder.Limits{Timeout: 2 * time.Minute, LogBytes: logCap, FileBytes: 8 << 20, WorkspaceSize: 128 << 20, MemoryBytes: 1 << 30}})
	if res.Status != builder.JobSucceeded {
		t.Fatalf("status %s (%s)\nrefused %v\n%s", res.Status, res.Message, res.Refused, log.text())
	}
	if text := log.text(); strings.Contains(text, strings.TrimSpace(catchUpNote)) {
		t.Log("the followed log broke off (the node rotated it); its end was read again")
	}
	buildertest.CheckHostileOutputs(t, res, out, logCap, log.n, log.text(), driverDone)
}

// TestDiskFillStoppedBySizeLimit: the workspace is an emptyDir of the job's WorkspaceSize; a
// build that fills it gets "No space left on device" and the others build.
func TestDiskFillStoppedBySizeLimit(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"filler": "diskfill", "a-fine": ""})
	res, log, _ := e.exec(t, builder.JobSpec{Job: e.job(t, dir), SourceDir: dir, Limits: builder.Limits{Timeout: 2 * time.Minute, WorkspaceSize: 24 << 20}})
	got := byName(res)
	if f := got["filler"]; f.Status != builder.PackageFailed || !strings.Contains(strings.Join(f.Log, "\n"), "No space left on device") {
		t.Errorf("filler: %+v, want stopped by the full workspace\n%s", f, log.text())
	}
	if f := got["a-fine"]; f.Status != builder.PackageBuilt {
		t.Errorf("a-fine: %+v\n%s", f, log.text())
	}
}

// Environment of the worker process TestKilledWorkerJobIsAdopted starts and kills.
const (
	helperEnv = "OPENWRT_PPA_KUBE_TEST_WORKER"
	helperNS  = "OPENWRT_PPA_KUBE_TEST_NAMESPACE"
	helperDir = "OPENWRT_PPA_KUBE_TEST_SRC"
)

// TestHelperWorker is the worker process of TestKilledWorkerJobIsAdopted, not a test: it starts
// the job it is given, says so, and waits to be killed.
func TestHelperWorker(t *testing.T) {
	raw := os.Getenv(helperEnv)
	if raw == "" {
		t.Skip("only run by TestKilledWorkerJobIsAdopted")
	}
	var spec builder.JobSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatal(err)
	}
	cfg, err := Config(os.Getenv(testenv.KubeconfigEnv))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := New(cfg, Options{Namespace: os.Getenv(helperNS), WorkspaceMedium: MediumMemory,
		CPURequest: resource.NewMilliQuantity(50, resource.DecimalSI), MemoryRequest: resource.NewQuantity(64<<20, resource.BinarySI),
		Labels: map[string]string{testenv.TestLabel: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	spec.SourceDir = os.Getenv(helperDir)
	spec.Log = builder.LogFunc(func(l string) { fmt.Println("LOG", l) })
	run, err := ex.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("STARTED", run.ID())
	select {}
}

// TestKilledWorkerJobIsAdopted: a worker process is killed (SIGKILL) while its build runs. The
// next executor given the same job adopts the Job: the build is not started again, its packages
// come out once, and nothing is left. A Job whose job nobody takes up is removed by RemoveJobs.
func TestKilledWorkerJobIsAdopted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := repoDir(t, map[string]string{"steady": "sleep 8", "alpha": ""})
	spec := builder.JobSpec{Job: e.job(t, dir), Limits: builder.Limits{Timeout: 2 * time.Minute, WorkspaceSize: 64 << 20}, JobID: "4711", BuildID: "9"}

	killedWorker := func(spec builder.JobSpec) string {
		raw, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWorker$", "-test.v")
		cmd.Env = append(os.Environ(), helperEnv+"="+string(raw), helperNS+"="+e.k.Namespace, helperDir+"="+dir)
		out := &testenv.SyncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(3 * time.Minute)
		for !strings.Contains(out.String(), "LOG ::openwrt-ppa:: package steady compile") {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("the worker did not start the build:\n%s", out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		job, _, _ := strings.Cut(strings.SplitN(out.String(), "STARTED ", 2)[1], "\n")
		return strings.TrimSpace(job)
	}

	left := killedWorker(spec)
	log := &lines{}
	spec.SourceDir, spec.Log = dir, log
	out := t.TempDir()
	res, err := builder.Execute(ctx, e.ex, spec, out)
	if err != nil {
		t.Fatalf("%v\n%s", err, e.slog.String())
	}
	if !strings.Contains(e.slog.String(), "adopted a build Job left by another worker") || !strings.Contains(e.slog.String(), "kube_job="+left) {
		t.Errorf("the Job %s was not adopted:\n%s", left, e.slog.String())
	}
	if strings.Contains(e.slog.String(), "build started") {
		t.Errorf("a second Job was started:\n%s", e.slog.String())
	}
	if res.Status != builder.JobSucceeded || len(res.Files) != 2 {
		t.Fatalf("%s (%s) %v\n%s", res.Status, res.Message, res.Files, log.text())
	}
	// The adopted run streams the whole log again, in which the build ran once.
	if n := strings.Count(log.text(), "::openwrt-ppa:: package steady compile"); n != 1 {
		t.Errorf("steady compiled %d times:\n%s", n, log.text())
	}

	// Another dead worker's Job, for a job the service gave up: RemoveJobs takes it away.
	spec.JobID = "4712"
	spec.Log = nil
	orphan := killedWorker(spec)
	n, err := e.ex.RemoveJobs(ctx, LabelJob, func(l map[string]string) bool { return l[LabelJob] == "4712" })
	if err != nil || n != 1 {
		t.Fatalf("removed %d, %v; want the orphan %s", n, err, orphan)
	}
	// noneLeft (at cleanup) checks that no Job or pod stayed.
}
