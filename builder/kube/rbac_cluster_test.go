package kube

// The worker's RBAC on a real cluster: the executor runs under a ServiceAccount's own token
// (as a worker pod does), bound to a Role of exactly Permissions, and under Roles that each lack
// one of them.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// underRole returns an executor that authenticates with the token of a new ServiceAccount bound
// to a Role of rules, and nothing else (not the admin's credentials), once the API server's
// authorizer sees the binding: Check then names exactly the denied permissions.
func (e *env) underRole(t *testing.T, name string, rules []rbacv1.PolicyRule, denied []string) *Executor {
	t.Helper()
	ctx := context.Background()
	token := e.k.ServiceAccountToken(t, name, rules)
	cfg := rest.AnonymousClientConfig(e.k.Config)
	cfg.BearerToken = token
	ex, err := New(cfg, Options{
		Namespace: e.k.Namespace, WorkspaceMedium: MediumMemory,
		CPURequest: resource.NewMilliQuantity(50, resource.DecimalSI), MemoryRequest: resource.NewQuantity(64<<20, resource.BinarySI),
		StartTimeout: 45 * time.Second, CollectGrace: time.Minute, Labels: map[string]string{testenv.TestLabel: "1"},
		Logger: e.ex.opts.Logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The authorizer learns of new bindings from a watch: wait until it answers as the Role says.
	want := "<nil>"
	if len(denied) > 0 {
		want = "may not " + strings.Join(denied, ", ") + " in namespace"
	}
	var got error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got = ex.Check(ctx); fmt.Sprint(got) == want || got != nil && strings.Contains(got.Error(), want) {
			return ex
		}
	}
	t.Fatalf("Check under the Role of %s: %v, want %s", name, got, want)
	return nil
}

// tryBuild runs a short build with ex step by step, each under a bound, and says what went
// wrong ("" when nothing did): an error, no live log, no package, or a Job left behind. The
// admin's executor then removes what is left.
func (e *env) tryBuild(t *testing.T, ex *Executor, dir string, jobID string) string {
	t.Helper()
	problem := func() string {
		log := &lines{}
		spec := builder.JobSpec{Job: e.job(t, dir), SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute, WorkspaceSize: 64 << 20},
			Log: log, BuildID: "1", JobID: jobID}
		ctx, cancel := context.WithTimeout(context.Background(), 75*time.Second)
		defer cancel()
		r, err := ex.Start(ctx, spec)
		if err != nil {
			return "start: " + err.Error()
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			_ = r.Close(cctx)
		}()
		wctx, wcancel := context.WithTimeout(ctx, 45*time.Second)
		defer wcancel()
		exit, err := r.Wait(wctx)
		if err != nil {
			return "wait: " + err.Error()
		}
		if exit.Code != 0 {
			return fmt.Sprintf("the build ended with %d", exit.Code)
		}
		col, err := r.Collect(ctx, t.TempDir())
		if err != nil {
			return "collect: " + err.Error()
		}
		if len(col.Packages) != 1 {
			return fmt.Sprintf("collected %v, refused %v", col.Packages, col.Refused)
		}
		if !strings.Contains(log.text(), "package alpha compile") {
			return "no live log"
		}
		cctx, ccancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer ccancel()
		if err := r.Close(cctx); err != nil {
			return "close: " + err.Error()
		}
		// What the janitor calls: the worker's RemoveJobsOf.
		if _, err := ex.RemoveJobsOf(cctx, func(string) bool { return true }); err != nil {
			return "remove jobs: " + err.Error()
		}
		return ""
	}()
	ctx := context.Background()
	jobs, err := e.k.Client.BatchV1().Jobs(e.k.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs.Items {
		if problem == "" {
			problem = "Job " + j.Name + " left behind"
		}
		if err := e.ex.deleteJob(ctx, j.Name); err != nil {
			t.Fatal(err)
		}
	}
	return problem
}

// TestRoleIsEnough: under a ServiceAccount bound to a Role of exactly Permissions (what
// docs/kubernetes.md lists and the chart makes), a build runs whole: Job made, sources in, live
// log, outputs out, Job deleted, and the janitor's RemoveJobsOf.
func TestRoleIsEnough(t *testing.T) {
	e := newEnv(t)
	ex := e.underRole(t, "worker", PolicyRules(), nil)
	dir := repoDir(t, map[string]string{"alpha": ""})
	if problem := e.tryBuild(t, ex, dir, "7"); problem != "" {
		t.Fatalf("under the Role: %s\nexecutor log:\n%s", problem, e.slog.String())
	}
}

// TestRoleIsLeast: each permission of the Role is needed. Under a Role without it, Check names
// it, and the build fails in some way (it may take the step's bound to show).
func TestRoleIsLeast(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: one build per permission takes minutes")
	}
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"alpha": ""})
	i := 0
	for pi, p := range Permissions {
		for vi, verb := range p.Verbs {
			i++
			name := verb + " " + p.name()
			t.Run(strings.ReplaceAll(name, "/", "-"), func(t *testing.T) {
				rules := PolicyRules()
				r := &rules[pi]
				r.Verbs = append(append([]string(nil), r.Verbs[:vi]...), r.Verbs[vi+1:]...)
				if len(r.Verbs) == 0 {
					rules = append(rules[:pi], rules[pi+1:]...)
				}
				ex := e.underRole(t, fmt.Sprintf("least-%d", i), rules, []string{name})
				problem := e.tryBuild(t, ex, dir, fmt.Sprint(100+i))
				if problem == "" {
					t.Errorf("without %s the executor still works: drop it from Permissions", name)
				}
				t.Logf("without %s: %s", name, problem)
			})
		}
	}
}
